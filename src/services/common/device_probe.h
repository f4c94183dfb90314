/*
 * device_probe.h - what the device a service runs on offers: RAM (total
 * and available), online cores, the CPU's SIMD features, the free space
 * of a folder. Read, never assumed: a figure that cannot be read is 0
 * ("unknown"), and callers then do not check against it.
 */
#ifndef OG_COMMON_DEVICE_PROBE_H
#define OG_COMMON_DEVICE_PROBE_H

#include <stddef.h>
#include <stdint.h>

#include "offgrid.h"

/* Total and available RAM in bytes, from /proc/meminfo (MemTotal;
 * MemAvailable, else MemFree), else sysconf; 0 when unknown. */
void og_device_ram(uint64_t *total, uint64_t *available);

/* Online cores (at least 1). */
int32_t og_device_cores(void);

/* The SIMD features the kernels care about, space-separated ("sse4.2 avx
 * avx2 fma avx512f"), or "none", into buf (NUL-terminated, truncated to
 * cap). The kernels' own choice is og_cpu_isa(). */
void og_device_simd(char *buf, size_t cap);

/* Bytes an unprivileged process may still write in the file system of
 * dir (statvfs). OG_ERR_IO when it cannot be read. */
og_status og_device_free_disk(const char *dir, uint64_t *bytes, og_error *err);

#endif
