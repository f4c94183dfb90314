/*
 * test_bert.c - the BERT encoder against PyTorch: all-MiniLM-L6-v2 (F32
 * GGUF in models/) embeds the texts of fixtures/minilm_sentences.txt
 * within cosine 0.9999 of sentence-transformers' vectors
 * (fixtures/minilm_ref.f32le, made by fixtures/make_minilm_ref.py): every
 * text from the token ids PyTorch was fed (fixtures/minilm_ref_tokens.txt),
 * and every text our WordPiece tokenizes as HF does from the text itself;
 * with the same result for 1 or 2 threads, one batch or many, one text per
 * call or all at once. The same model rewritten with F16 and Q8_0
 * matrices stays close to the F32 one, and with a made-up classification
 * head (fixtures/make_classifier_ref.py; no published BERT classifier is
 * at hand) gives PyTorch's logits and, with the GGUF's temperature, its
 * probabilities within 1e-4. Also: the API's errors, and cosine top-k on
 * every kernel table against the scalar one.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "gguf/writer.h"
#include "offgrid.h"
#include "offgrid_transform.h"
#include "tensor/kernels.h"
#include "tensor/similarity.h"
#include "testlib.h"

#define FIXTURE(name) OG_TEST_DATA "/../fixtures/" name
#define DIM 384
#define MODEL_PATH OG_MODELS_DIR "/all-MiniLM-L6-v2.f32.gguf"

typedef struct texts {
    char *buf;
    const char **ptr;
    size_t *len;
    int32_t n;
} texts;

/* One text per line, as offgrid embed -f reads them. */
static bool read_texts(const char *path, texts *t)
{
    size_t size;
    memset(t, 0, sizeof *t);
    if (!(t->buf = og_test_read_file(path, &size)))
        return false;
    size_t lines = 0;
    for (size_t i = 0; i < size; i++)
        lines += t->buf[i] == '\n';
    t->ptr = malloc(lines * sizeof *t->ptr);
    t->len = malloc(lines * sizeof *t->len);
    for (size_t start = 0, i = 0; i < size; i++)
        if (t->buf[i] == '\n') {
            t->ptr[t->n] = t->buf + start;
            t->len[t->n++] = i - start;
            start = i + 1;
        }
    return true;
}

static og_encoder *new_encoder(og_model *m, int32_t n_threads, int32_t n_batch)
{
    og_encoder_params ep = og_encoder_default_params();
    ep.n_threads = n_threads;
    ep.n_batch = n_batch;
    ep.max_tokens = 0; /* the model's own: 256, sentence-transformers' max_seq_length */
    og_encoder *enc = NULL;
    og_error err = { 0 };
    CHECK(og_encoder_new(m, &ep, &enc, &err) == OG_OK, "encoder: %s", err.message);
    return enc;
}

static double cosine(const float *a, const float *b, int n)
{
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / sqrt(aa * bb);
}

/* The ids of fixtures/minilm_ref_tokens.txt, one sequence per line. */
static bool read_ids(int32_t n, og_token ***ids, int32_t **n_ids)
{
    size_t size;
    char *buf = og_test_read_file(FIXTURE("minilm_ref_tokens.txt"), &size);
    if (!buf)
        return false;
    *ids = calloc((size_t)n, sizeof **ids);
    *n_ids = calloc((size_t)n, sizeof **n_ids);
    char *p = buf;
    for (int32_t i = 0; i < n && *p; i++) {
        (*ids)[i] = malloc(512 * sizeof(og_token));
        while (*p && *p != '\n' && (*n_ids)[i] < 512)
            (*ids)[i][(*n_ids)[i]++] = (og_token)strtol(p, &p, 10), p += *p == ' ';
        p += *p == '\n';
    }
    free(buf);
    return true;
}

