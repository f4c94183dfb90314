/*
 * sign.c - Ed25519 signatures of model files with libsodium: key pairs
 * for publishers (og_keygen), detached signatures of a file's bytes
 * (og_sign_file, the file mapped with og_fs_map), and checking one
 * against the keys in the store's trusted_keys file. Keys and signatures
 * are hex text, so they fit in a catalog and in a mail.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "common/fsutil.h"
#include "offgrid.h"
#include "store/store.h"

static og_status init_sodium(og_error *err)
{
    return sodium_init() < 0 ? og_error_set(err, OG_ERR_UNSUPPORTED, "libsodium could not initialise") : OG_OK;
}

/* Decodes exactly n bytes of hex (surrounding white space allowed). */
static bool from_hex(const char *hex, unsigned char *out, size_t n)
{
    size_t len = 0;
    const char *end = NULL;
    while (*hex == ' ' || *hex == '\t')
        hex++;
    if (sodium_hex2bin(out, n, hex, strlen(hex), NULL, &len, &end) != 0 || len != n)
        return false;
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
        end++;
    return *end == 0;
}

/* Writes text to a new file (never over an existing one). */
static og_status write_new(const char *path, const char *text, mode_t mode, og_error *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return og_error_set(err, OG_ERR_IO, "cannot create %s: %s", path, strerror(errno));
    size_t n = strlen(text);
    bool ok = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok) {
        unlink(path);
        return og_error_set(err, OG_ERR_IO, "cannot write %s", path);
    }
    return OG_OK;
}

og_status og_keygen(const char *secret_path, const char *public_path, og_error *err)
{
    og_status s = init_sodium(err);
    if (s != OG_OK)
        return s;
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    char text[2 * crypto_sign_SECRETKEYBYTES + 2];
    crypto_sign_keypair(pk, sk);
    sodium_bin2hex(text, sizeof text - 1, sk, sizeof sk);
    strcat(text, "\n");
    s = write_new(secret_path, text, 0600, err);
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(text, sizeof text);
    if (s != OG_OK)
        return s;
    sodium_bin2hex(text, sizeof text - 1, pk, sizeof pk);
    strcat(text, "\n");
    s = write_new(public_path, text, 0644, err);
    if (s != OG_OK)
        unlink(secret_path); /* a secret key without its public half is useless */
    return s;
}

og_status og_sign_file(const char *path, const char *secret_path, char sig_hex[129], og_error *err)
{
    og_status s = init_sodium(err);
    if (s != OG_OK)
        return s;
    char text[2 * crypto_sign_SECRETKEYBYTES + 8] = { 0 };
    FILE *f = fopen(secret_path, "rb");
    if (!f)
        return og_error_set(err, OG_ERR_IO, "cannot open the secret key %s: %s", secret_path, strerror(errno));
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    unsigned char sk[crypto_sign_SECRETKEYBYTES], sig[crypto_sign_BYTES];
    bool ok = from_hex(text, sk, sizeof sk);
    sodium_memzero(text, sizeof text);
    if (!ok)
        return og_error_set(err, OG_ERR_FORMAT, "%s is not a hex Ed25519 secret key (from offgrid keygen)",
                            secret_path);
    const void *data;
    size_t size;
    s = og_fs_map(path, "a file to sign", &data, &size, err);
    if (s == OG_OK) {
        crypto_sign_detached(sig, NULL, data, size, sk);
        og_fs_unmap(data, size);
        sodium_bin2hex(sig_hex, 129, sig, sizeof sig);
    }
    sodium_memzero(sk, sizeof sk);
    return s;
}

/* Checks the mapped file against one key. */
static bool verify_one(const void *data, size_t size, const unsigned char sig[64], const unsigned char pk[32])
{
    return crypto_sign_verify_detached(sig, data, size, pk) == 0;
}

og_status og_sign_verify_buffer(const void *data, size_t size, const char *sig_hex, unsigned char (*keys)[32],
                                size_t n, og_error *err)
{
    og_status s = init_sodium(err);
    if (s != OG_OK)
        return s;
    unsigned char sig[crypto_sign_BYTES];
    if (!from_hex(sig_hex, sig, sizeof sig))
        return og_error_set(err, OG_ERR_FORMAT, "the signature is not 128 hex digits");
    bool ok = false;
    for (size_t i = 0; i < n && !ok; i++)
        ok = verify_one(data, size, sig, keys[i]);
    return ok ? OG_OK : og_error_set(err, OG_ERR_FORMAT, "the Ed25519 signature does not match any trusted key");
}

og_status og_sign_verify_any(const char *path, const char *sig_hex, unsigned char (*keys)[32], size_t n,
                             og_error *err)
{
    const void *data;
    size_t size;
    og_status s = og_fs_map(path, "a signed file", &data, &size, err);
    if (s != OG_OK)
        return s;
    s = og_sign_verify_buffer(data, size, sig_hex, keys, n, err);
    og_fs_unmap(data, size);
    return s;
}

og_status og_verify_file(const char *path, const char *sig_hex, const char *public_hex, og_error *err)
{
    unsigned char pk[1][32];
    if (!from_hex(public_hex, pk[0], sizeof pk[0]))
        return og_error_set(err, OG_ERR_FORMAT, "the public key is not 64 hex digits");
    return og_sign_verify_any(path, sig_hex, pk, 1, err);
}

og_status og_sign_trusted_keys(const og_store *s, unsigned char (**keys)[32], size_t *n, og_error *err)
{
    *keys = NULL;
    *n = 0;
    char path[OG_STORE_PATH_MAX];
    og_status st = og_fs_path(path, sizeof path, err, "%s/trusted_keys", s->home);
    if (st != OG_OK)
        return st;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? OG_OK
                               : og_error_set(err, OG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    char line[512];
    size_t cap = 0;
    for (int lineno = 1; st == OG_OK && fgets(line, sizeof line, f); lineno++) {
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || !*p)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 4;
            unsigned char(*bigger)[32] = realloc(*keys, cap * sizeof **keys);
            if (!bigger) {
                st = og_error_set(err, OG_ERR_NOMEM, "out of memory reading %s", path);
                break;
            }
            *keys = bigger;
        }
        if (!from_hex(p, (*keys)[*n], 32))
            st = og_error_set(err, OG_ERR_FORMAT, "%s:%d: not a hex Ed25519 public key", path, lineno);
        else
            ++*n;
    }
    fclose(f);
    if (st != OG_OK) {
        free(*keys);
        *keys = NULL;
        *n = 0;
    }
    return st;
}
