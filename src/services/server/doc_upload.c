/*
 * doc_upload.c - POST /v1/documents: a multipart/form-data body whose
 * "file" field is a document. libmicrohttpd's post processor parses the
 * body as it arrives and the field is written straight to a hidden
 * temporary file in the uploads folder, so no body is ever held in
 * memory (the size cap is --max-upload, apart from the JSON body cap).
 * Once the whole body is there the file is synced and linked under a safe
 * name (the client's name reduced to its last component, with only
 * letters, digits, '.', '_' and '-', never hidden; a name in use gets a
 * "_2"-style suffix before its extension), which is atomic and never overwrites, then queued
 * for the indexer; the answer is 202 without waiting for the indexing.
 */
#define _GNU_SOURCE /* mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/server.h"

#define BAD(...) og_srv_reply_error(s, c, r, 400, "invalid_request_error", __VA_ARGS__)
#define NAME_MAX_BYTES 120

typedef struct og_srv_upload og_srv_upload;

struct og_srv_upload {
    struct MHD_PostProcessor *pp; /* NULL: the body is not multipart/form-data (or urlencoded) */
    int fd;                       /* the temporary file, -1 before the field begins */
    char tmp[PATH_MAX];
    char name[NAME_MAX_BYTES + 1]; /* the client's file name, made safe */
    bool got_file, file_done;      /* the "file" field began / a later field came after it */
    int64_t bytes;
    char error[160];               /* a failure while receiving, said once the body is in */
};

/* The client's name made safe (see the top of the file) into out. */
static void safe_name(const char *given, char out[NAME_MAX_BYTES + 1])
{
    const char *b = given ? given : "";
    for (const char *p = b; *p; p++)
        if (*p == '/' || *p == '\\')
            b = p + 1;
    size_t n = 0;
    for (const char *p = b; *p && n < NAME_MAX_BYTES; p++) {
        unsigned char ch = (unsigned char)*p;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                  ch == '_' || ch == '-';
        if (n == 0 && ch == '.')
            continue; /* never hidden, never "." or ".." */
        out[n++] = ok ? (char)ch : '_';
    }
    out[n] = 0;
    if (!n)
        snprintf(out, NAME_MAX_BYTES + 1, "upload");
}

static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                const char *content_type, const char *transfer_encoding, const char *data,
                                uint64_t off, size_t size)
{
    (void)kind;
    (void)content_type;
    (void)transfer_encoding;
    og_srv_upload *u = cls;
    if (!key || strcmp(key, "file") != 0) {
        if (u->got_file)
            u->file_done = true;
        return MHD_YES; /* other fields are ignored */
    }
    if (u->file_done || u->error[0])
        return MHD_YES; /* a second "file" field, or a write already failed: dropped */
    if (!u->got_file) {
        (void)off;
        u->got_file = true;
        safe_name(filename, u->name);
        u->fd = mkostemp(u->tmp, O_CLOEXEC);
        if (u->fd < 0) {
            snprintf(u->error, sizeof u->error, "cannot store the upload: %s", strerror(errno));
            return MHD_YES;
        }
    }
    for (size_t done = 0; done < size;) {
        ssize_t w = write(u->fd, data + done, size - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(u->error, sizeof u->error, "cannot store the upload: %s", strerror(errno));
            return MHD_YES;
        }
        done += (size_t)w;
    }
    u->bytes += (int64_t)size;
    return MHD_YES;
}

void og_srv_upload_begin(og_server *s, struct MHD_Connection *c, og_srv_req *r)
{
    og_srv_upload *u = calloc(1, sizeof *u);
    if (!u)
        return;
    u->fd = -1;
    if (snprintf(u->tmp, sizeof u->tmp, "%s/.upload-XXXXXX", og_srv_docs_files_dir(s)) >= (int)sizeof u->tmp) {
        free(u);
        return;
    }
    u->pp = MHD_create_post_processor(c, 64 * 1024, on_field, u);
    r->upload = u;
}