static void report(const char *what, const float *got, const float *ref, const bool *use, int32_t n)
{
    double min = 1.0, sum = 0.0, max_diff = 0.0;
    int worst = -1, count = 0;
    for (int32_t i = 0; i < n; i++) {
        if (use && !use[i])
            continue;
        double c = cosine(got + (size_t)i * DIM, ref + (size_t)i * DIM, DIM);
        sum += c;
        count++;
        for (int j = 0; j < DIM; j++)
            max_diff = fmax(max_diff, fabs((double)got[(size_t)i * DIM + j] - ref[(size_t)i * DIM + j]));
        if (c < min) {
            min = c;
            worst = i;
        }
        CHECK(c >= 0.9999, "%s: text %d: cosine %.7f", what, i, c);
    }
    printf("%s: %d texts, cosine to sentence-transformers min %.10f (text %d), mean %.10f, max |diff| %.2e\n", what, count, min,
           worst, sum / (count ? count : 1), max_diff);
}

static void test_against_pytorch(og_model *m, const texts *t)
{
    size_t ref_size = 0;
    float *ref = (float *)og_test_read_file(FIXTURE("minilm_ref.f32le"), &ref_size);
    og_token **ids = NULL;
    int32_t *n_ids = NULL;
    CHECK(ref && ref_size == (size_t)t->n * DIM * sizeof(float), "reference has %zu bytes for %d texts", ref_size, t->n);
    CHECK(read_ids(t->n, &ids, &n_ids), "no token ids");
    const size_t bytes = (size_t)t->n * DIM * sizeof(float);
    float *all = malloc(bytes), *one = malloc(bytes), *small = malloc(bytes), *from_ids = malloc(bytes);
    bool *same_tokens = calloc((size_t)t->n, sizeof *same_tokens);
    og_error err = { 0 };
    og_encoder *enc = NULL;
    if (!ref || ref_size != bytes || !ids || !(enc = new_encoder(m, 1, 0)))
        goto done;
    CHECK(og_encoder_n_embd(enc) == DIM, "dim %d", og_encoder_n_embd(enc));
    CHECK(og_encoder_max_tokens(enc) == 256, "max_tokens %d", og_encoder_max_tokens(enc));

    /* The encoder alone: PyTorch's own token ids. */
    CHECK(og_embed_tokens(enc, (const og_token *const *)ids, n_ids, t->n, from_ids, &err) == OG_OK, "embed ids: %s",
          err.message);
    report("from HF token ids", from_ids, ref, NULL, t->n);

    /* Tokenizer and encoder: texts whose ids match HF's must match too. */
    CHECK(og_embed(enc, t->ptr, t->len, t->n, all, &err) == OG_OK, "embed: %s", err.message);
    int32_t n_diff = 0;
    for (int32_t i = 0; i < t->n; i++) {
        og_token mine[1024];
        int32_t n = og_tokenize(m, t->ptr[i], t->len[i], mine, 1024, true, true);
        if (n > 256) {
            n = 256;
            mine[255] = 102; /* [SEP] */
        }
        same_tokens[i] = n == n_ids[i] && !memcmp(mine, ids[i], (size_t)n * sizeof *mine);
        if (!same_tokens[i]) {
            n_diff++;
            printf("  text %d tokenizes unlike HF (%d vs %d ids): '%.*s'\n", i, n, n_ids[i],
                   (int)(t->len[i] < 50 ? t->len[i] : 50), t->ptr[i]);
        } else {
            CHECK(!memcmp(all + (size_t)i * DIM, from_ids + (size_t)i * DIM, DIM * sizeof(float)),
                  "text %d: text and ids differ", i);
        }
    }
    report("from texts", all, ref, same_tokens, t->n);
    /* WordPiece follows BERT's own normalizer, so every text must; llama.cpp
     * differs on Hangul, separate combining marks and words over 100
     * characters (texts 33, 85, 86, 91, 95 and 117). */
    CHECK(n_diff == 0, "%d texts tokenize unlike HF", n_diff);
    og_encoder_free(enc);

    /* One text per call, two threads. */
    if (!(enc = new_encoder(m, 2, 0)))
        goto done;
    for (int32_t i = 0; i < t->n; i++)
        CHECK(og_embed(enc, &t->ptr[i], &t->len[i], 1, one + (size_t)i * DIM, &err) == OG_OK, "embed %d: %s", i,
              err.message);
    og_encoder_free(enc);
    /* Batches of at most 256 tokens (many flushes), two threads. */
    if (!(enc = new_encoder(m, 2, 256)))
        goto done;
    CHECK(og_embed(enc, t->ptr, t->len, t->n, small, &err) == OG_OK, "embed small batches: %s", err.message);
    CHECK(memcmp(all, one, bytes) == 0, "one text per call with 2 threads differs from one batch with 1 thread");
    CHECK(memcmp(all, small, bytes) == 0, "small batches differ from one batch");
done:
    og_encoder_free(enc);
    for (int32_t i = 0; ids && i < t->n; i++)
        free(ids[i]);
    free(ids);
    free(n_ids);
    free(same_tokens);
    free(all);
    free(one);
    free(small);
    free(from_ids);
    free(ref);
}

