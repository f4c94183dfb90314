/*
 * special.c - special tokens and the tokenize / detokenize entry points:
 * finding end-of-turn / end-of-generation tokens by text as llama.cpp
 * does, cutting control and user-defined tokens out of the text before
 * the model's algorithm runs (llama.cpp's tokenizer_st_partition), adding
 * BOS/EOS/CLS/SEP, and rendering a token back to bytes.
 */
#include "tokenizer/vocab_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static og_token find_text(const og_vocab *v, const char *s)
{
    return (og_token)og_hashmap_get(&v->piece_to_id, s, strlen(s));
}

static void mark_control(og_vocab *v, og_token id)
{
    /* A model that forgot to type such a token as control still needs it
     * treated as one (llama.cpp overrides it the same way). */
    if (!(v->tokens[id].attr & OG_ATTR_CONTROL))
        v->tokens[id].attr = OG_ATTR_CONTROL;
}

static int cmp_id(const void *a, const void *b)
{
    og_token x = *(const og_token *)a, y = *(const og_token *)b;
    return (x > y) - (x < y);
}

typedef struct by_len {
    uint32_t len;
    og_token id;
} by_len;

static int cmp_special(const void *a, const void *b)
{
    const by_len *x = a, *y = b;
    if (x->len != y->len)
        return x->len > y->len ? -1 : 1; /* longest first, so longer tokens win */
    return (x->id > y->id) - (x->id < y->id);
}

static bool contains_ci(const char *hay, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++) {
        size_t j = 0;
        while (j < m && tolower((unsigned char)hay[i + j]) == needle[j])
            j++;
        if (j == m)
            return true;
    }
    return false;
}

bool og_vocab_build_special(og_vocab *v, const char *model_name, size_t model_name_len)
{
    /* End of turn, in llama.cpp's order of preference (it takes whichever
     * its hash map yields first; a fixed order keeps us deterministic). */
    static const char *const eot_names[] = {
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>",
        ("<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>"),
    };
    static const char *const eog_names[] = {
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>",
    };
    /* FIM tokens are control tokens; pad/repo/file-separator also end generation. */
    static const char *const fim_names[] = {
        "<|fim_prefix|>", "<fim-prefix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>", "<PRE>",
        "<|fim_suffix|>", "<fim-suffix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "hole\xef\xbd\x9c>", "<SUF>",
        "<|fim_middle|>", "<fim-middle>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>", "<MID>",
    };
    static const char *const fim_eog_names[] = {
        "<|fim_pad|>", "<fim-pad>", "<PAD>", "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
        "<|file_sep|>",
    };
    const size_t n_eot = sizeof eot_names / sizeof *eot_names;
    const size_t n_eog = sizeof eog_names / sizeof *eog_names;
    const size_t n_fim = sizeof fim_names / sizeof *fim_names;
    const size_t n_fim_eog = sizeof fim_eog_names / sizeof *fim_eog_names;

    for (size_t i = 0; v->eot < 0 && i < n_eot; i++) {
        og_token id = find_text(v, eot_names[i]);
        if (id >= 0) {
            v->eot = id;
            mark_control(v, id);
        }
    }
    for (size_t i = 0; i < n_fim; i++) {
        og_token id = find_text(v, fim_names[i]);
        if (id >= 0)
            mark_control(v, id);
    }

    v->eog = malloc((n_eog + n_fim_eog + 3) * sizeof *v->eog);
    if (!v->eog)
        return false;
    int32_t n = 0;
    for (size_t i = 0; i < n_eog + n_fim_eog; i++) {
        og_token id = find_text(v, i < n_eog ? eog_names[i] : fim_eog_names[i - n_eog]);
        if (id >= 0) {
            v->eog[n++] = id;
            mark_control(v, id);
        }
    }
    og_token extra[3] = { v->eos, v->eot, v->eom };
    for (int i = 0; i < 3; i++)
        if (extra[i] >= 0)
            v->eog[n++] = extra[i];
    qsort(v->eog, (size_t)n, sizeof *v->eog, cmp_id);
    int32_t u = 0;
    for (int32_t i = 0; i < n; i++)
        if (u == 0 || v->eog[u - 1] != v->eog[i])
            v->eog[u++] = v->eog[i];
    v->n_eog = u;

    int32_t n_special = 0;
    for (int32_t i = 0; i < v->n_tokens; i++)
        if (v->tokens[i].attr & (OG_ATTR_CONTROL | OG_ATTR_USER_DEFINED | OG_ATTR_UNKNOWN))
            n_special++;
    v->special = malloc(((size_t)n_special + 1) * sizeof *v->special);
    by_len *order = malloc(((size_t)n_special + 1) * sizeof *order);
    if (!v->special || !order) {
        free(order);
        return false;
    }
    v->n_special = 0;
    for (int32_t i = 0; i < v->n_tokens; i++)
        if (v->tokens[i].attr & (OG_ATTR_CONTROL | OG_ATTR_USER_DEFINED | OG_ATTR_UNKNOWN))
            order[v->n_special++] = (by_len){ v->tokens[i].len, i };
    qsort(order, (size_t)v->n_special, sizeof *order, cmp_special);
    for (int32_t i = 0; i < v->n_special; i++)
        v->special[i] = order[i].id;
    free(order);

    /* Phi-3's chat tokens swallow the whitespace after them (llama.cpp
     * sets this by model name, the GGUF does not carry it). */
    if (model_name && (contains_ci(model_name, model_name_len, "phi-3") ||
                       contains_ci(model_name, model_name_len, "phi3"))) {
        for (int32_t i = 0; i < v->n_special; i++)
            v->tokens[v->special[i]].attr |= OG_ATTR_RSTRIP;
        static const char *const keep[] = { "<unk>", "<s>", "<|endoftext|>" };
        og_token id = find_text(v, "</s>");
        if (id >= 0)
            v->tokens[id].attr |= OG_ATTR_RSTRIP;
        for (int i = 0; i < 3; i++)
            if ((id = find_text(v, keep[i])) >= 0)
                v->tokens[id].attr &= ~(uint32_t)OG_ATTR_RSTRIP;
    }
    return true;
}

