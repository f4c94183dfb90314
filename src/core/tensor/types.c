/*
 * types.c - the table of tensor types: names, block sizes and bytes per
 * block, identical to ggml's so GGUF files map without conversion.
 */
#include "tensor/types.h"

static const og_type_traits traits[OG_TYPE_COUNT] = {
    [OG_TYPE_F32]  = { "F32",  1,   4,   true },
    [OG_TYPE_F16]  = { "F16",  1,   2,   true },
    [OG_TYPE_Q4_0] = { "Q4_0", 32,  18,  true },
    [OG_TYPE_Q4_1] = { "Q4_1", 32,  20,  true },
    [OG_TYPE_Q5_0] = { "Q5_0", 32,  22,  true },
    [OG_TYPE_Q5_1] = { "Q5_1", 32,  24,  true },
    [OG_TYPE_Q8_0] = { "Q8_0", 32,  34,  true },
    [OG_TYPE_Q8_1] = { "Q8_1", 32,  36,  false },
    [OG_TYPE_Q2_K] = { "Q2_K", 256, 84,  true },
    [OG_TYPE_Q3_K] = { "Q3_K", 256, 110, true },
    [OG_TYPE_Q4_K] = { "Q4_K", 256, 144, true },
    [OG_TYPE_Q5_K] = { "Q5_K", 256, 176, true },
    [OG_TYPE_Q6_K] = { "Q6_K", 256, 210, true },
    [OG_TYPE_Q8_K] = { "Q8_K", 256, 292, false },
    [16] = { "IQ2_XXS", 256, 66, false },
    [17] = { "IQ2_XS", 256, 74, false },
    [18] = { "IQ3_XXS", 256, 98, false },
    [19] = { "IQ1_S", 256, 50, false },
    [20] = { "IQ4_NL", 32, 18, false },
    [21] = { "IQ3_S", 256, 110, false },
    [22] = { "IQ2_S", 256, 82, false },
    [23] = { "IQ4_XS", 256, 136, false },
    [24] = { "I8", 1, 1, false },
    [25] = { "I16", 1, 2, false },
    [26] = { "I32", 1, 4, false },
    [27] = { "I64", 1, 8, false },
    [28] = { "F64", 1, 8, false },
    [29] = { "IQ1_M", 256, 56, false },
    [OG_TYPE_BF16] = { "BF16", 1, 2, true },
    [34] = { "TQ1_0", 256, 54, false },
    [35] = { "TQ2_0", 256, 66, false },
    [39] = { "MXFP4", 32, 17, false },
};

static const og_type_traits unknown = { 0, 0, 0, false };
/* The internal activation type: rows of it are sized like any other. */
static const og_type_traits q8_0u = { "Q8_0U", 32, 36, false };

const og_type_traits *og_type_traits_of(uint32_t type)
{
    if (type >= OG_TYPE_COUNT || !traits[type].name)
        return &unknown;
    return &traits[type];
}

const char *og_type_name(uint32_t type)
{
    const og_type_traits *t = og_type_traits_of(type);
    return t->name ? t->name : "unknown";
}

size_t og_type_row_bytes(og_type type, int64_t n)
{
    const og_type_traits *t = type == OG_TYPE_Q8_0U ? &q8_0u : og_type_traits_of((uint32_t)type);
    if (!t->block_size || n < 0 || n % t->block_size)
        return 0;
    return (size_t)(n / t->block_size) * (size_t)t->type_size;
}
