/*
 * keyfile.c - the key file of an encrypted collection (crypt.h): a
 * passphrase stretched with Argon2id into the master key, and the file
 * that lets us check a passphrase before any database is opened.
 *
 * The file is 88 bytes, little-endian:
 *   0  "OGDOCKEY"          magic
 *   8  u32 version (1)     12 u32 algorithm (libsodium's ARGON2ID13)
 *   16 u64 opslimit        24 u64 memlimit      (the limits it was made with)
 *   32 u32 page size       36 u32 zero
 *   40 16-byte salt
 *   56 32-byte check: BLAKE2b of bytes [0, 56) keyed with a subkey of the
 *      master key, so a wrong passphrase (or a changed header) is caught
 *      here and never reaches SQLite.
 * The master key itself is never stored; the database pages use another
 * subkey of it (crypt_vfs.c), so the check value says nothing about them.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fsutil.h"
#include "docs/crypt.h"

#define MAGIC "OGDOCKEY"
#define VERSION 1u
#define PAGE_SIZE 4096u
#define SALT_BYTES 16
#define CHECK_BYTES 32
#define HEADER_BYTES 56
#define FILE_BYTES (HEADER_BYTES + CHECK_BYTES)
/* crypto_kdf context and subkey ids shared with crypt_vfs.c (page key = 1). */
#define KDF_CONTEXT "ogdocs01"
#define SUBKEY_CHECK 2

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* The collection's name for messages: the key file's folder ("mydocs" for
 * ".../docs/mydocs/docs.key"), or the path when it has no folder. */
static void collection_name(const char *key_path, char *out, size_t cap)
{
    const char *end = strrchr(key_path, '/');
    if (!end || end == key_path) {
        snprintf(out, cap, "%s", key_path);
        return;
    }
    const char *start = end;
    while (start > key_path && start[-1] != '/')
        start--;
    snprintf(out, cap, "%.*s", (int)(end - start), start);
}

