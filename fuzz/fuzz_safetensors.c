/*
 * fuzz_safetensors.c - libFuzzer target for the safetensors reader: any
 * byte string must parse or fail cleanly, and every tensor of what parses
 * must be safe to read, first and last element included.
 */
#include <stdint.h>
#include <stddef.h>

#include "convert/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    og_error err;
    og_st_file *f;
    if (og_st_open_memory(data, size, &f, &err) != OG_OK)
        return 0;
    volatile float sink = 0;
    for (size_t i = 0; i < og_st_n_tensors(f); i++) {
        const og_st_tensor *t = og_st_tensor_at(f, i);
        float v[2];
        sink += (float)t->name[0];
        if (t->n_elements && og_st_read_f32(t, 0, 1, v, &err) == OG_OK &&
            og_st_read_f32(t, t->n_elements - 1, 1, v + 1, &err) == OG_OK)
            sink += v[0] + v[1];
        if (og_st_find(f, t->name) == NULL)
            __builtin_trap();
    }
    sink += og_st_metadata(f, "format") != NULL;
    (void)sink;
    og_st_close(f);
    return 0;
}
