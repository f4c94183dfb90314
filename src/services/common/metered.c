/*
 * metered.c - og_metered_detect: $OFFGRID_METERED, else NetworkManager's
 * GENERAL.METERED through nmcli (spawned directly, no shell, its stderr
 * and stdin on /dev/null), else "not metered", since on a Linux box
 * without NetworkManager nothing can tell and holding every download by
 * default would stop the updates of most devices.
 */
#define _GNU_SOURCE /* pipe2 */
#include "common/metered.h"

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Runs `nmcli -t -f GENERAL.METERED dev show` and reads its output into
 * out; false when nmcli is missing or fails. */
static bool run_nmcli(char *out, size_t cap)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return false;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    char *argv[] = { "nmcli", "-t", "-f", "GENERAL.METERED", "dev", "show", NULL };
    pid_t pid;
    int rc = posix_spawnp(&pid, "nmcli", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        return false;
    }
    size_t n = 0;
    ssize_t got;
    while (n + 1 < cap && ((got = read(fds[0], out + n, cap - 1 - n)) > 0 || (got < 0 && errno == EINTR)))
        n += got > 0 ? (size_t)got : 0;
    out[n] = 0;
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

og_status og_metered_detect(bool *metered, char *why, size_t cap, og_error *err)
{
    if (!metered || !why)
        return og_error_set(err, OG_ERR_ARG, "og_metered_detect: metered and why are required");
    const char *env = getenv("OFFGRID_METERED");
    if (env && *env) {
        *metered = strcmp(env, "0") && strcmp(env, "no") && strcmp(env, "false");
        snprintf(why, cap, "OFFGRID_METERED=%s", env);
        return OG_OK;
    }
    char out[4096];
    if (run_nmcli(out, sizeof out)) {
        /* One GENERAL.METERED line per device; "yes" and "guess-yes"
         * (NetworkManager's guess, e.g. a phone's hotspot) count. */
        *metered = false;
        char *save = NULL;
        for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            const char *v = strchr(line, ':');
            if (v && (!strncmp(v + 1, "yes", 3) || !strncmp(v + 1, "guess-yes", 9)))
                *metered = true;
        }
        snprintf(why, cap, "NetworkManager says %s", *metered ? "a connection is metered" : "no connection is metered");
        return OG_OK;
    }
    *metered = false;
    snprintf(why, cap, "nothing says the connection is metered (no OFFGRID_METERED, no NetworkManager)");
    return OG_OK;
}
