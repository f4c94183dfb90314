/*
 * types.h - tensor element types with ggml's numbering and block layouts.
 *
 * A quantized row of n elements is n / block_size blocks of type_size
 * bytes each. The numbering is the one GGUF files store.
 */
#ifndef OG_TENSOR_TYPES_H
#define OG_TENSOR_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum og_type {
    OG_TYPE_F32 = 0,
    OG_TYPE_F16 = 1,
    OG_TYPE_Q4_0 = 2,
    OG_TYPE_Q4_1 = 3,
    OG_TYPE_Q5_0 = 6,
    OG_TYPE_Q5_1 = 7,
    OG_TYPE_Q8_0 = 8,
    OG_TYPE_Q8_1 = 9,
    OG_TYPE_Q2_K = 10,
    OG_TYPE_Q3_K = 11,
    OG_TYPE_Q4_K = 12,
    OG_TYPE_Q5_K = 13,
    OG_TYPE_Q6_K = 14,
    OG_TYPE_Q8_K = 15,
    OG_TYPE_BF16 = 30,
    OG_TYPE_COUNT = 40, /* upper bound of the ids GGUF may carry */
    /* Internal, never in a file (og_type_traits_of does not know them):
     * weights repacked by the model loader (tensor/packed.h). */
    OG_TYPE_Q4_0_X16 = OG_TYPE_COUNT,
    OG_TYPE_Q4_1_X16,
    OG_TYPE_Q8_0_X16,
    /* Activations of the packed Q8_0 kernels: Q8_0 with a float scale and
     * codes stored as q + 128 (blocks.h, og_block_q8_0u). */
    OG_TYPE_Q8_0U,
    /* Activations of the x86 K gemm for prompts: Q8_K of eight tokens
     * interleaved (blocks.h, og_block_q8_K_x8; not a row type). */
    OG_TYPE_Q8_K_X8,
    OG_KERNEL_TYPES /* size of the kernel tables */
} og_type;

#define OG_QK 32    /* elements per block of the 32-wide formats */
#define OG_QK_K 256 /* elements per super-block of the K formats */

typedef struct og_type_traits {
    const char *name;     /* ggml's name, e.g. "Q4_1"; NULL when unknown */
    int32_t block_size;   /* elements per block */
    int32_t type_size;    /* bytes per block */
    bool supported;       /* this build can compute with it as weights */
} og_type_traits;

/* Traits of a type id as read from a file; unknown ids return a record
 * with name NULL and supported false. */
const og_type_traits *og_type_traits_of(uint32_t type);

/* ggml's name of a type id, e.g. "Q4_1"; "unknown" for ids it lacks. */
const char *og_type_name(uint32_t type);

/* Bytes of a row of n elements (of a file's type or OG_TYPE_Q8_0U); 0 when
 * n is not a multiple of the block. */
size_t og_type_row_bytes(og_type type, int64_t n);

#endif
