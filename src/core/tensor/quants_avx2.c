/*
 * quants_avx2.c - the AVX2+FMA+F16C kernel table: the shared x86 kernels
 * of quants_x86.h built for this ISA (int8 dots through maddubs).
 */
#include "tensor/quants_x86.h"

void og_avx2_install(og_kernels *k)
{
    x86_install_common(k);
    k->matmul_f32 = og_matmul_f32_avx2;
    k->softmax_f32 = og_softmax_f32_avx2;
    k->gelu_erf_f32 = og_gelu_erf_f32_avx2;
}
