/*
 * device_probe.c - reading the device's figures (device_probe.h) from
 * /proc/meminfo, sysconf, the CPU's feature bits and statvfs. Owns no
 * state: each call measures again, since available RAM and free disk
 * change while a service runs.
 */
#include "common/device_probe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* A "Key:  N kB" line of /proc/meminfo, in bytes (0 when absent). */
static uint64_t meminfo(const char *text, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, key, klen) && p[klen] == ':')
            return strtoull(p + klen + 1, NULL, 10) * 1024u;
    return 0;
}

/* pages * page size from sysconf, 0 when either is unknown. */
static uint64_t sysconf_bytes(int name)
{
    long pages = sysconf(name), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
}

void og_device_ram(uint64_t *total, uint64_t *available)
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
    if (!*total)
        *total = sysconf_bytes(_SC_PHYS_PAGES);
    if (!*available)
        *available = sysconf_bytes(_SC_AVPHYS_PAGES);
}

int32_t og_device_cores(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (int32_t)cores : 1;
}

static void append(char *buf, size_t cap, const char *word)
{
    size_t n = strlen(buf);
    snprintf(buf + n, cap - n, "%s%s", n ? " " : "", word);
}

void og_device_simd(char *buf, size_t cap)
{
    buf[0] = 0;
#if defined(__x86_64__)
    static const char *const features[] = { "sse4.2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vnni" };
    __builtin_cpu_init();
    /* __builtin_cpu_supports wants a literal, hence one call per name. */
    const int has[] = {
        __builtin_cpu_supports("sse4.2"),  __builtin_cpu_supports("avx"),      __builtin_cpu_supports("avx2"),
        __builtin_cpu_supports("fma"),     __builtin_cpu_supports("avx512f"),  __builtin_cpu_supports("avx512bw"),
        __builtin_cpu_supports("avx512vnni"),
    };
    for (size_t i = 0; i < sizeof features / sizeof features[0]; i++)
        if (has[i])
            append(buf, cap, features[i]);
#elif defined(__aarch64__)
    append(buf, cap, "neon");
#endif
    if (!buf[0])
        snprintf(buf, cap, "none");
}

og_status og_device_free_disk(const char *dir, uint64_t *bytes, og_error *err)
{
    struct statvfs vfs;
    *bytes = 0;
    if (statvfs(dir, &vfs) != 0)
        return og_error_set(err, OG_ERR_IO, "cannot read the free space of %s: %s", dir, strerror(errno));
    *bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    return OG_OK;
}