static void test_errors(og_model *bert)
{
    og_error err = { 0 };
    og_encoder *enc = new_encoder(bert, 1, 0);
    if (!enc)
        return;
    float out[DIM], probs[4];
    const char *text = "hello";
    CHECK(og_embed(enc, NULL, NULL, 1, out, &err) == OG_ERR_ARG, "NULL texts accepted");
    CHECK(og_embed(enc, &text, NULL, -1, out, &err) == OG_ERR_ARG, "negative count accepted");
    CHECK(og_embed(enc, &text, NULL, 0, NULL, &err) == OG_OK, "zero texts refused: %s", err.message);
    CHECK(og_embed(enc, &text, NULL, 1, out, &err) == OG_OK, "NUL-terminated text: %s", err.message);
    CHECK(og_encoder_n_labels(enc) == 0 && og_encoder_label(enc, 0) == NULL, "MiniLM has no labels");
    CHECK(og_classify(enc, &text, NULL, 1, probs, &err) == OG_ERR_UNSUPPORTED, "classify without a head");
    CHECK(strstr(err.message, "classification head") != NULL, "message: %s", err.message);
    og_encoder_free(enc);

    og_encoder_params ep = og_encoder_default_params();
    ep.max_tokens = 512; /* a caller may go past the model's 256, up to its positions */
    CHECK(og_encoder_new(bert, &ep, &enc, &err) == OG_OK && og_encoder_max_tokens(enc) == 512, "max_tokens 512: %s",
          err.message);
    og_encoder_free(enc);
    enc = NULL;
    ep.max_tokens = 100000;
    CHECK(og_encoder_new(bert, &ep, &enc, &err) == OG_ERR_ARG && !enc, "max_tokens past the positions accepted");
    og_context *ctx = NULL;
    CHECK(og_context_new(bert, NULL, &ctx, &err) == OG_ERR_ARG && !ctx, "a context over an encoder");

    const char *smol = og_test_smollm2_path();
    og_model *llama = NULL;
    if (smol && og_model_load(smol, NULL, &llama, &err) == OG_OK) {
        CHECK(og_encoder_new(llama, NULL, &enc, &err) == OG_ERR_ARG && !enc, "an encoder over llama");
        CHECK(strstr(err.message, "not an encoder") != NULL, "message: %s", err.message);
        og_model_free(llama);
    }
}

/* Cosine top-k: every kernel table gives the scalar one's indices and
 * scores within rounding, and the scalar one matches a double-precision
 * brute force. */
