/*
 * device.c - the store's view of the device it runs on: the probe
 * (og_store_probe_device, from services/common's device_probe), the
 * testing figures a store handle may pretend (og_store_test_control,
 * og_store_probe), the one fit check pull, recommend and loading an
 * installed model share, and the device id and metered connection as the
 * store's public API names them, with the rollout cohort computed from
 * the id. An unreadable figure is 0 ("unknown") and is then not checked.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/device_id.h"
#include "common/device_probe.h"
#include "common/metered.h"
#include "offgrid.h"
#include "store/store.h"

og_status og_store_probe_device(const char *dir, og_store_device *out, og_error *err)
{
    if (!out)
        return og_error_set(err, OG_ERR_ARG, "og_store_probe_device: out is required");
    memset(out, 0, sizeof *out);
    og_device_ram(&out->ram_total, &out->ram_available);
    out->cores = og_device_cores();
    og_device_simd(out->simd, sizeof out->simd);
    snprintf(out->isa, sizeof out->isa, "%s", og_cpu_isa());
    return dir ? og_device_free_disk(dir, &out->free_disk, err) : OG_OK;
}

og_status og_store_test_control(og_store *s, og_store_test_op op, uint64_t value, og_error *err)
{
    if (!s)
        return og_error_set(err, OG_ERR_ARG, "og_store_test_control: store is required");
    if (op < OG_STORE_TEST_FREE_DISK || op > OG_STORE_TEST_RAM_AVAILABLE)
        return og_error_set(err, OG_ERR_ARG, "og_store_test_control: unknown op %d", (int)op);
    s->pretend[op] = value;
    return OG_OK;
}

void og_store_apply_test_control(const og_store *s, og_store_device *d)
{
    const uint64_t *p = s->pretend;
    if (p[OG_STORE_TEST_FREE_DISK])
        d->free_disk = p[OG_STORE_TEST_FREE_DISK];
    if (p[OG_STORE_TEST_RAM_TOTAL]) {
        d->ram_total = p[OG_STORE_TEST_RAM_TOTAL];
        if (d->ram_available > d->ram_total) /* a smaller device has less free too */
            d->ram_available = d->ram_total;
    }
    if (p[OG_STORE_TEST_RAM_AVAILABLE])
        d->ram_available = p[OG_STORE_TEST_RAM_AVAILABLE];
}

og_status og_store_probe(og_store *s, og_store_device *out, og_error *err)
{
    if (!s || !out)
        return og_error_set(err, OG_ERR_ARG, "og_store_probe: store and out are required");
    og_status st = og_store_probe_device(s->home, out, err);
    if (st == OG_OK)
        og_store_apply_test_control(s, out);
    return st;
}

og_status og_store_check_fit(const og_store_device *d, const char *what, uint64_t ram_bytes, uint64_t disk_bytes,
                             og_error *err)
{
    const double mib = 1024.0 * 1024.0;
    if (disk_bytes && d->free_disk && disk_bytes > d->free_disk)
        return og_error_set(err, OG_ERR_NO_SPACE, "%s needs %.1f MiB of disk but only %.1f MiB is free", what,
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

og_status og_store_device_id(og_store *s, char id[33], og_error *err)
{
    if (!s || !id)
        return og_error_set(err, OG_ERR_ARG, "og_store_device_id: store and id are required");
    char tmp[OG_STORE_PATH_MAX];
    og_status st = og_fs_path(tmp, sizeof tmp, err, "%s/tmp", s->home);
    return st == OG_OK ? og_device_id_load(s->home, tmp, id, err) : st;
}

og_status og_store_metered(bool *metered, char *why, size_t cap, og_error *err)
{
    if (!metered || !why)
        return og_error_set(err, OG_ERR_ARG, "og_store_metered: metered and why are required");
    return og_metered_detect(metered, why, cap, err);
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
