/*
 * chunk.c - the chunker: cuts each page of a document's text into the
 * passages the documents service embeds, indexes and cites (chunk.h).
 *
 * A page is read as sections (each heading starts one), a section as
 * paragraphs (blank lines), a paragraph as sentences; a sentence longer
 * than max_tokens is cut at its line breaks, then between words, and a
 * single word longer than that between UTF-8 characters. Those pieces
 * ("units", each without whitespace at either end, each tokenized exactly
 * once) are then packed into chunks of about target_tokens, never more
 * than max_tokens, ending with a paragraph when one ends past half the
 * target rather than inside the next one. Each chunk but a section's
 * first starts with about overlap_tokens of the chunk before (whole units
 * when they fit, else the last unit's final words). Chunks never cross a
 * section or a page. The sentence rules and character classes are in
 * chunk_sentence.c.
 *
 * A heading's path holds until a heading of its level or above replaces
 * it, across pages too (a section goes on over a page break). A chunk of
 * nothing the encoder reads (control characters only: 0 tokens) is
 * dropped.
 *
 * Why counting units and summing is right: WordPiece (the encoder's
 * tokenizer) ends a word at every whitespace character and makes each
 * punctuation mark and CJK character a word of its own, so the tokens of
 * "A B" are those of "A" followed by those of "B" whenever A and B are
 * separated by whitespace, or the cut falls after a CJK full stop or next
 * to a CJK ideograph. Every cut here is of that kind except inside an
 * over-long word, whose pieces are never packed together. Other tokenizers need not be additive, so
 * each chunk is counted once more, whole, and shrunk (overlap dropped
 * first, then units from its end) until the exact count fits.
 *
 * The chunker owns its unit array (one per call, grown as needed, reused
 * page after page) and the heading stack; the caller owns the result.
 */
#include "docs/chunk.h"
#include "docs/chunk_sentence.h"

#include <stdlib.h>
#include <string.h>

#define MAX_LEVELS 6
/* A heading's text in the path is cut after about this many bytes (at a
 * character): every chunk below it carries a copy. */
#define MAX_HEADING_BYTES 200
/* MiniLM and BERT read 512 positions, two of which are [CLS] and [SEP]. */
#define MAX_MAX_TOKENS 510

og_docs_chunk_params og_docs_default_chunk_params(void)
{
    og_docs_chunk_params p = { 220, 250, 40 };
    return p;
}

/* A piece of a section's text that is never cut further: [bs, be) bytes,
 * [cs, ce) code points, tok tokens exactly. glued: it continues the unit
 * before it with no whitespace between (pieces of one over-long word), so
 * the two may not share a chunk. */
typedef struct unit {
    size_t bs, be;
    int64_t cs, ce;
    int32_t tok;
    bool glued;
    bool para; /* it starts a paragraph (or a heading's text) */
} unit;

typedef struct chunker {
    const og_model *model;
    og_docs_chunk_params p;
    og_error *err;
    /* the page being cut */
    const char *text;
    size_t n;
    int32_t page;
    size_t cur_b; /* a code-point cursor: byte cur_b is code point cur_c */
    int64_t cur_c;
    /* the section being cut */
    unit *u;
    size_t n_u, cap_u;
    /* headings above, by level (owned), and their path (owned, or NULL) */
    char *levels[MAX_LEVELS];
    char *path;
    /* the result */
    og_docs_chunk *out;
    int32_t n_out, cap_out;
} chunker;

/* ------------------------------------------------------------ characters */

static bool space_at(const chunker *c, size_t i, size_t *len)
{
    return og_docs_is_space(og_docs_utf8_at(c->text, c->n, i, len));
}

static size_t char_before(const chunker *c, size_t i)
{
    return og_docs_utf8_before(c->text, i);
}

static void trim(const chunker *c, size_t *bs, size_t *be)
{
    size_t len;
    while (*bs < *be && space_at(c, *bs, &len))
        *bs += len;
    while (*be > *bs) {
        size_t j = char_before(c, *be);
        if (!space_at(c, j, &len))
            break;
        *be = j;
    }
}

/* The code-point offset of byte b; calls come in increasing order within
 * a page, so the cursor only moves forward. */
static int64_t cp_at(chunker *c, size_t b)
{
    c->cur_c += og_docs_code_points(c->text + c->cur_b, b - c->cur_b);
    c->cur_b = b;
    return c->cur_c;
}