static void test_topk(void)
{
    enum { N = 1000, D = 100, K = 10 };
    float *rows = malloc(sizeof(float) * N * D), q[D];
    uint64_t s = 42;
    for (int i = 0; i < N * D; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        rows[i] = (float)((int)(s >> 40) % 2001 - 1000) / 1000.0f;
    }
    memcpy(q, rows + 7 * D, sizeof q); /* row 7 is the query itself */
    memset(rows + 3 * D, 0, sizeof(float) * D); /* a zero row scores 0 */
    int64_t idx_ref[K], idx[K];
    float sim_ref[K], sim[K];
    const og_kernels *scalar = og_kernels_scalar();
    CHECK(og_cosine_topk_with(scalar, q, rows, N, D, K, idx_ref, sim_ref) == K, "count");
    CHECK(idx_ref[0] == 7 && fabsf(sim_ref[0] - 1.0f) < 1e-6f, "best %lld %g", (long long)idx_ref[0], sim_ref[0]);
    for (int j = 1; j < K; j++)
        CHECK(sim_ref[j] <= sim_ref[j - 1], "not sorted at %d", j);
    /* brute force: nothing outside the top k beats the k-th */
    for (int r = 0; r < N; r++) {
        double c = r == 3 ? 0.0 : cosine(rows + r * D, q, D);
        bool in = false;
        for (int j = 0; j < K; j++)
            in |= idx_ref[j] == r;
        CHECK(in || c <= sim_ref[K - 1] + 1e-6, "row %d (%.6f) missing from the top %d", r, c, K);
    }
    const char *isas[] = { "avx2", "avx512", "neon" };
    for (int i = 0; i < 3; i++) {
        const og_kernels *k = og_kernels_for(isas[i]);
        if (!k)
            continue;
        CHECK(og_cosine_topk_with(k, q, rows, N, D, K, idx, sim) == K, "%s count", isas[i]);
        for (int j = 0; j < K; j++)
            CHECK(idx[j] == idx_ref[j] && fabsf(sim[j] - sim_ref[j]) < 1e-5f, "%s rank %d: %lld %g vs %lld %g",
                  isas[i], j, (long long)idx[j], sim[j], (long long)idx_ref[j], sim_ref[j]);
    }
    CHECK(og_cosine_topk(q, rows, 4, D, K, idx, sim) == 4, "k > n_rows gives n_rows");
    CHECK(og_cosine_topk(q, rows, N, D, 0, NULL, NULL) == 0, "k = 0");
    CHECK(og_cosine_topk(q, rows, N, 0, K, idx, sim) < 0, "dim 0 accepted");
    CHECK(og_cosine_topk(NULL, rows, N, D, K, idx, sim) < 0, "NULL query accepted");
    free(rows);
}

/* ------------------------------------------- rewritten model variants */

/* make_classifier_ref.py's generator: uniform in [-1, 1] by thousandths. */
static float lcg_next(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((int64_t)(*s >> 40) % 2001 - 1000) / 1000.0f;
}

/* Adds a tensor of LCG values (drawn even when name is skip, which is left
 * out, so the others keep their values). */
static bool add_lcg_tensor(og_gguf_writer *w, const char *name, int64_t ne0, int64_t ne1, float scale, uint64_t *s,
                           const char *skip)
{
    float *data = malloc(sizeof(float) * (size_t)(ne0 * ne1));
    if (!data)
        return false;
    for (int64_t i = 0; i < ne0 * ne1; i++)
        data[i] = lcg_next(s) * scale;
    const int64_t ne[2] = { ne0, ne1 };
    if (!(skip && !strcmp(name, skip)))
        og_gguf_writer_tensor(w, name, OG_TYPE_F32, ne1 > 1 ? 2 : 1, ne, data);
    free(data);
    return true;
}

/* Writes MiniLM to path with its matrices in matrix_type and, when head,
 * the made-up 3-label head and a temperature of 2; without the tensor
 * named skip (NULL: none). */