void og_srv_upload_feed(og_srv_req *r, const char *data, size_t n)
{
    og_srv_upload *u = r->upload;
    if (u->pp && MHD_post_process(u->pp, data, n) != MHD_YES && !u->error[0])
        snprintf(u->error, sizeof u->error, "the body is not well-formed multipart/form-data");
}

void og_srv_upload_free(og_srv_upload *u)
{
    if (!u)
        return;
    if (u->pp)
        MHD_destroy_post_processor(u->pp);
    if (u->fd >= 0) {
        close(u->fd);
        unlink(u->tmp);
    }
    free(u);
}

/* Links the finished temporary file under its safe name (or the first
 * free "name (N).ext"); *path gets the name used. errno on failure. */
static bool store(og_srv_upload *u, const char *dir, char *path, size_t cap)
{
    const char *dot = strrchr(u->name, '.');
    size_t stem = dot && dot != u->name ? (size_t)(dot - u->name) : strlen(u->name);
    for (int i = 1; i < 1000; i++) {
        int n = i == 1 ? snprintf(path, cap, "%s/%s", dir, u->name)
                       : snprintf(path, cap, "%s/%.*s_%d%s", dir, (int)stem, u->name, i, u->name + stem);
        if (n < 0 || (size_t)n >= cap) {
            errno = ENAMETOOLONG;
            return false;
        }
        if (link(u->tmp, path) == 0)
            return true;
        if (errno != EEXIST)
            return false;
    }
    errno = EEXIST;
    return false;
}

enum MHD_Result og_srv_upload_finish(og_server *s, struct MHD_Connection *c, og_srv_req *r)
{
    og_srv_upload *u = r->upload;
    if (!u->pp)
        return og_srv_reply_error(s, c, r, 415, "invalid_request_error", "unsupported_media_type",
                                  "upload a document as multipart/form-data with a field named 'file'");
    /* Destroying the processor parses what it still holds. */
    if (MHD_destroy_post_processor(u->pp) != MHD_YES && !u->error[0])
        snprintf(u->error, sizeof u->error, "the body is not well-formed multipart/form-data");
    u->pp = NULL;
    if (u->error[0])
        return BAD("invalid_upload", "%s", u->error);
    if (!u->got_file)
        return BAD("missing_file", "the form has no field named 'file'");
    if (u->bytes == 0)
        return BAD("empty_file", "the uploaded file '%s' is empty", u->name);
    if (fsync(u->fd) != 0)
        return og_srv_reply_error(s, c, r, 500, "server_error", NULL, "cannot store the upload: %s",
                                  strerror(errno));
    char path[PATH_MAX];
    bool stored = store(u, og_srv_docs_files_dir(s), path, sizeof path);
    int saved = errno;
    close(u->fd);
    u->fd = -1;
    unlink(u->tmp);
    if (!stored)
        return og_srv_reply_error(s, c, r, 500, "server_error", NULL, "cannot store the upload: %s",
                                  strerror(saved));
    /* The link is durable once its folder is synced. */
    int dfd = open(og_srv_docs_files_dir(s), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    if (!og_srv_docs_enqueue(s, path, u->bytes)) {
        unlink(path);
        return og_srv_reply_error(s, c, r, 500, "server_error", NULL, "out of memory");
    }
    /* The id and fields as GET /v1/documents will list them. */
    char id[17];
    og_srv_doc_id(path, id);
    const char *name = strrchr(path, '/') + 1;
    return og_srv_reply_json(s, c, r, 202,
                             json_pack("{s:s,s:s,s:o,s:o,s:i,s:i,s:I,s:s}", "id", id, "object", "document", "path",
                                       og_srv_json_text(path, strlen(path)), "name",
                                       og_srv_json_text(name, strlen(name)), "pages", 0, "chunks", 0, "bytes",
                                       (json_int_t)u->bytes, "status", "indexing"));
}
