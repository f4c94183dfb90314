/*
 * device.c - what the store knows of the device it runs on: RAM (total
 * and available), cores, SIMD features, free disk; the one fit check that
 * pull, recommend and loading an installed model share; whether the
 * network is metered; and the device id that places this device in a
 * staged rollout's cohort. Everything here is read, never assumed: an
 * unreadable figure is 0 ("unknown") and is then not checked.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "offgrid.h"
#include "store/store.h"

extern char **environ;

/* A "Key:  N kB" line of /proc/meminfo, in bytes (0 when absent). */
static uint64_t meminfo(const char *text, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, key, klen) && p[klen] == ':')
            return strtoull(p + klen + 1, NULL, 10) * 1024u;
    return 0;
}

static void read_ram(uint64_t *total, uint64_t *available)
{
    *total = *available = 0;
    char buf[8192];
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        *total = meminfo(buf, "MemTotal");
        /* MemAvailable (Linux 3.14+) counts reclaimable cache; without it
         * MemFree is the cautious figure. */
        *available = meminfo(buf, "MemAvailable");
        if (!*available)
            *available = meminfo(buf, "MemFree");
    }
    if (!*total) {
        long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
        *total = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
    }
    if (!*available) {
        long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
        *available = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
    }
}

static void append(char *buf, size_t cap, const char *word)
{
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, "%s%s", n ? " " : "", word);
}

/* The features the kernels care about, for the report (the kernels'
 * own choice, which also honours OG_ISA, is isa). */
static void simd_features(char *buf, size_t cap)
{
    buf[0] = 0;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2"))
        append(buf, cap, "sse4.2");
    if (__builtin_cpu_supports("avx"))
        append(buf, cap, "avx");
    if (__builtin_cpu_supports("avx2"))
        append(buf, cap, "avx2");
    if (__builtin_cpu_supports("fma"))
        append(buf, cap, "fma");
    if (__builtin_cpu_supports("avx512f"))
        append(buf, cap, "avx512f");
    if (__builtin_cpu_supports("avx512bw"))
        append(buf, cap, "avx512bw");
    if (__builtin_cpu_supports("avx512vnni"))
        append(buf, cap, "avx512vnni");
#elif defined(__aarch64__)
    append(buf, cap, "neon");
#endif
    if (!buf[0])
        snprintf(buf, cap, "none");
}

og_status og_store_probe_device(const char *dir, og_store_device *out, og_error *err)
{
    if (!out)
        return og_error_set(err, OG_ERR_ARG, "og_store_probe_device: out is required");
    memset(out, 0, sizeof *out);
    read_ram(&out->ram_total, &out->ram_available);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    out->cores = cores > 0 ? (int32_t)cores : 1;
    simd_features(out->simd, sizeof out->simd);
    snprintf(out->isa, sizeof out->isa, "%s", og_cpu_isa());
    if (dir) {
        struct statvfs vfs;
        if (statvfs(dir, &vfs) != 0)
            return og_error_set(err, OG_ERR_IO, "cannot read the free space of %s: %s", dir, strerror(errno));
        out->free_disk = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    }
    return OG_OK;
}

og_status og_store_check_fit(const og_store_device *d, const char *what, uint64_t ram_bytes, uint64_t disk_bytes,
                             og_error *err)
{
    const double mib = 1024.0 * 1024.0;
    if (disk_bytes && d->free_disk && disk_bytes > d->free_disk)
        return og_error_set(err, OG_ERR_NOMEM, "%s needs %.1f MiB of disk but only %.1f MiB is free", what,
                            disk_bytes / mib, d->free_disk / mib);
    if (ram_bytes && d->ram_total && ram_bytes > d->ram_total)
        return og_error_set(err, OG_ERR_NOMEM, "%s needs %.1f MiB of RAM but this device has %.1f MiB in all", what,
                            ram_bytes / mib, d->ram_total / mib);
    uint64_t budget = d->ram_available / 100 * OG_STORE_RAM_HEADROOM_PERCENT;
    if (ram_bytes && d->ram_available && ram_bytes > budget)
        return og_error_set(err, OG_ERR_NOMEM,
                            "%s needs %.1f MiB of RAM but %d%% of the %.1f MiB available is %.1f MiB (the rest is "
                            "headroom)",
                            what, ram_bytes / mib, OG_STORE_RAM_HEADROOM_PERCENT, d->ram_available / mib,
                            budget / mib);
    return OG_OK;
}

/* ---------------------------------------------------------- device id */

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

og_status og_store_device_id(og_store *s, char id[33], og_error *err)
{
    char path[OG_STORE_PATH_MAX], tmp[OG_STORE_PATH_MAX];
    og_status st = og_store_path(path, sizeof path, err, "%s/device_id", s->home);
    if (st != OG_OK || access(path, F_OK) == 0)
        return st == OG_OK ? read_id(path, id, err) : st;
    /* Written whole under a unique name, then link()ed into place: link
     * never replaces, so two processes racing agree on the first id. */
    unsigned char raw[16];
    randombytes_buf(raw, sizeof raw);
    char text[34];
    sodium_bin2hex(text, 33, raw, sizeof raw);
    strcat(text, "\n");
    if ((st = og_store_path(tmp, sizeof tmp, err, "%s/tmp/device_id.%ld", s->home, (long)getpid())) != OG_OK)
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
    if ((st = og_blob_sync_dir(s->home, err)) != OG_OK)
        return st;
    return read_id(path, id, err);
}

int og_rollout_cohort(const char *device_id, const char *name, const char *version, const char *salt)
{
    /* BLAKE2b, so every platform and build puts a device in the same
     * cohort; name and version are in it so cohorts differ per release. */
    crypto_generichash_state h;
    unsigned char out[16];
    crypto_generichash_init(&h, NULL, 0, sizeof out);
    const char *parts[4] = { device_id, name, version, salt ? salt : "" };
    for (int i = 0; i < 4; i++)
        crypto_generichash_update(&h, (const unsigned char *)parts[i], strlen(parts[i]) + 1); /* with the NUL */
    crypto_generichash_final(&h, out, sizeof out);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | out[i];
    return (int)(v % 100);
}

/* ------------------------------------------------------------ metered */

/* Runs `nmcli -t -f GENERAL.METERED dev show` (no shell) and reads its
 * output; false when nmcli is missing or fails. */
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

og_status og_store_metered(bool *metered, char *why, size_t cap, og_error *err)
{
    if (!metered || !why)
        return og_error_set(err, OG_ERR_ARG, "og_store_metered: metered and why are required");
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
