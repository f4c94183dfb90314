/*
 * crypt.h - collections encrypted at rest: the key file (keyfile.c: a
 * passphrase stretched with Argon2id, checked before any database is
 * opened) and the "ogcrypt" SQLite VFS (crypt_vfs.c) that encrypts every
 * page of the database and of its WAL with libsodium's
 * XChaCha20-Poly1305 and refuses to create any other file, so text, the
 * FTS index and the vectors are unreadable on disk without the key.
 */
#ifndef OG_DOCS_CRYPT_H
#define OG_DOCS_CRYPT_H

#include <sqlite3.h>
#include <stdint.h>

#include "offgrid.h"

#define OG_DOCS_KEY_BYTES 32

/* Argon2id strength: INTERACTIVE for tests (OFFGRID_DOCS_KDF=fast), else MODERATE. */

/* Creates the key file at key_path (it must not exist) for passphrase and
 * writes the derived key into key; the file is written atomically
 * (temporary file, fsync, rename). OG_ERR_ARG for an empty passphrase or an
 * existing file, OG_ERR_IO, OG_ERR_NOMEM (Argon2id's memory). */
og_status og_docs_key_create(const char *key_path, const char *passphrase, uint8_t key[OG_DOCS_KEY_BYTES],
                             og_error *err);

/* Derives the key from passphrase and the key file's salt and checks it
 * against the file. OG_ERR_KEY "wrong passphrase for <collection>" when it
 * does not match (nothing is written anywhere); OG_ERR_FORMAT for a damaged
 * key file; OG_ERR_IO when missing. */
og_status og_docs_key_unlock(const char *key_path, const char *passphrase, uint8_t key[OG_DOCS_KEY_BYTES],
                             og_error *err);

/* Opens (creating when missing) the encrypted database at db_path with key,
 * in WAL mode with temp_store=MEMORY, and applies migrations like
 * og_db_open (services/common/sqlite_db.h). The key is copied; zero yours
 * when done. A database written with another key, or not encrypted, gives
 * OG_ERR_KEY; a damaged page OG_ERR_FORMAT. sqlite3_close *out when done. */
og_status og_docs_crypt_open(const char *db_path, const uint8_t key[OG_DOCS_KEY_BYTES], const char *label,
                             const char *const *migrations, int n_migrations, sqlite3 **out, og_error *err);

#endif
