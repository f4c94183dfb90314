/*
 * keyfile.c - (placeholder until encryption lands) refuses encrypted
 * collections.
 */
#include "docs/crypt.h"

og_status og_docs_key_create(const char *key_path, const char *passphrase, uint8_t key[OG_DOCS_KEY_BYTES],
                             og_error *err)
{
    (void)passphrase;
    (void)key;
    return og_error_set(err, OG_ERR_UNSUPPORTED, "%s: this build cannot encrypt collections yet", key_path);
}

og_status og_docs_key_unlock(const char *key_path, const char *passphrase, uint8_t key[OG_DOCS_KEY_BYTES],
                             og_error *err)
{
    (void)passphrase;
    (void)key;
    return og_error_set(err, OG_ERR_UNSUPPORTED, "%s: this build cannot open encrypted collections yet", key_path);
}