/* Argon2id of passphrase into key, then the check value of header. */
static og_status derive(const char *key_path, const char *passphrase, const uint8_t header[HEADER_BYTES],
                        uint8_t key[OG_DOCS_KEY_BYTES], uint8_t check[CHECK_BYTES], og_error *err)
{
    if (sodium_init() < 0)
        return og_error_set(err, OG_ERR_UNSUPPORTED, "libsodium could not initialise");
    uint64_t ops = get64(header + 16), mem = get64(header + 24);
    if (crypto_pwhash(key, OG_DOCS_KEY_BYTES, passphrase, strlen(passphrase), header + 40, ops, (size_t)mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0)
        return og_error_set(err, OG_ERR_NOMEM, "%s: Argon2id could not get its %llu MiB of memory", key_path,
                            (unsigned long long)(mem >> 20));
    uint8_t sub[crypto_generichash_KEYBYTES];
    crypto_kdf_derive_from_key(sub, sizeof sub, SUBKEY_CHECK, KDF_CONTEXT, key);
    crypto_generichash(check, CHECK_BYTES, header, HEADER_BYTES, sub, sizeof sub);
    sodium_memzero(sub, sizeof sub);
    return OG_OK;
}

/* Writes data to a new temporary file beside path, fsyncs it and links it
 * into place (link never replaces: a key file that appeared meanwhile
 * wins and we fail), then fsyncs the folder. */
static og_status write_new(const char *path, const uint8_t *data, size_t n, og_error *err)
{
    char tmp[OG_FS_PATH_MAX], dir[OG_FS_PATH_MAX];
    og_status st = og_fs_path(tmp, sizeof tmp, err, "%s.tmp-%ld", path, (long)getpid());
    if (st == OG_OK)
        st = og_fs_parent(path, dir, sizeof dir, err);
    if (st != OG_OK)
        return st;
    unlink(tmp); /* a leftover of a crashed run of this pid */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return og_error_set(err, OG_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    int ok = write(fd, data, n) == (ssize_t)n && fsync(fd) == 0;
    int saved = errno;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        unlink(tmp);
        return og_error_set(err, OG_ERR_IO, "cannot write %s: %s", tmp, strerror(saved));
    }
    if (link(tmp, path) != 0) {
        saved = errno;
        unlink(tmp);
        return og_error_set(err, saved == EEXIST ? OG_ERR_ARG : OG_ERR_IO, "cannot create %s: %s", path,
                            saved == EEXIST ? "it already exists" : strerror(saved));
    }
    unlink(tmp);
    return og_fs_sync_dir(dir, err);
}

og_status og_docs_key_create(const char *key_path, const char *passphrase, uint8_t key[OG_DOCS_KEY_BYTES],
                             og_error *err)
{
    if (!passphrase || !*passphrase)
        return og_error_set(err, OG_ERR_ARG, "%s: the passphrase is empty", key_path);
    struct stat sb;
    if (lstat(key_path, &sb) == 0) /* before Argon2id's second of work */
        return og_error_set(err, OG_ERR_ARG, "cannot create %s: it already exists", key_path);
    const char *kdf = getenv("OFFGRID_DOCS_KDF");
    int fast = kdf && strcmp(kdf, "fast") == 0;
    uint8_t file[FILE_BYTES] = {0};
    memcpy(file, MAGIC, 8);
    put32(file + 8, VERSION);
    put32(file + 12, (uint32_t)crypto_pwhash_ALG_ARGON2ID13);
    put64(file + 16, fast ? crypto_pwhash_OPSLIMIT_INTERACTIVE : crypto_pwhash_OPSLIMIT_MODERATE);
    put64(file + 24, fast ? crypto_pwhash_MEMLIMIT_INTERACTIVE : crypto_pwhash_MEMLIMIT_MODERATE);
    put32(file + 32, PAGE_SIZE);
    if (sodium_init() < 0)
        return og_error_set(err, OG_ERR_UNSUPPORTED, "libsodium could not initialise");
    randombytes_buf(file + 40, SALT_BYTES);
    og_status st = derive(key_path, passphrase, file, key, file + HEADER_BYTES, err);
    if (st == OG_OK)
        st = write_new(key_path, file, sizeof file, err);
    if (st != OG_OK)
        sodium_memzero(key, OG_DOCS_KEY_BYTES);
    return st;
}

og_status og_docs_key_unlock(const char *key_path, const char *passphrase, uint8_t key[OG_DOCS_KEY_BYTES],
                             og_error *err)
{
    if (!passphrase || !*passphrase)
        return og_error_set(err, OG_ERR_ARG, "%s: the passphrase is empty", key_path);
    FILE *f = fopen(key_path, "rb");
    if (!f)
        return og_error_set(err, OG_ERR_IO, "cannot open the key file %s: %s", key_path, strerror(errno));
    uint8_t file[FILE_BYTES + 1];
    size_t n = fread(file, 1, sizeof file, f);
    int bad_read = ferror(f);
    fclose(f);
    if (bad_read)
        return og_error_set(err, OG_ERR_IO, "cannot read the key file %s", key_path);
    if (n != FILE_BYTES || memcmp(file, MAGIC, 8) != 0)
        return og_error_set(err, OG_ERR_FORMAT, "%s is not an offgrid key file (%zu bytes)", key_path, n);
    if (get32(file + 8) != VERSION)
        return og_error_set(err, OG_ERR_UNSUPPORTED, "%s: key file version %u is newer than this offgrid", key_path,
                            get32(file + 8));
    uint64_t ops = get64(file + 16), mem = get64(file + 24);
    /* limits from the file bound what we spend: a damaged file must not ask
     * for terabytes or hours */
    if (get32(file + 12) != (uint32_t)crypto_pwhash_ALG_ARGON2ID13 || get32(file + 32) != PAGE_SIZE ||
        get32(file + 36) != 0 || ops < crypto_pwhash_OPSLIMIT_MIN || ops > crypto_pwhash_OPSLIMIT_SENSITIVE ||
        mem < crypto_pwhash_MEMLIMIT_MIN || mem > crypto_pwhash_MEMLIMIT_SENSITIVE)
        return og_error_set(err, OG_ERR_FORMAT, "%s: the key file is damaged (bad algorithm, limits or page size)",
                            key_path);
    uint8_t check[CHECK_BYTES];
    og_status st = derive(key_path, passphrase, file, key, check, err);
    if (st == OG_OK && sodium_memcmp(check, file + HEADER_BYTES, CHECK_BYTES) != 0) {
        char name[256];
        collection_name(key_path, name, sizeof name);
        st = og_error_set(err, OG_ERR_KEY, "wrong passphrase for %s", name);
    }
    sodium_memzero(check, sizeof check);
    if (st != OG_OK)
        sodium_memzero(key, OG_DOCS_KEY_BYTES);
    return st;
}
