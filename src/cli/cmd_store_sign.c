/*
 * cmd_store_sign.c - `offgrid keygen` and `offgrid sign`, for whoever publishes
 * a catalog: an Ed25519 key pair as hex files, and the detached signature
 * of a model file that goes into its catalog entry ("signature"), and
 * `offgrid verify-signature` to check one before publishing. Devices
 * trust the public key by adding it to $OFFGRID_HOME/trusted_keys. Each
 * takes --json (one object on stdout, see json_reply.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/json_reply.h"

typedef struct sign_opts {
    const char *name; /* keygen's base name, sign's and verify-signature's file */
    const char *key, *output;
    const char *signature; /* verify-signature: the signature file (default FILE.sig) */
    bool json;
} sign_opts;

static const cli_option keygen_options[] = {
    { NULL, NULL, CLI_POSITIONAL, CLI_AT(sign_opts, name, const char *), "NAME",
      .help = "the key files' base name: NAME.key and NAME.pub", .required = true,
      .missing = "give the key's base name" },
    CLI_OPT_JSON(sign_opts, json, "{\"ok\": true, \"secret_key_file\": NAME.key,\n"
                                  "\"public_key_file\": NAME.pub, \"public_key\": HEX}"),
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
    CLI_OPT_JSON(sign_opts, json, "{\"ok\": true, \"file\": FILE, \"signature\": HEX,\n"
                                  "\"signature_file\": PATH}"),
    { 0 },
};

static int run_keygen(const sign_opts *o)
{
    char secret[4096], pub[4096];
    if ((size_t)snprintf(secret, sizeof secret, "%s.key", o->name) >= sizeof secret ||
        (size_t)snprintf(pub, sizeof pub, "%s.pub", o->name) >= sizeof pub)
        return cli_json_failed("keygen", o->json, 2, "name too long");
    og_error err = { 0 };
    if (og_keygen(secret, pub, &err) != OG_OK)
        return cli_json_failed("keygen", o->json, 1, err.message);
    if (!o->json) {
        printf("wrote %s (secret, keep it private) and %s (public)\n", secret, pub);
        return 0;
    }
    /* The public key itself, as the line a device's trusted_keys takes. */
    char *hex = cli_read_key_line("keygen", pub, "a public key file");
    if (!hex) {
        cli_json_failure("cannot read back the public key file");
        return 1;
    }
    printf("{\"ok\": true");
    cli_json_field("secret_key_file", secret, 0);
    cli_json_field("public_key_file", pub, 0);
    cli_json_field("public_key", hex, 0);
    printf("}\n");
    free(hex);
    return 0;
}

static int run_sign(const sign_opts *o)
{
    char sig[129], path[4096];
    const char *out = o->output;
    if (!out) {
        if ((size_t)snprintf(path, sizeof path, "%s.sig", o->name) >= sizeof path)
            return cli_json_failed("sign", o->json, 2, "name too long");
        out = path;
    }
    og_error err = { 0 };
    if (og_sign_file(o->name, o->key, sig, &err) != OG_OK)
        return cli_json_failed("sign", o->json, 1, err.message);
    FILE *f = fopen(out, "w");
    bool ok = f && fprintf(f, "%s\n", sig) > 0;
    ok = f && fclose(f) == 0 && ok;
    if (!ok) {
        if (f)
            remove(out);
        snprintf(err.message, sizeof err.message, "cannot write %s", out);
        return cli_json_failed("sign", o->json, 1, err.message);
    }
    if (o->json) {
        printf("{\"ok\": true");
        cli_json_field("file", o->name, 0);
        cli_json_field("signature", sig, 0);
        cli_json_field("signature_file", out, 0);
        printf("}\n");
    } else {
        printf("%s\n", sig);
    }
    fprintf(stderr, "offgrid sign: wrote %s\n", out);
    return 0;
}

#define NEEDS_FILE_AND_PUB "give the file and -k PUBLIC_KEY"
static const cli_option verify_options[] = {
    { NULL, NULL, CLI_POSITIONAL, CLI_AT(sign_opts, name, const char *), "FILE", .help = "the signed file",
      .required = true, .missing = NEEDS_FILE_AND_PUB },
    { "-k", "--key", CLI_STRING, CLI_AT(sign_opts, key, const char *), "NAME.pub",
      .help = "the public key from offgrid keygen", .required = true, .missing = NEEDS_FILE_AND_PUB },
    { "-s", "--signature", CLI_STRING, CLI_AT(sign_opts, signature, const char *), "SIG",
      .help = "the signature file offgrid sign wrote", .def = "FILE.sig" },
    CLI_OPT_JSON(sign_opts, json, "{\"file\": FILE, \"valid\": true|false, \"error\": WHY}"),
    { 0 },
};

static int run_verify_signature(const sign_opts *o)
{
    char sig_path[4096];
    const char *sp = o->signature;
    if (!sp) {
        if ((size_t)snprintf(sig_path, sizeof sig_path, "%s.sig", o->name) >= sizeof sig_path) {
            fprintf(stderr, "offgrid verify-signature: name too long\n");
            return 2;
        }
        sp = sig_path;
    }
    char *sig = cli_read_key_line("verify-signature", sp, "the signature");
    char *pub = sig ? cli_read_key_line("verify-signature", o->key, "the public key") : NULL;
    if (!pub) {
        free(sig);
        return 1;
    }
    og_error err = { 0 };
    og_status st = og_verify_file(o->name, sig, pub, &err);
    if (o->json) {
        putchar('{');
        cli_json_field("file", o->name, 1);
        printf(", \"valid\": %s", st == OG_OK ? "true" : "false");
        cli_json_field("error", st == OG_OK ? NULL : err.message, 0);
        printf("}\n");
    } else if (st == OG_OK) {
        printf("%s: good signature by %s (%s)\n", o->name, o->key, sp);
    }
    if (st != OG_OK)
        fprintf(stderr, "offgrid verify-signature: %s: %s (signature %s, key %s)\n", o->name, err.message, sp,
                o->key);
    free(sig);
    free(pub);
    return st == OG_OK ? 0 : 1;
}

static int start_verify_signature(int argc, char **argv)
{
    sign_opts o = { 0 };
    int rc = cli_parse(&cli_cmd_verify_signature, argc, argv, &o);
    return rc == CLI_PARSED ? run_verify_signature(&o) : rc;
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

const cli_command cli_cmd_verify_signature = {
    "verify-signature", "check a file's signature against a public key",
    "Checks that SIG (default FILE.sig, as offgrid sign writes it) is a valid\n"
    "Ed25519 signature of FILE's bytes by the key in NAME.pub: what a device with\n"
    "that key in trusted_keys will check on pull. Exits 0 when it is, 1 when not.",
    verify_options, NULL, start_verify_signature,
};
