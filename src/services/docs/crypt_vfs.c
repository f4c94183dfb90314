/*
 * crypt_vfs.c - (placeholder until encryption lands) refuses encrypted
 * databases.
 */
#include "docs/crypt.h"

og_status og_docs_crypt_open(const char *db_path, const uint8_t key[OG_DOCS_KEY_BYTES], const char *label,
                             const char *const *migrations, int n_migrations, sqlite3 **out, og_error *err)
{
    (void)key;
    (void)label;
    (void)migrations;
    (void)n_migrations;
    *out = NULL;
    return og_error_set(err, OG_ERR_UNSUPPORTED, "%s: this build cannot open encrypted databases yet", db_path);
}
