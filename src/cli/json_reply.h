/*
 * json_reply.h - the one-object-on-stdout convention of the commands that
 * change something (pull, rm, verify, rollback, prune, keygen, sign,
 * update, synth) under --json: success is an object with "ok": true and
 * the command's fields; a failure after parsing is {"ok": false, "error":
 * WHY}, so a script reads one object whatever happened (the exit code
 * stays as without --json, and the message still goes to stderr).
 */
#ifndef OG_CLI_JSON_REPLY_H
#define OG_CLI_JSON_REPLY_H

#include <stdbool.h>

/* Prints {"ok": false, "error": message} and a newline to stdout. */
void cli_json_failure(const char *message);

/* A command's failure: "offgrid CMD: message" on stderr and, with json,
 * the failure object on stdout. Returns rc, the exit code. */
int cli_json_failed(const char *cmd, bool json, int rc, const char *message);

/* Prints "\"key\": " then value as a JSON string, or null when value is
 * NULL; first: no ", " before it. For the objects above. */
void cli_json_field(const char *key, const char *value, int first);

#endif