static bool write_variant_skip(const char *path, og_type matrix_type, bool head, const char *skip)
{
    og_error err = { 0 };
    og_gguf *g;
    og_gguf_writer *w = NULL;
    bool ok = og_gguf_open(MODEL_PATH, &g, &err) == OG_OK && og_gguf_writer_new(&w, &err) == OG_OK;
    for (int64_t i = 0; ok && i < og_gguf_n_kv(g); i++)
        og_gguf_writer_copy_kv(w, og_gguf_kv_at(g, i));
    for (int64_t i = 0; ok && i < og_gguf_n_tensors(g); i++) {
        const og_gguf_tensor *t = og_gguf_tensor_at(g, i);
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
        if (skip && !strcmp(name, skip))
            continue;
        if (t->n_dims != 2 || t->ne[0] % 32 || matrix_type == OG_TYPE_F32) {
            og_gguf_writer_tensor(w, name, t->type, t->n_dims, t->ne, t->data);
            continue;
        }
        const size_t row_bytes = og_type_row_bytes(matrix_type, t->ne[0]);
        uint8_t *q = malloc(row_bytes * (size_t)t->ne[1]);
        for (int64_t r = 0; q && ok && r < t->ne[1]; r++)
            ok = og_quantize_row_ref(matrix_type, (const float *)t->data + r * t->ne[0], q + r * row_bytes, t->ne[0]);
        ok = ok && q;
        if (ok)
            og_gguf_writer_tensor(w, name, matrix_type, 2, t->ne, q);
        free(q);
    }
    if (ok && head) {
        const char *labels[3] = { "negative", "neutral", "positive" };
        uint64_t s = 1234;
        og_gguf_writer_arr_str(w, "bert.classifier.output_labels", labels, 3);
        og_gguf_writer_f32(w, "offgrid.classifier.temperature", 2.0f);
        ok = add_lcg_tensor(w, "cls.weight", DIM, DIM, 0.1f, &s, skip) &&
             add_lcg_tensor(w, "cls.bias", DIM, 1, 0.1f, &s, skip) &&
             add_lcg_tensor(w, "cls.output.weight", DIM, 3, 1.0f, &s, skip) &&
             add_lcg_tensor(w, "cls.output.bias", 3, 1, 0.5f, &s, skip);
    }
    ok = ok && og_gguf_writer_to_file(w, path, &err) == OG_OK;
    CHECK(ok, "writing %s: %s", path, err.message);
    og_gguf_writer_free(w);
    og_gguf_close(g);
    return ok;
}

static bool write_variant(const char *path, og_type matrix_type, bool head)
{
    return write_variant_skip(path, matrix_type, head, NULL);
}

