/*
 * mapfile.h - mapping a whole regular file read-only into memory, with
 * errors that name the path. Shared by the readers of model files.
 */
#ifndef OG_BASE_MAPFILE_H
#define OG_BASE_MAPFILE_H

#include <stddef.h>

#include "offgrid.h"

/* Maps path read-only. what names the expected format for the error on an
 * empty file ("a GGUF model"). On success *data and *size describe the
 * mapping; release it with og_unmap_file. */
og_status og_map_file(const char *path, const char *what, const void **data, size_t *size, og_error *err);
void og_unmap_file(const void *data, size_t size);

/* A zeroed, page-aligned anonymous mapping of size bytes, asking for
 * transparent huge pages where the system has them; NULL when out of
 * memory. Release it with og_unmap_buffer(p, size). */
void *og_map_buffer(size_t size);
void og_unmap_buffer(void *data, size_t size);

#endif
