/*
 * dispatch.c - owns the kernel tables: builds the scalar table and one per
 * SIMD level this CPU runs, once and thread-safely, then hands out const
 * pointers. OG_ISA (scalar|avx2|avx512|neon) caps what og_kernels_best
 * returns, for debugging and for comparing paths.
 */
#include <pthread.h>
#include <stdbool.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <stdlib.h>
#include <string.h>

#include "offgrid.h"
#include "tensor/kernels_impl.h"

enum { LEVEL_SCALAR, LEVEL_AVX2, LEVEL_AVX512, LEVEL_NEON, LEVEL_COUNT };

static const char *const level_names[LEVEL_COUNT] = { "scalar", "avx2", "avx512", "neon" };

/* Written only inside init_tables (under pthread_once), read-only after. */
static og_kernels tables[LEVEL_COUNT];
static int available[LEVEL_COUNT];
static int best_level;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

og_type og_vec_dot_type(og_type weight_type)
{
    switch (weight_type) {
    case OG_TYPE_Q4_0:
    case OG_TYPE_Q4_0_X16:
    case OG_TYPE_Q5_0:
    case OG_TYPE_Q8_0:
        return OG_TYPE_Q8_0;
    case OG_TYPE_Q8_0_X16:
        return OG_TYPE_Q8_0U;
    case OG_TYPE_Q4_1:
    case OG_TYPE_Q5_1:
    case OG_TYPE_Q8_1:
    case OG_TYPE_Q4_1_X16:
        return OG_TYPE_Q8_1;
    case OG_TYPE_Q2_K:
    case OG_TYPE_Q3_K:
    case OG_TYPE_Q4_K:
    case OG_TYPE_Q5_K:
    case OG_TYPE_Q6_K:
    case OG_TYPE_Q8_K:
        return OG_TYPE_Q8_K;
    case OG_TYPE_F16:
        return OG_TYPE_F16;
    case OG_TYPE_BF16:
        return OG_TYPE_BF16;
    default:
        /* F32, and types without kernels (their vec_dot entry is NULL). */
        return OG_TYPE_F32;
    }
}

static int level_by_name(const char *name)
{
    for (int l = 0; l < LEVEL_COUNT; l++)
        if (strcmp(name, level_names[l]) == 0)
            return l;
    return -1;
}

/* Builds a table as a copy of a lower level's plus this ISA's overrides. */
static void derive(int level, int from, void (*install)(og_kernels *))
{
    tables[level] = tables[from];
    tables[level].isa = level_names[level];
    install(&tables[level]);
    available[level] = 1;
}

#if defined(__x86_64__)
/* clang's __builtin_cpu_supports does not know "f16c"; ask cpuid. */
static bool cpu_has_f16c(void)
{
    unsigned eax, ebx, ecx, edx;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C);
}
#endif

static void init_tables(void)
{
    og_kernels *scalar = &tables[LEVEL_SCALAR];
    memset(scalar, 0, sizeof(*scalar));
    scalar->isa = level_names[LEVEL_SCALAR];
    og_ref_install(scalar);
    og_ref_k_install(scalar);
    scalar->matmul_f32 = og_matmul_f32_ref;
    scalar->softmax_f32 = og_softmax_f32_ref;
    scalar->gelu_erf_f32 = og_gelu_erf_f32_ref;
    available[LEVEL_SCALAR] = 1;
    best_level = LEVEL_SCALAR;

#if defined(__x86_64__)
    __builtin_cpu_init();
    /* Every flag the SIMD files are compiled with must be present. */
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c() &&
        __builtin_cpu_supports("bmi2")) {
        derive(LEVEL_AVX2, LEVEL_SCALAR, og_avx2_install);
        best_level = LEVEL_AVX2;
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
            __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512vnni")) {
            derive(LEVEL_AVX512, LEVEL_AVX2, og_avx512_install);
            best_level = LEVEL_AVX512;
        }
    }
#elif defined(__aarch64__)
    /* Advanced SIMD is part of the aarch64 baseline. */
    derive(LEVEL_NEON, LEVEL_SCALAR, og_neon_install);
    best_level = LEVEL_NEON;
#endif

    const char *cap = getenv("OG_ISA");
    const int cap_level = cap ? level_by_name(cap) : -1;
    if (cap_level == LEVEL_SCALAR)
        best_level = LEVEL_SCALAR;
    else if (cap_level == LEVEL_AVX2 && best_level == LEVEL_AVX512)
        best_level = LEVEL_AVX2;
}

const og_kernels *og_kernels_scalar(void)
{
    pthread_once(&tables_once, init_tables);
    return &tables[LEVEL_SCALAR];
}

const og_kernels *og_kernels_best(void)
{
    pthread_once(&tables_once, init_tables);
    return &tables[best_level];
}

const og_kernels *og_kernels_for(const char *isa)
{
    pthread_once(&tables_once, init_tables);
    const int level = isa ? level_by_name(isa) : -1;
    return level >= 0 && available[level] ? &tables[level] : NULL;
}

const char *og_cpu_isa(void)
{
    return og_kernels_best()->isa;
}