static og_model *load_variant(char *path, size_t cap, og_type type, bool head)
{
    snprintf(path, cap, "/tmp/og_test_bert_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return NULL;
    close(fd);
    og_model *m = NULL;
    og_error err = { 0 };
    if (write_variant(path, type, head))
        CHECK(og_model_load(path, NULL, &m, &err) == OG_OK, "loading the variant: %s", err.message);
    unlink(path); /* the mapping stays valid */
    return m;
}

/* F16 and Q8_0 matrices: the same texts within a cosine that their
 * rounding allows of the F32 model's vectors. */
static void test_weight_types(og_model *f32, const texts *all)
{
    const og_type types[2] = { OG_TYPE_F16, OG_TYPE_Q8_0 };
    const double floor[2] = { 0.99999, 0.995 };
    /* the first 80 texts (short and long ones) keep sanitizer runs short */
    texts sub = *all;
    sub.n = all->n < 80 ? all->n : 80;
    const texts *t = &sub;
    const size_t bytes = (size_t)t->n * DIM * sizeof(float);
    float *ref = malloc(bytes), *got = malloc(bytes);
    og_error err = { 0 };
    og_encoder *enc = new_encoder(f32, 2, 0);
    CHECK(enc && og_embed(enc, t->ptr, t->len, t->n, ref, &err) == OG_OK, "embed f32: %s", err.message);
    og_encoder_free(enc);
    for (int k = 0; k < 2; k++) {
        char path[64];
        og_model *m = load_variant(path, sizeof path, types[k], false);
        if (!m || !(enc = new_encoder(m, 2, 0))) {
            og_model_free(m);
            continue;
        }
        CHECK(og_embed(enc, t->ptr, t->len, t->n, got, &err) == OG_OK, "embed: %s", err.message);
        double min = 1.0;
        for (int32_t i = 0; i < t->n; i++)
            min = fmin(min, cosine(got + (size_t)i * DIM, ref + (size_t)i * DIM, DIM));
        printf("%s matrices: cosine to the F32 model min %.6f\n", types[k] == OG_TYPE_F16 ? "F16" : "Q8_0", min);
        CHECK(min >= floor[k], "type %d: min cosine %.6f", (int)types[k], min);
        og_encoder_free(enc);
        og_model_free(m);
    }
    free(ref);
    free(got);
}

/* The made-up head against PyTorch: logits, and softmax(logits / 2). */
static void test_classifier(void)
{
    char path[64], *tsv = og_test_read_file(FIXTURE("classifier_ref.tsv"), NULL);
    og_model *m = load_variant(path, sizeof path, OG_TYPE_F32, true);
    og_encoder *enc = m ? new_encoder(m, 2, 0) : NULL;
    CHECK(tsv && enc, "no classifier fixture or model");
    if (!tsv || !enc)
        goto done;
    CHECK(og_encoder_n_labels(enc) == 3, "labels %d", og_encoder_n_labels(enc));
    CHECK(!strcmp(og_encoder_label(enc, 2), "positive") && !og_encoder_label(enc, 3), "label names");
    CHECK(og_encoder_temperature(enc) == 2.0f, "temperature %g", og_encoder_temperature(enc));
    int n = 0;
    double max_logit = 0, max_prob = 0;
    for (char *line = tsv; *line; n++) {
        char *tab = strchr(line, '\t'), *end;
        if (!tab)
            break;
        const char *text = line;
        const size_t len = (size_t)(tab - line);
        double want[3];
        for (int j = 0; j < 3; j++)
            want[j] = strtod(j ? end : tab + 1, &end);
        line = end + (*end == '\n');
        float logits[3], probs[3];
        og_error err = { 0 };
        CHECK(og_classify_logits(enc, &text, &len, 1, logits, &err) == OG_OK, "logits: %s", err.message);
        CHECK(og_classify(enc, &text, &len, 1, probs, &err) == OG_OK, "classify: %s", err.message);
        double z = 0, p[3];
        for (int j = 0; j < 3; j++)
            z += exp((want[j] - want[0]) / 2.0);
        for (int j = 0; j < 3; j++) {
            p[j] = exp((want[j] - want[0]) / 2.0) / z;
            max_logit = fmax(max_logit, fabs(logits[j] - want[j]));
            max_prob = fmax(max_prob, fabs(probs[j] - p[j]));
            CHECK(fabs(probs[j] - p[j]) <= 1e-4 && fabs(logits[j] - want[j]) <= 1e-4 * fmax(1.0, fabs(want[j])),
                  "text %d label %d: logit %.6f vs %.6f, probability %.6f vs %.6f", n, j, logits[j], want[j], probs[j],
                  p[j]);
        }
    }
    CHECK(n == 16, "read %d classifier texts", n);
    printf("classifier vs PyTorch over %d texts: max |logit diff| %.2e, max |probability diff| %.2e (T = 2)\n", n,
           max_logit, max_prob);
    float one_out[1] = { 0.0f };
    og_classify_softmax(one_out, 1, 1.0f, one_out);
    CHECK(one_out[0] == 0.5f, "single-output head: sigmoid(0) = %g", one_out[0]);
done:
    og_encoder_free(enc);
    og_model_free(m);
    free(tsv);
}

/* Temperature scaling: the measures on a case worked by hand, the fit at
 * a minimum of the NLL, and the temperature stored in a model file. */
static void test_calibration(void)
{
    const float probs[4] = { 0.9f, 0.1f, 0.6f, 0.4f };
    const int32_t labels2[2] = { 0, 1 };
    CHECK(fabs(og_expected_calibration_error(probs, labels2, 2, 2, 10) - 0.35) < 1e-6, "ECE %g",
          og_expected_calibration_error(probs, labels2, 2, 2, 10));
    CHECK(fabs(og_nll(probs, labels2, 2, 2) - (-log(0.9) - log(0.4)) / 2) < 1e-6, "NLL");

    enum { N = 300, L = 3 };
    float logits[N * L], p[N * L];
    int32_t labels[N];
    uint64_t s = 99;
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < L; j++)
            logits[i * L + j] = 6.0f * lcg_next(&s);
        /* overconfident: the top logit is right only about 60% of the time */
        int top = og_test_argmax(logits + i * L, L);
        labels[i] = lcg_next(&s) < 0.2f ? top : (int32_t)((uint32_t)(s >> 33) % L);
    }
    float t = 0;
    CHECK(og_fit_temperature(logits, labels, N, L, &t) == OG_OK && t > 1.0f, "fitted T %g", t);
    double nll[3];
    for (int k = 0; k < 3; k++) {
        const float tk = t * (k == 0 ? 1.0f : k == 1 ? 1.05f : 1.0f / 1.05f);
        for (int i = 0; i < N; i++)
            og_classify_softmax(logits + i * L, L, tk, p + i * L);
        nll[k] = og_nll(p, labels, N, L);
    }
    CHECK(nll[0] <= nll[1] && nll[0] <= nll[2], "T %g is no minimum: NLL %g, %g, %g", t, nll[0], nll[1], nll[2]);
    labels[0] = L;
    CHECK(og_fit_temperature(logits, labels, N, L, &t) == OG_ERR_ARG, "label out of range accepted");

    char src[64] = "/tmp/og_test_bert_XXXXXX", dst[80];
    int fd = mkstemp(src);
    if (fd < 0)
        return;
    close(fd);
    snprintf(dst, sizeof dst, "%s.cal", src);
    og_error err = { 0 };
    og_model *m = NULL;
    og_encoder *enc = NULL;
    if (write_variant(src, OG_TYPE_F32, true) &&
        og_model_save_temperature(src, dst, 0.75f, &err) == OG_OK && og_model_load(dst, NULL, &m, &err) == OG_OK &&
        (enc = new_encoder(m, 1, 0))) {
        CHECK(og_encoder_temperature(enc) == 0.75f, "saved temperature reads back as %g", og_encoder_temperature(enc));
        CHECK(og_encoder_n_labels(enc) == 3, "labels survive the rewrite");
    } else {
        CHECK(false, "saving a temperature: %s", err.message);
    }
    og_encoder_free(enc);
    og_model_free(m);
    unlink(src);
    unlink(dst);
}

