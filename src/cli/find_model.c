/*
 * find_model.c - how a command turns -m NAME into a file: a path is used
 * as given, an installed model's name is resolved through the store.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"

bool cli_find_model(const char *cmd, const char **ref, char *buf, size_t cap)
{
#ifdef OG_WITH_SERVICES
    /* A path (or a name that is a file here) is loaded as given, so a
     * missing file is reported by the loader. */
    if (*ref && access(*ref, F_OK) != 0 && !strchr(*ref, '/')) {
        if (!cli_store_resolve_model(cmd, *ref, buf, cap))
            return false;
        *ref = buf;
    }
#else
    (void)cmd;
    (void)ref;
    (void)buf;
    (void)cap;
#endif
    return true;
}
