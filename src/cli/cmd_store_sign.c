/*
 * cmd_store_sign.c - `offgrid keygen` and `offgrid sign`, for whoever publishes
 * a catalog: an Ed25519 key pair as hex files, and the detached signature
 * of a model file that goes into its catalog entry ("signature"). Devices
 * trust the public key by adding it to $OFFGRID_HOME/trusted_keys.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct sign_opts {
    const char *name; /* keygen's base name, sign's file */
    const char *key, *output;
} sign_opts;

static const cli_option keygen_options[] = {
    { NULL, NULL, CLI_POSITIONAL, CLI_AT(sign_opts, name, const char *), "NAME",
      .help = "the key files' base name: NAME.key and NAME.pub", .required = true,
      .missing = "give the key's base name" },
    { 0 },
};

#define NEEDS_FILE_AND_KEY "give the file and -k SECRET_KEY"
static const cli_option sign_options[] = {
    { NULL, NULL, CLI_POSITIONAL, CLI_AT(sign_opts, name, const char *), "FILE", .help = "the file to sign",
      .required = true, .missing = NEEDS_FILE_AND_KEY },
    { "-k", "--key", CLI_STRING, CLI_AT(sign_opts, key, const char *), "NAME.key",
      .help = "the secret key from offgrid keygen", .required = true, .missing = NEEDS_FILE_AND_KEY },
    { "-o", "--output", CLI_STRING, CLI_AT(sign_opts, output, const char *), "PATH",
      .help = "where to write the signature", .def = "FILE.sig" },
    { 0 },
};

static int run_keygen(const sign_opts *o)
{
    char secret[4096], pub[4096];
    if ((size_t)snprintf(secret, sizeof secret, "%s.key", o->name) >= sizeof secret ||
        (size_t)snprintf(pub, sizeof pub, "%s.pub", o->name) >= sizeof pub) {
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

static int run_sign(const sign_opts *o)
{
    char sig[129], path[4096];
    const char *out = o->output;
    if (!out) {
        if ((size_t)snprintf(path, sizeof path, "%s.sig", o->name) >= sizeof path) {
            fprintf(stderr, "offgrid sign: name too long\n");
            return 2;
        }
        out = path;
    }
    og_error err = { 0 };
    if (og_sign_file(o->name, o->key, sig, &err) != OG_OK) {
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

static int start_keygen(int argc, char **argv)
{
    sign_opts o = { 0 };
    int rc = cli_parse(&cli_cmd_keygen, argc, argv, &o);
    return rc == CLI_PARSED ? run_keygen(&o) : rc;
}

static int start_sign(int argc, char **argv)
{
    sign_opts o = { 0 };
    int rc = cli_parse(&cli_cmd_sign, argc, argv, &o);
    return rc == CLI_PARSED ? run_sign(&o) : rc;
}

const cli_command cli_cmd_keygen = {
    "keygen", "create an Ed25519 key pair for signing models",
    "Writes NAME.key (the secret key, mode 0600) and NAME.pub (the public key),\n"
    "both hex; neither may exist. Put NAME.pub's line in a device's\n"
    "$OFFGRID_HOME/trusted_keys to make it require and accept your signatures.",
    keygen_options, NULL, start_keygen,
};

const cli_command cli_cmd_sign = {
    "sign", "sign a model file (detached Ed25519 signature)",
    "Signs FILE's bytes with the secret key and prints the signature (hex), which\n"
    "goes into the catalog entry's \"signature\"; also writes it to FILE.sig.",
    sign_options, NULL, start_sign,
};
