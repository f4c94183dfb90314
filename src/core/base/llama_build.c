/*
 * llama_build.c - which llama.cpp build's summation order the core
 * reproduces (og_llama_build in numerics.h): OG_LLAMA_BUILD=avx2|avx512,
 * read once, thread-safely; anything else keeps the default, AVX-512.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/numerics.h"

static og_llama_build order = OG_LLAMA_AVX512;
static pthread_once_t order_once = PTHREAD_ONCE_INIT;

static void read_order(void)
{
    const char *v = getenv("OG_LLAMA_BUILD");
    if (v && strcmp(v, "avx2") == 0)
        order = OG_LLAMA_AVX2;
}

og_llama_build og_llama_build_order(void)
{
    pthread_once(&order_once, read_order);
    return order;
}