/* -------------------------------------------------------------- counting */

static og_status count(chunker *c, size_t bs, size_t be, int32_t *tok)
{
    int32_t n = og_tokenize(c->model, c->text + bs, be - bs, NULL, 0, false, false);
    *tok = 0;
    if (n < 0)
        return og_error_set(c->err, (og_status)-n, "counting the tokens of page %d: %s", c->page + 1,
                            og_status_name((og_status)-n));
    *tok = n;
    return OG_OK;
}

static og_status push_unit(chunker *c, size_t bs, size_t be, int32_t tok, bool glued)
{
    if (c->n_u == c->cap_u) {
        size_t cap = c->cap_u ? c->cap_u * 2 : 256;
        unit *u = realloc(c->u, cap * sizeof *u);
        if (!u)
            return og_error_set(c->err, OG_ERR_NOMEM, "out of memory cutting page %d", c->page + 1);
        c->u = u;
        c->cap_u = cap;
    }
    unit *u = &c->u[c->n_u++];
    u->bs = bs;
    u->be = be;
    u->cs = cp_at(c, bs);
    u->ce = cp_at(c, be);
    u->tok = tok;
    u->glued = glued;
    u->para = false;
    return OG_OK;
}

/* ------------------------------------------------------------ splitting */

/* Bytes a token may take before text counts as too long for its tokens:
 * WordPiece makes one [UNK] of any word over 100 characters, so a blob of
 * megabytes can be a single token; units and word pieces are kept under
 * this many bytes per token of their limit, so no chunk is a megabyte. */
#define BYTES_PER_TOKEN 64

static size_t snap(const chunker *c, size_t b)
{
    while (b > 0 && ((unsigned char)c->text[b] & 0xc0) == 0x80)
        b--;
    return b;
}

/* Where the piece of an over-long word that starts at pos ends: the
 * longest prefix of [pos, be) of at most target_tokens that the search
 * finds (within target_tokens / 16 of it is enough), never more than
 * target_tokens * BYTES_PER_TOKEN bytes, at least one character. Prefixes
 * are measured, never assumed, so the piece fits whatever the tokenizer;
 * guesses interpolate between the prefixes measured (counts grow about
 * linearly with length), so a piece costs a few counts of its own size. */
static og_status piece_end(chunker *c, size_t pos, size_t be, size_t *end, int32_t *end_tok)
{
    const int32_t target = c->p.target_tokens, slack = target / 16;
    const size_t window = (size_t)target * BYTES_PER_TOKEN;
    size_t lim = be - pos > window ? snap(c, pos + window) : be;
    size_t lo = pos, hi = 0, len, guess = pos + (size_t)target * 4; /* about 4 bytes a token */
    int32_t lo_tok = 0, hi_tok = 0, tok;
    og_status s;
    for (int iter = 0; iter < 48; iter++) {
        size_t top = hi ? hi - 1 : lim; /* the longest prefix still possible */
        if (guess > top)
            guess = top;
        guess = snap(c, guess);
        if (guess <= lo) {
            og_docs_utf8_at(c->text, c->n, lo, &len);
            guess = lo + len;
        }
        if (guess > top || (hi && guess >= hi))
            break;
        if ((s = count(c, pos, guess, &tok)) != OG_OK)
            return s;
        if (tok <= target) {
            lo = guess;
            lo_tok = tok;
            if (lo >= lim || lo_tok >= target - slack)
                break;
        } else {
            hi = guess;
            hi_tok = tok;
        }
        size_t span = hi ? hi - lo : 0;
        if (hi) { /* between lo and hi, not in their outer eighths */
            guess = lo + (size_t)((double)span * (target - lo_tok) / (hi_tok - lo_tok));
            if (guess < lo + span / 8)
                guess = lo + span / 8;
            if (guess > hi - span / 8)
                guess = hi - span / 8;
        } else { /* past lo, as far as lo's bytes per token say */
            guess = pos + (size_t)((double)(lo - pos) * target / (lo_tok > 0 ? lo_tok : 1));
            if (guess < lo + (lo - pos) / 4)
                guess = lo + (lo - pos) / 4;
        }
    }
    if (lo == pos) { /* one character always goes, whatever it costs */
        og_docs_utf8_at(c->text, c->n, pos, &len);
        lo = pos + len;
        if ((s = count(c, pos, lo, &lo_tok)) != OG_OK)
            return s;
    }
    *end = lo;
    *end_tok = lo_tok;
    return OG_OK;
}

