/*
 * device_id.c - og_device_id_load: read dir/device_id, or create it with
 * libsodium's random bytes. link() rather than rename() puts it in place,
 * because link never replaces: the loser of a race reads the winner's id.
 */
#include "common/device_id.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/fsutil.h"

static bool valid_id(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == 32;
}

static og_status read_id(const char *path, char id[33], og_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return og_error_set(err, OG_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    char line[64] = "";
    bool got = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    line[strcspn(line, "\r\n")] = 0;
    if (!got || !valid_id(line))
        return og_error_set(err, OG_ERR_FORMAT, "%s is not 32 lower-case hex digits (delete it for a new id)",
                            path);
    memcpy(id, line, 33);
    return OG_OK;
}

og_status og_device_id_load(const char *dir, const char *tmp_dir, char id[33], og_error *err)
{
    char path[OG_FS_PATH_MAX], tmp[OG_FS_PATH_MAX];
    og_status st = og_fs_path(path, sizeof path, err, "%s/device_id", dir);
    if (st != OG_OK || access(path, F_OK) == 0)
        return st == OG_OK ? read_id(path, id, err) : st;
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    char text[34];
    sodium_bin2hex(text, 33, raw, sizeof raw);
    strcat(text, "\n");
    if ((st = og_fs_path(tmp, sizeof tmp, err, "%s/device_id.%ld", tmp_dir, (long)getpid())) != OG_OK)
        return st;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return og_error_set(err, OG_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    bool ok = write(fd, text, 33) == 33 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (ok && link(tmp, path) != 0 && errno != EEXIST)
        ok = false;
    int saved = errno;
    unlink(tmp);
    if (!ok)
        return og_error_set(err, OG_ERR_IO, "cannot write %s: %s", path, strerror(saved));
    if ((st = og_fs_sync_dir(dir, err)) != OG_OK)
        return st;
    return read_id(path, id, err);
}
