/*
 * cmd_store_sign.c - `offgrid keygen` and `offgrid sign`, for whoever publishes
 * a catalog: an Ed25519 key pair as hex files, and the detached signature
 * of a model file that goes into its catalog entry ("signature"). Devices
 * trust the public key by adding it to $OFFGRID_HOME/trusted_keys.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static int run_keygen(const cli_opts *o)
{
    if (!o->positional) {
        fprintf(stderr, "offgrid keygen: give the key's base name\n\n%s", cli_cmd_keygen.usage);
        return 2;
    }
    char secret[4096], pub[4096];
    if ((size_t)snprintf(secret, sizeof secret, "%s.key", o->positional) >= sizeof secret ||
        (size_t)snprintf(pub, sizeof pub, "%s.pub", o->positional) >= sizeof pub) {
        fprintf(stderr, "offgrid keygen: name too long\n");
        return 2;
    }
    og_error err = { 0 };
    if (og_keygen(secret, pub, &err) != OG_OK) {
        fprintf(stderr, "offgrid keygen: %s\n", err.message);
        return 1;
    }
    printf("wrote %s (secret, keep it private) and %s (public)\n", secret, pub);
    return 0;
}

static int run_sign(const cli_opts *o)
{
    if (!o->positional || !o->key) {
        fprintf(stderr, "offgrid sign: give the file and -k SECRET_KEY\n\n%s", cli_cmd_sign.usage);
        return 2;
    }
    char sig[129], path[4096];
    const char *out = o->output;
    if (!out) {
        if ((size_t)snprintf(path, sizeof path, "%s.sig", o->positional) >= sizeof path) {
            fprintf(stderr, "offgrid sign: name too long\n");
            return 2;
        }
        out = path;
    }
    og_error err = { 0 };
    if (og_sign_file(o->positional, o->key, sig, &err) != OG_OK) {
        fprintf(stderr, "offgrid sign: %s\n", err.message);
        return 1;
    }
    FILE *f = fopen(out, "w");
    bool ok = f && fprintf(f, "%s\n", sig) > 0;
    ok = f && fclose(f) == 0 && ok;
    if (!ok) {
        fprintf(stderr, "offgrid sign: cannot write %s\n", out);
        if (f)
            remove(out);
        return 1;
    }
    printf("%s\n", sig);
    fprintf(stderr, "offgrid sign: wrote %s\n", out);
    return 0;
}

const cli_command cli_cmd_keygen = {
    "keygen", "create an Ed25519 key pair for signing models",
    "usage: offgrid keygen NAME\n\nWrites NAME.key (the secret key, mode 0600) and NAME.pub (the public key),\n"
    "both hex; neither may exist. Put NAME.pub's line in a device's\n"
    "$OFFGRID_HOME/trusted_keys to make it require and accept your signatures.\n",
    OPT_POSITIONAL,
    run_keygen,
};

const cli_command cli_cmd_sign = {
    "sign", "sign a model file (detached Ed25519 signature)",
    "usage: offgrid sign FILE -k NAME.key [-o FILE.sig]\n\nSigns FILE's bytes with the secret key and prints the signature (hex), which\n"
    "goes into the catalog entry's \"signature\"; also writes it to FILE.sig.\n\n"
    "options:\n"
    "  -k, --key PATH      the secret key from offgrid keygen (required)\n"
    "  -o, --output PATH   where to write the signature (default FILE.sig)\n",
    OPT_POSITIONAL | OPT_KEY | OPT_OUTPUT,
    run_sign,
};