/* Whether [bs, be) of tok tokens may be one unit. */
static bool fits(const chunker *c, size_t bs, size_t be, int32_t tok)
{
    return tok <= c->p.max_tokens && be - bs <= (size_t)c->p.max_tokens * BYTES_PER_TOKEN;
}

/* A word of more than max_tokens (or bytes for them): pieces as piece_end
 * cuts them, each glued to the one before. */
static og_status split_word(chunker *c, size_t bs, size_t be)
{
    for (size_t pos = bs; pos < be;) {
        size_t end;
        int32_t tok;
        og_status s = piece_end(c, pos, be, &end, &tok);
        if (s == OG_OK)
            s = push_unit(c, pos, end, tok, pos > bs);
        if (s != OG_OK)
            return s;
        pos = end;
    }
    return OG_OK;
}

/* The next whitespace-delimited word at or after *pos in [.., be): false
 * when none is left. */
static bool next_word(const chunker *c, size_t *pos, size_t be, size_t *ws, size_t *we)
{
    size_t i = *pos, len;
    while (i < be && space_at(c, i, &len))
        i += len;
    if (i >= be)
        return false;
    *ws = i;
    while (i < be && !space_at(c, i, &len))
        i += len;
    *we = *pos = i;
    return true;
}

/* Every word of [bs, be) a unit of its own (the rare fallback for a group
 * of words whose exact count came out over the sum of theirs). */
static og_status words_alone(chunker *c, size_t bs, size_t be)
{
    size_t pos = bs, ws, we;
    og_status s;
    while (next_word(c, &pos, be, &ws, &we)) {
        int32_t tok;
        if ((s = count(c, ws, we, &tok)) != OG_OK)
            return s;
        s = fits(c, ws, we, tok) ? push_unit(c, ws, we, tok, false) : split_word(c, ws, we);
        if (s != OG_OK)
            return s;
    }
    return OG_OK;
}

/* A run of words as one unit, counted exactly (for WordPiece the sum of
 * its words' counts). */
static og_status flush_words(chunker *c, size_t bs, size_t be)
{
    int32_t tok;
    og_status s = count(c, bs, be, &tok);
    if (s != OG_OK)
        return s;
    return fits(c, bs, be, tok) ? push_unit(c, bs, be, tok, false) : words_alone(c, bs, be);
}

/* A line of more than max_tokens: runs of whole words of up to
 * target_tokens each (and as many times BYTES_PER_TOKEN bytes). */
static og_status split_words(chunker *c, size_t bs, size_t be)
{
    size_t pos = bs, ws, we, ps = 0, pe = 0;
    int32_t sum = 0;
    bool open = false;
    og_status s;
    while (next_word(c, &pos, be, &ws, &we)) {
        int32_t tok;
        if ((s = count(c, ws, we, &tok)) != OG_OK)
            return s;
        bool whole = fits(c, ws, we, tok);
        if (open && (!whole || sum + tok > c->p.target_tokens ||
                     we - ps > (size_t)c->p.target_tokens * BYTES_PER_TOKEN)) {
            if ((s = flush_words(c, ps, pe)) != OG_OK)
                return s;
            open = false;
        }
        if (!whole) {
            if ((s = split_word(c, ws, we)) != OG_OK)
                return s;
            continue;
        }
        if (!open) {
            ps = ws;
            sum = 0;
            open = true;
        }
        pe = we;
        sum += tok;
    }
    return open ? flush_words(c, ps, pe) : OG_OK;
}

/* A sentence (or heading): one unit when it fits, else its lines, else
 * its words. */
static og_status add_sentence(chunker *c, size_t bs, size_t be, bool by_lines)
{
    int32_t tok;
    og_status s;
    trim(c, &bs, &be);
    if (bs >= be)
        return OG_OK;
    /* text over the byte bound cannot fit: not counted whole (a paragraph
     * of megabytes without a stop would cost its size in memory again) */
    if (be - bs <= (size_t)c->p.max_tokens * BYTES_PER_TOKEN) {
        if ((s = count(c, bs, be, &tok)) != OG_OK)
            return s;
        if (fits(c, bs, be, tok))
            return push_unit(c, bs, be, tok, false);
    }
    const char *nl = by_lines ? memchr(c->text + bs, '\n', be - bs) : NULL;
    if (!nl)
        return split_words(c, bs, be);
    for (size_t ls = bs; ls < be;) {
        const char *e = memchr(c->text + ls, '\n', be - ls);
        size_t le = e ? (size_t)(e - c->text) : be;
        if ((s = add_sentence(c, ls, le, false)) != OG_OK)
            return s;
        ls = le + 1;
    }
    return OG_OK;
}