/* ---------------------------------------------------------- partition */

typedef struct frag {
    og_token token; /* -1: raw text [off, off + len) */
    size_t off, len;
} frag;

typedef struct frags {
    frag *v;
    size_t n, cap;
} frags;

static bool frag_push(frags *f, og_token token, size_t off, size_t len)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        frag *p = realloc(f->v, cap * sizeof *p);
        if (!p)
            return false;
        f->v = p;
        f->cap = cap;
    }
    f->v[f->n++] = (frag){ token, off, len };
    return true;
}

static const char *find_bytes(const char *hay, size_t n, const char *needle, size_t m)
{
    if (m == 0 || m > n)
        return NULL;
    const char *end = hay + n - m;
    for (const char *p = hay; p <= end; p++) {
        p = memchr(p, needle[0], (size_t)(end - p) + 1);
        if (!p)
            return NULL;
        if (memcmp(p, needle, m) == 0)
            return p;
    }
    return NULL;
}

/* Splits the raw fragments of *in at every occurrence of special token id. */
static bool split_on(const og_vocab *v, const char *text, og_token id, frags *in, frags *out)
{
    const og_token_data *td = &v->tokens[id];
    out->n = 0;
    for (size_t i = 0; i < in->n; i++) {
        frag f = in->v[i];
        if (f.token >= 0) {
            if (!frag_push(out, f.token, 0, 0))
                return false;
            continue;
        }
        size_t off = f.off, len = f.len;
        const char *m;
        while (len > 0 && (m = find_bytes(text + off, len, td->text, td->len))) {
            size_t at = (size_t)(m - text);
            size_t left = at - off;
            if (td->attr & OG_ATTR_LSTRIP)
                while (left > 0 && isspace((unsigned char)text[off + left - 1]))
                    left--;
            if (left > 0 && !frag_push(out, -1, off, left))
                return false;
            if (!frag_push(out, id, 0, 0))
                return false;
            len -= at + td->len - off;
            off = at + td->len;
            if (td->attr & OG_ATTR_RSTRIP)
                while (len > 0 && isspace((unsigned char)text[off])) {
                    off++;
                    len--;
                }
        }
        if (len > 0 && !frag_push(out, -1, off, len))
            return false;
    }
    return true;
}

