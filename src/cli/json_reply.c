/*
 * json_reply.c - the failure object and the string member every --json
 * reply of json_reply.h is made of, so the commands agree on the shape.
 */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/json_reply.h"

void cli_json_failure(const char *message)
{
    printf("{\"ok\": false, \"error\": ");
    cli_json_str(message ? message : "");
    printf("}\n");
}

void cli_json_field(const char *key, const char *value, int first)
{
    printf("%s\"%s\": ", first ? "" : ", ", key);
    if (value)
        cli_json_str(value);
    else
        fputs("null", stdout);
}

int cli_json_failed(const char *cmd, bool json, int rc, const char *message)
{
    fprintf(stderr, "offgrid %s: %s\n", cmd, message);
    if (json)
        cli_json_failure(message);
    return rc;
}