/* A paragraph's sentences, as og_docs_sentence_end finds them. */
static og_status add_paragraph(chunker *c, size_t bs, size_t be)
{
    size_t first = c->n_u;
    for (size_t start = bs; start < be;) {
        size_t end = og_docs_sentence_end(c->text, start, be);
        og_status s = add_sentence(c, start, end, true);
        if (s != OG_OK)
            return s;
        start = end;
    }
    if (first < c->n_u)
        c->u[first].para = true;
    return OG_OK;
}

/* The paragraphs of [bs, be): runs of lines between blank lines. */
static og_status add_paragraphs(chunker *c, size_t bs, size_t be)
{
    size_t ps = bs, ls = bs;
    og_status s;
    while (ls < be) {
        const char *e = memchr(c->text + ls, '\n', be - ls);
        size_t le = e ? (size_t)(e - c->text) : be;
        size_t ts = ls, te = le;
        trim(c, &ts, &te);
        if (ts == te && ls > ps) { /* a blank line ends the paragraph before it */
            if ((s = add_paragraph(c, ps, ls)) != OG_OK)
                return s;
            ps = le;
        }
        ls = le + 1;
    }
    return ps < be ? add_paragraph(c, ps, be) : OG_OK;
}

/* -------------------------------------------------------------- packing */

static og_status emit(chunker *c, size_t bs, size_t be, int64_t cs, int64_t ce, int32_t tok)
{
    if (c->n_out == c->cap_out) {
        int32_t cap = c->cap_out ? c->cap_out * 2 : 64;
        og_docs_chunk *o = cap > c->cap_out ? realloc(c->out, (size_t)cap * sizeof *o) : NULL;
        if (!o)
            return og_error_set(c->err, OG_ERR_NOMEM, "out of memory: %d chunks", c->n_out);
        c->out = o;
        c->cap_out = cap;
    }
    og_docs_chunk *k = &c->out[c->n_out];
    memset(k, 0, sizeof *k);
    if (c->path && !(k->heading = strdup(c->path)))
        return og_error_set(c->err, OG_ERR_NOMEM, "out of memory");
    k->page_index = c->page;
    k->start = cs;
    k->end = ce;
    k->byte_start = bs;
    k->byte_end = be;
    k->n_tokens = tok;
    c->n_out++;
    return OG_OK;
}

/* Where the chunk that starts with unit i begins: after prev (the first
 * unit the chunk before added), the trailing units of that chunk that fit
 * overlap_tokens, or when not even the last one does, that unit's last
 * words. *ob stays u[i].bs when nothing overlaps. */
static og_status overlap(chunker *c, size_t prev, size_t i, size_t *ob, int64_t *oc, int32_t *otok)
{
    const unit *u = c->u;
    int32_t sum = 0;
    size_t k = i;
    *ob = u[i].bs;
    *oc = u[i].cs;
    *otok = 0;
    if (u[i].glued || c->p.overlap_tokens <= 0)
        return OG_OK;
    while (k > prev + 1 && !u[k].glued && sum + u[k - 1].tok <= c->p.overlap_tokens)
        sum += u[--k].tok;
    if (k < i) {
        *ob = u[k].bs;
        *oc = u[k].cs;
        *otok = sum;
        return OG_OK;
    }
    /* the last unit's final words, back from its end while they fit; a
     * CJK character is a word of its own, as WordPiece reads it */
    const unit *last = &u[i - 1];
    size_t b = last->be, best = last->be, len;
    uint32_t at = 0;
    while (b > last->bs && last->be - b <= (size_t)c->p.overlap_tokens * BYTES_PER_TOKEN) {
        size_t p = char_before(c, b);
        uint32_t before = og_docs_utf8_at(c->text, c->n, p, &len);
        bool word_start = b < last->be && !og_docs_is_space(at) &&
                          (og_docs_is_space(before) || og_docs_is_ideograph(at) || og_docs_is_ideograph(before) || og_docs_is_cjk_stop(before));
        if (word_start) {
            int32_t tok;
            og_status s = count(c, b, last->be, &tok);
            if (s != OG_OK)
                return s;
            if (tok > c->p.overlap_tokens)
                break;
            best = b;
            sum = tok;
        }
        b = p;
        at = before;
    }
    if (best < last->be) {
        *ob = best;
        *oc = last->ce - og_docs_code_points(c->text + best, last->be - best);
        *otok = sum;
    }
    return OG_OK;
}

