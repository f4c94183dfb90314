/*
 * metered.h - whether the device's network connection is metered (a
 * phone's data plan, a hotspot), so that services can hold large
 * downloads. docs/store.md explains the order of the sources.
 */
#ifndef OG_COMMON_METERED_H
#define OG_COMMON_METERED_H

#include <stdbool.h>
#include <stddef.h>

#include "offgrid.h"

/* *metered from $OFFGRID_METERED (anything but "0", "no", "false" is
 * metered), else NetworkManager (nmcli, run without a shell: a device
 * saying "yes" or "guess-yes" counts), else false; why (cap bytes) says
 * which source decided. OG_ERR_ARG when metered or why is NULL. */
og_status og_metered_detect(bool *metered, char *why, size_t cap, og_error *err);

#endif
