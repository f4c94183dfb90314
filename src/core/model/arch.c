/*
 * arch.c - the table of architectures: the one place that lists them.
 * Owns nothing.
 */
#include "model/arch.h"

#include <stdio.h>
#include <string.h>

static const og_arch *const table[] = {
    &og_arch_llama,
    &og_arch_qwen2,
    &og_arch_bert,
};

const og_arch *og_arch_find(const char *name)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i]->name, name) == 0)
            return table[i];
    return NULL;
}

const char *og_arch_names(char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        int n = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", table[i]->name);
        if (n < 0 || (size_t)n >= cap - used) {
            buf[used] = 0; /* cut between names, not inside one */
            break;
        }
        used += (size_t)n;
    }
    return buf;
}