/* Packs the section's units into chunks (see the top of the file). */
static og_status pack(chunker *c)
{
    const unit *u = c->u;
    const int32_t target = c->p.target_tokens, max = c->p.max_tokens;
    size_t i = 0, prev = 0;
    og_status s;
    while (i < c->n_u) {
        size_t ob;
        int64_t oc;
        int32_t tok;
        if (i == 0) {
            ob = u[0].bs;
            oc = u[0].cs;
            tok = 0;
        } else if ((s = overlap(c, prev, i, &ob, &oc, &tok)) != OG_OK) {
            return s;
        }
        if (tok + u[i].tok > max) { /* the overlap gives way to the new text */
            ob = u[i].bs;
            oc = u[i].cs;
            tok = 0;
        }
        size_t j = i, para = 0;
        tok += u[j++].tok;
        while (j < c->n_u && !u[j].glued) {
            int32_t grown = tok + u[j].tok;
            if (u[j].para && tok >= target / 2)
                para = j; /* the chunk could end with a paragraph here */
            if (grown > max || (grown > target && grown - target >= target - tok))
                break;
            tok = grown;
            j++;
        }
        if (j < c->n_u && !u[j].para && para > i)
            j = para; /* rather than in the middle of the next one */
        int32_t exact;
        for (;;) { /* the exact count of the span, shrunk until it fits */
            if ((s = count(c, ob, u[j - 1].be, &exact)) != OG_OK)
                return s;
            if (exact <= max)
                break;
            if (ob < u[i].bs) {
                ob = u[i].bs;
                oc = u[i].cs;
            } else if (j - 1 > i) {
                j--;
            } else {
                return og_error_set(c->err, OG_ERR_FORMAT, "page %d: a piece counted %d tokens alone and %d again",
                                    c->page + 1, u[i].tok, exact);
            }
        }
        if (exact > 0 && (s = emit(c, ob, u[j - 1].be, oc, u[j - 1].ce, exact)) != OG_OK)
            return s;
        prev = i;
        i = j;
    }
    return OG_OK;
}

/* ------------------------------------------------------------- sections */

static og_status add_section(chunker *c, size_t bs, size_t be, size_t heading_end)
{
    og_status s;
    c->n_u = 0;
    if (heading_end > bs && (s = add_sentence(c, bs, heading_end, true)) != OG_OK)
        return s;
    if ((s = add_paragraphs(c, heading_end > bs ? heading_end : bs, be)) != OG_OK)
        return s;
    return pack(c);
}

/* Puts the heading text[bs, be) at level (1..6), forgetting those below
 * it, and remakes the path "Top > Section > Sub". */
static og_status set_heading(chunker *c, size_t bs, size_t be, int32_t level)
{
    char *h = malloc(be - bs + 1);
    if (!h)
        return og_error_set(c->err, OG_ERR_NOMEM, "out of memory");
    size_t n = 0, len;
    bool gap = false;
    for (size_t i = bs; i < be && n < MAX_HEADING_BYTES; i += len) { /* whitespace runs become one space */
        if (space_at(c, i, &len)) {
            gap = n > 0;
            continue;
        }
        if (gap)
            h[n++] = ' ';
        gap = false;
        memcpy(h + n, c->text + i, len);
        n += len;
    }
    h[n] = '\0';
    for (int l = level - 1; l < MAX_LEVELS; l++) {
        free(c->levels[l]);
        c->levels[l] = NULL;
    }
    c->levels[level - 1] = h;
    size_t total = 0;
    for (int l = 0; l < MAX_LEVELS; l++)
        total += c->levels[l] ? strlen(c->levels[l]) + 3 : 0;
    char *path = malloc(total + 1);
    if (!path)
        return og_error_set(c->err, OG_ERR_NOMEM, "out of memory");
    path[0] = '\0';
    for (int l = 0, k = 0; l < MAX_LEVELS; l++)
        if (c->levels[l]) {
            if (k++)
                strcat(path, " > ");
            strcat(path, c->levels[l]);
        }
    free(c->path);
    c->path = path;
    return OG_OK;
}