static bool partition(const og_vocab *v, const char *text, size_t len, bool parse_special, frags *f)
{
    frags tmp = { 0 };
    bool ok = frag_push(f, -1, 0, len);
    for (int32_t i = 0; ok && i < v->n_special; i++) {
        og_token id = v->special[i];
        /* Without parse_special only user-defined tokens are cut out
         * (as Hugging Face's added-vocabulary handling does). */
        if (!parse_special && (v->tokens[id].attr & (OG_ATTR_CONTROL | OG_ATTR_UNKNOWN)))
            continue;
        ok = split_on(v, text, id, f, &tmp);
        frags t = *f;
        *f = tmp;
        tmp = t;
    }
    free(tmp.v);
    return ok;
}

/* ----------------------------------------------------------- tokenize */

/* SentencePiece: spaces become U+2581, with one prepended to text that
 * starts the input or follows a special token. */
static bool spm_fragment(const og_vocab *v, const char *s, size_t len, bool prefix, og_toks *out)
{
    char *buf = malloc((len + 1) * 3);
    if (!buf)
        return false;
    size_t n = 0;
    if (prefix) {
        memcpy(buf, "\xe2\x96\x81", 3);
        n = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ') {
            memcpy(buf + n, "\xe2\x96\x81", 3);
            n += 3;
        } else {
            buf[n++] = s[i];
        }
    }
    bool ok = og_spm_tokenize(v, buf, n, out);
    free(buf);
    return ok;
}

static bool run(const og_vocab *v, const char *text, size_t len, bool add_special,
                bool parse_special, og_toks *out)
{
    frags f = { 0 };
    bool ok = len == 0 || partition(v, text, len, parse_special, &f);
    bool bos = add_special && v->bos >= 0 && (v->kind == OG_VOCAB_WPM || v->add_bos);
    if (ok && bos)
        ok = og_vocab_toks_push(out, v->bos);
    bool prev_special = true;
    for (size_t i = 0; ok && i < f.n; i++) {
        if (f.v[i].token >= 0) {
            ok = og_vocab_toks_push(out, f.v[i].token);
            prev_special = true;
            continue;
        }
        const char *s = text + f.v[i].off;
        size_t n = f.v[i].len;
        switch (v->kind) {
        case OG_VOCAB_SPM:
            ok = spm_fragment(v, s, n, v->add_space_prefix && prev_special, out);
            break;
        case OG_VOCAB_BPE:
            ok = og_bpe_tokenize(v, s, n, out);
            break;
        case OG_VOCAB_WPM:
            ok = og_wpm_tokenize(v, s, n, out);
            break;
        }
        prev_special = false;
    }
    if (ok && add_special) {
        if (v->kind == OG_VOCAB_WPM) {
            if (v->sep >= 0)
                ok = og_vocab_toks_push(out, v->sep);
        } else if (v->add_eos && v->eos >= 0) {
            ok = og_vocab_toks_push(out, v->eos);
        }
    }
    free(f.v);
    return ok && !out->oom;
}

