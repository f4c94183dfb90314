/*
 * ops_avx512.c - AVX-512 versions of row operations of ops.c, computing
 * the same operations in the same order per element (same bits).
 */
#include <string.h>

#include "base/expf_avx512.h"
#include "model/ops.h"

/* silu(g) * u over the whole multiples of 16 of each row; the caller
 * finishes each row's tail with libm's expf, as llama.cpp does. */
void og_ops_swiglu_avx512(float *out, const float *gate, const float *up, int64_t n_rows, int64_t row_len)
{
    const int64_t n_vec = row_len & ~(int64_t)15;
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t r = 0; r < n_rows; r++) {
        const float *g = gate + r * row_len, *u = up + r * row_len;
        float *o = out + r * row_len;
        for (int64_t i = 0; i < n_vec; i += 16) {
            const __m512 gv = _mm512_loadu_ps(g + i);
            const __m512 e = og_expf_poly16(_mm512_sub_ps(_mm512_setzero_ps(), gv));
            _mm512_storeu_ps(o + i, _mm512_mul_ps(_mm512_div_ps(gv, _mm512_add_ps(one, e)), _mm512_loadu_ps(u + i)));
        }
    }
}