/* One page: its headings turned into byte offsets (a heading out of order,
 * outside the page or empty is ignored), each starting a section that runs
 * to the next; the text before the first is under the headings of the
 * pages before. */
static og_status cut_page(chunker *c, const og_docs_page *pg)
{
    og_status s;
    size_t sec = 0, sec_heading = 0, b = 0;
    int64_t cp = 0, prev_end = 0;
    c->text = pg->text ? pg->text : "";
    c->n = pg->text ? pg->n_bytes : 0;
    c->cur_b = 0;
    c->cur_c = 0;
    for (int32_t k = 0; k < pg->n_headings && pg->headings; k++) {
        const og_docs_heading *h = &pg->headings[k];
        size_t len, hb, he;
        if (h->start < prev_end || h->end <= h->start)
            continue;
        while (b < c->n && cp < h->start) {
            og_docs_utf8_at(c->text, c->n, b, &len);
            b += len;
            cp++;
        }
        if (cp < h->start)
            break; /* past the page's end */
        hb = b;
        while (b < c->n && cp < h->end) {
            og_docs_utf8_at(c->text, c->n, b, &len);
            b += len;
            cp++;
        }
        he = b;
        size_t ts = hb, te = he;
        trim(c, &ts, &te);
        if (ts == te)
            continue;
        prev_end = h->end;
        if ((s = add_section(c, sec, hb, sec_heading)) != OG_OK)
            return s;
        int32_t level = h->level < 1 ? 1 : h->level > MAX_LEVELS ? MAX_LEVELS : h->level;
        if ((s = set_heading(c, ts, te, level)) != OG_OK)
            return s;
        sec = hb;
        sec_heading = he;
    }
    return add_section(c, sec, c->n, sec_heading);
}

og_status og_docs_chunk_text(const og_docs_text *t, const og_model *encoder, const og_docs_chunk_params *p,
                             og_docs_chunk **out, int32_t *n_out, og_error *err)
{
    if (out)
        *out = NULL;
    if (n_out)
        *n_out = 0;
    if (!t || !encoder || !out || !n_out || (t->n_pages > 0 && !t->pages) || t->n_pages < 0)
        return og_error_set(err, OG_ERR_ARG, "chunking needs a text, an encoder and somewhere to put the chunks");
    og_docs_chunk_params q = p ? *p : og_docs_default_chunk_params();
    if (q.max_tokens < 1 || q.max_tokens > MAX_MAX_TOKENS)
        return og_error_set(err, OG_ERR_ARG, "chunk max_tokens %d is not in 1..%d (the encoder reads %d with "
                            "[CLS] and [SEP])", q.max_tokens, MAX_MAX_TOKENS, MAX_MAX_TOKENS + 2);
    if (q.target_tokens < 1 || q.target_tokens > q.max_tokens)
        return og_error_set(err, OG_ERR_ARG, "chunk target_tokens %d is not in 1..max_tokens (%d)",
                            q.target_tokens, q.max_tokens);
    if (q.overlap_tokens < 0 || q.overlap_tokens >= q.target_tokens)
        return og_error_set(err, OG_ERR_ARG, "chunk overlap_tokens %d is not in 0..target_tokens-1 (%d)",
                            q.overlap_tokens, q.target_tokens - 1);
    chunker c = { .model = encoder, .p = q, .err = err };
    og_status s = OG_OK;
    for (int32_t i = 0; i < t->n_pages && s == OG_OK; i++) {
        c.page = i;
        s = cut_page(&c, &t->pages[i]);
    }
    free(c.u);
    free(c.path);
    for (int l = 0; l < MAX_LEVELS; l++)
        free(c.levels[l]);
    if (s != OG_OK) {
        og_docs_chunks_free(c.out, c.n_out);
        return s;
    }
    *out = c.out;
    *n_out = c.n_out;
    return OG_OK;
}

void og_docs_chunks_free(og_docs_chunk *c, int32_t n)
{
    for (int32_t i = 0; c && i < n; i++)
        free(c[i].heading);
    free(c);
}
