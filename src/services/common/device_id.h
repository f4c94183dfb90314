/*
 * device_id.h - a stable, random id for this device (128 bits as 32
 * lower-case hex digits), kept in a file so that every run and every
 * service sees the same one: staged rollouts place the device in a
 * cohort by it. It identifies nothing about the user or the hardware.
 */
#ifndef OG_COMMON_DEVICE_ID_H
#define OG_COMMON_DEVICE_ID_H

#include "offgrid.h"

/* The id kept in dir/device_id into id (NUL-terminated). When the file is
 * missing it is created atomically: written whole under tmp_dir (same
 * file system as dir), fsync'd, then linked into place, so two processes
 * racing agree on the first id. OG_ERR_FORMAT when the file holds
 * something else (deleting it makes a new id), OG_ERR_IO, OG_ERR_ARG for
 * paths too long. Needs sodium_init() to have run. */
og_status og_device_id_load(const char *dir, const char *tmp_dir, char id[33], og_error *err);

#endif