/* A file missing a tensor, or with a bad temperature, fails to load with
 * a message naming it. */
static void test_bad_files(void)
{
    char path[64] = "/tmp/og_test_bert_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return;
    close(fd);
    og_model *m = NULL;
    og_error err = { 0 };
    if (write_variant_skip(path, OG_TYPE_F32, false, "blk.3.attn_q.bias")) {
        CHECK(og_model_load(path, NULL, &m, &err) == OG_ERR_FORMAT && !m, "missing bias accepted");
        CHECK(strstr(err.message, "missing tensor 'blk.3.attn_q.bias'") != NULL, "message: %s", err.message);
    }
    if (write_variant_skip(path, OG_TYPE_F32, true, "cls.bias")) {
        CHECK(og_model_load(path, NULL, &m, &err) == OG_ERR_FORMAT && !m, "head without its bias accepted");
        CHECK(strstr(err.message, "cls.bias") != NULL, "message: %s", err.message);
    }
    if (write_variant(path, OG_TYPE_F32, true) && og_model_save_temperature(path, path, -1.0f, &err) == OG_ERR_ARG)
        CHECK(og_model_save_temperature(path, path, 0.0f, &err) == OG_ERR_ARG, "temperature 0 accepted");
    unlink(path);
}

int main(void)
{
    test_topk();
    const char *path = MODEL_PATH;
    og_model *m = NULL;
    og_error err = { 0 };
    if (og_model_load(path, NULL, &m, &err) != OG_OK) {
        fprintf(stderr, "missing or unreadable %s (%s): convert sentence-transformers/all-MiniLM-L6-v2 to an F32 "
                        "GGUF there (offgrid convert, or tools/setup.sh)\n", path, err.message);
        CHECK(false, "no MiniLM model");
        return og_test_finish("test_bert");
    }
    texts t;
    if (read_texts(FIXTURE("minilm_sentences.txt"), &t)) {
        test_against_pytorch(m, &t);
        test_weight_types(m, &t);
        free(t.buf);
        free(t.ptr);
        free(t.len);
    } else {
        CHECK(false, "no fixture texts");
    }
    test_errors(m);
    test_classifier();
    test_calibration();
    test_bad_files();
    og_model_free(m);
    return og_test_finish("test_bert");
}