int32_t og_vocab_tokenize(const og_vocab *v, const char *text, size_t len,
                          og_token *tokens, int32_t max_tokens,
                          bool add_special, bool parse_special)
{
    if (!v || (!text && len) || max_tokens < 0 || (!tokens && max_tokens > 0))
        return -(int32_t)OG_ERR_ARG;
    if (len > (size_t)INT32_MAX / 4)
        return -(int32_t)OG_ERR_NOMEM; /* token counts must fit the return type */
    og_toks out = { 0 };
    if (!run(v, text ? text : "", len, add_special, parse_special, &out)) {
        free(out.ids);
        return -(int32_t)OG_ERR_NOMEM;
    }
    size_t n = out.n < (size_t)max_tokens ? out.n : (size_t)max_tokens;
    if (n)
        memcpy(tokens, out.ids, n * sizeof *tokens);
    int32_t need = (int32_t)out.n;
    free(out.ids);
    return need;
}

/* ---------------------------------------------------------- detokenize */

static int32_t put(char *buf, int32_t cap, const char *s, size_t n)
{
    if (buf && n <= (size_t)cap)
        memcpy(buf, s, n);
    return (int32_t)n;
}

/* Undoes GPT-2's byte mapping; characters outside it are kept, marked the
 * way llama.cpp marks them. */
static int32_t bpe_piece(const og_token_data *td, char *buf, int32_t cap)
{
    size_t n_cpts = 0, n = 0;
    uint32_t *cpts = og_vocab_utf8_decode(td->text, td->len, &n_cpts);
    if (!cpts)
        return -(int32_t)OG_ERR_NOMEM;
    for (size_t i = 0; i < n_cpts; i++) {
        char tmp[32];
        size_t k;
        int b = og_vocab_cpt_to_byte(cpts[i]);
        if (b >= 0) {
            tmp[0] = (char)b;
            k = 1;
        } else {
            char u8[4];
            size_t nb = og_vocab_utf8_encode(cpts[i], u8);
            k = (size_t)snprintf(tmp, sizeof tmp, "[UNK_BYTE_0x");
            for (size_t j = 0; j < nb; j++)
                k += (size_t)snprintf(tmp + k, sizeof tmp - k, "%02x", (unsigned char)u8[j]);
            tmp[k++] = ']';
            memcpy(tmp + k, u8, nb);
            k += nb;
        }
        if (buf && n + k <= (size_t)cap)
            memcpy(buf + n, tmp, k);
        n += k;
    }
    free(cpts);
    return (int32_t)n;
}

/* SentencePiece/WordPiece text with U+2581 turned back into spaces. */
static int32_t unescape_piece(const og_token_data *td, char *buf, int32_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < td->len;) {
        char c[3];
        size_t k = 1;
        if (i + 3 <= td->len && memcmp(td->text + i, "\xe2\x96\x81", 3) == 0) {
            c[0] = ' ';
            i += 3;
        } else {
            c[0] = td->text[i++];
        }
        if (buf && n + k <= (size_t)cap)
            memcpy(buf + n, c, k);
        n += k;
    }
    return (int32_t)n;
}

int32_t og_vocab_token_to_piece(const og_vocab *v, og_token t, char *buf, int32_t cap, bool special)
{
    if (!v || cap < 0 || (!buf && cap > 0))
        return -(int32_t)OG_ERR_ARG;
    if (t < 0 || t >= v->n_tokens)
        return -(int32_t)OG_ERR_ARG;
    const og_token_data *td = &v->tokens[t];
    if (!special && (td->attr & (OG_ATTR_UNKNOWN | OG_ATTR_CONTROL)))
        return 0;
    if (td->attr & (OG_ATTR_UNKNOWN | OG_ATTR_CONTROL | OG_ATTR_USER_DEFINED))
        return put(buf, cap, td->text, td->len);
    if (v->kind == OG_VOCAB_BPE)
        return (td->attr & OG_ATTR_NORMAL) ? bpe_piece(td, buf, cap) : 0;
    if (td->attr & OG_ATTR_NORMAL)
        return unescape_piece(td, buf, cap);
    if ((td->attr & OG_ATTR_BYTE) && td->len == 6 && memcmp(td->text, "<0x", 3) == 0) {
        char byte = (char)strtol(td->text + 3, NULL, 16);
        return put(buf, cap, &byte, 1);
    }
    return 0;
}
