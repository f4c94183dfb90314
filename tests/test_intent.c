/*
 * test_intent.c - a real trained classifier: rag-intent-classifier's
 * scikit-learn LogisticRegression over all-MiniLM-L6-v2 embeddings (157
 * intents), which tools/setup.sh turns into
 * models/rag-intent-classifier.f32.gguf. Its probabilities equal
 * sentence-transformers + predict_proba (fixtures/intent_ref.f32le for
 * fixtures/intent_sentences.txt) within 1e-4 with the same top label, and
 * temperature scaling fitted on one half of real labelled utterances from
 * PyPI wheels (models/intent_calib.tsv, which tools/setup.sh builds with
 * tools/intent_data.py) lowers the expected calibration error on the other
 * half (models/intent_test.tsv). Also: the head's metadata, and
 * og_model_add_head's checks.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "offgrid.h"
#include "offgrid_transform.h"
#include "testlib.h"

#define FIXTURE(name) OG_TEST_DATA "/../fixtures/" name
#define MODEL_PATH OG_MODELS_DIR "/rag-intent-classifier.f32.gguf"
#define CALIB_PATH OG_MODELS_DIR "/intent_calib.tsv"
#define HELDOUT_PATH OG_MODELS_DIR "/intent_test.tsv"
#define N_LABELS 157

typedef struct lines {
    char *buf;
    const char **text;
    size_t *len;
    int32_t *label; /* for LABEL<TAB>TEXT files */
    int32_t n;
} lines;

static void lines_free(lines *l)
{
    free(l->buf);
    free(l->text);
    free(l->len);
    free(l->label);
}

/* One text per line; with enc, LABEL<TAB>TEXT lines whose label is one
 * of the model's. */
static bool read_lines(const char *path, const og_encoder *enc, lines *l)
{
    size_t size;
    memset(l, 0, sizeof *l);
    if (!(l->buf = og_test_read_file(path, &size)))
        return false;
    size_t n = 0;
    for (size_t i = 0; i < size; i++)
        n += l->buf[i] == '\n';
    l->text = malloc(n * sizeof *l->text);
    l->len = malloc(n * sizeof *l->len);
    l->label = malloc(n * sizeof *l->label);
    if (!l->text || !l->len || !l->label)
        return false;
    for (char *p = l->buf, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
        *nl = 0;
        int32_t label = -1;
        if (enc) {
            char *tab = strchr(p, '\t');
            if (tab) {
                *tab = 0;
                for (int32_t j = 0; j < og_encoder_n_labels(enc) && label < 0; j++)
                    label = strcmp(og_encoder_label(enc, j), p) ? -1 : j;
            }
            if (label < 0) {
                CHECK(false, "%s line %d: expected LABEL<TAB>TEXT with a label of the model's", path, l->n + 1);
                return false;
            }
            p = tab + 1;
        }
        l->text[l->n] = p;
        l->len[l->n] = strlen(p);
        l->label[l->n++] = label;
    }
    return true;
}

static void test_against_sklearn(og_encoder *enc)
{
    lines t;
    size_t size = 0;
    float *ref = (float *)og_test_read_file(FIXTURE("intent_ref.f32le"), &size);
    if (!read_lines(FIXTURE("intent_sentences.txt"), NULL, &t) || !ref) {
        CHECK(false, "no reference texts or probabilities");
        goto done;
    }
    CHECK(size == (size_t)t.n * N_LABELS * sizeof(float), "%zu bytes of probabilities for %d texts", size, t.n);
    if (size != (size_t)t.n * N_LABELS * sizeof(float))
        goto done;
    float *p = malloc((size_t)t.n * N_LABELS * sizeof *p);
    og_error err = { 0 };
    CHECK(p && og_classify(enc, t.text, t.len, t.n, p, &err) == OG_OK, "classify: %s", err.message);
    double max_diff = 0.0;
    int worst = 0, agree = 0, ties = 0;
    for (int32_t i = 0; p && i < t.n; i++) {
        const float *got = p + (size_t)i * N_LABELS, *want = ref + (size_t)i * N_LABELS;
        for (int j = 0; j < N_LABELS; j++)
            if (fabs(got[j] - want[j]) > max_diff) {
                max_diff = fabs(got[j] - want[j]);
                worst = i;
            }
        const int a = og_test_argmax(got, N_LABELS), b = og_test_argmax(want, N_LABELS);
        /* within the tolerance of each other, either label is right */
        if (a == b)
            agree++;
        else if (fabs(want[a] - want[b]) <= 2e-4)
            ties++;
        else
            CHECK(false, "text %d '%.40s': top label %s, sklearn's %s (%.6f vs %.6f)", i, t.text[i],
                  og_encoder_label(enc, a), og_encoder_label(enc, b), want[a], want[b]);
    }
    CHECK(max_diff <= 1e-4, "max |probability diff| %.3g on text %d '%.60s'", max_diff, worst, t.text[worst]);
    printf("intent classifier vs sentence-transformers + scikit-learn over %d texts: max |probability diff| %.2e, "
           "top label the same for %d (%d near-ties)\n", t.n, max_diff, agree, ties);
    free(p);
done:
    lines_free(&t);
    free(ref);
}

static void probs_at(const float *logits, int32_t n, float t, float *probs)
{
    for (int32_t i = 0; i < n; i++)
        og_classify_softmax(logits + (size_t)i * N_LABELS, N_LABELS, t, probs + (size_t)i * N_LABELS);
}

/* Labelled logits of one split, or NULL. */
static float *split_logits(og_encoder *enc, const char *path, lines *l)
{
    float *logits = NULL;
    og_error err = { 0 };
    if (read_lines(path, enc, l) && (logits = malloc((size_t)l->n * N_LABELS * sizeof *logits)) &&
        og_classify_logits(enc, l->text, l->len, l->n, logits, &err) == OG_OK)
        return logits;
    CHECK(false, "%s: %s", path, err.message);
    free(logits);
    return NULL;
}

static void test_calibration(og_encoder *enc)
{
    if (access(CALIB_PATH, R_OK) || access(HELDOUT_PATH, R_OK)) {
        fprintf(stderr, "missing %s or %s: tools/setup.sh --models builds them (fetch_intent_data)\n", CALIB_PATH,
                HELDOUT_PATH);
        CHECK(false, "no labelled intent data");
        return;
    }
    lines cal, test;
    float *cal_logits = split_logits(enc, CALIB_PATH, &cal);
    float *test_logits = split_logits(enc, HELDOUT_PATH, &test);
    float *probs = test_logits ? malloc((size_t)test.n * N_LABELS * sizeof *probs) : NULL;
    float t = 0.0f;
    if (cal_logits && probs && og_fit_temperature(cal_logits, cal.label, cal.n, N_LABELS, &t) == OG_OK) {
        probs_at(test_logits, test.n, 1.0f, probs);
        const double ece0 = og_expected_calibration_error(probs, test.label, test.n, N_LABELS, 15);
        const double nll0 = og_nll(probs, test.label, test.n, N_LABELS);
        int correct = 0;
        for (int32_t i = 0; i < test.n; i++)
            correct += og_test_argmax(probs + (size_t)i * N_LABELS, N_LABELS) == test.label[i];
        probs_at(test_logits, test.n, t, probs);
        const double ece1 = og_expected_calibration_error(probs, test.label, test.n, N_LABELS, 15);
        const double nll1 = og_nll(probs, test.label, test.n, N_LABELS);
        printf("labelled utterances held out: T = %.4f fitted on %d; on %d others (accuracy %.4f) ECE %.4f -> %.4f, "
               "NLL %.4f -> %.4f\n", t, cal.n, test.n, (double)correct / test.n, ece0, ece1, nll0, nll1);
        CHECK(ece1 < ece0 && ece1 < 0.1, "ECE %.4f -> %.4f", ece0, ece1);
        CHECK(nll1 < nll0, "NLL %.4f -> %.4f", nll0, nll1);
        /* Out of its training distribution (shop-hours and trivia questions
         * as oos, chat greetings) it is right about two times in three. */
        CHECK((double)correct / test.n > 0.6, "accuracy %d / %d", correct, test.n);
    } else {
        CHECK(false, "no calibration splits or no fit");
    }
    free(probs);
    free(cal_logits);
    free(test_logits);
    lines_free(&cal);
    lines_free(&test);
}

/* og_model_add_head refuses heads that do not fit, and a head replaces
 * the one a model has (its temperature too). A head on the raw
 * embedding whose rows pick coordinates 0 and 1 gives them as logits. */
static void test_add_head(void)
{
    char dst[64] = "/tmp/og_test_intent_XXXXXX";
    int fd = mkstemp(dst);
    if (fd < 0)
        return;
    close(fd);
    float w[2 * 384] = { 0 }, b[2] = { 0.0f, 0.0f };
    w[0] = w[384 + 1] = 1.0f;
    const char *names[2] = { "yes", "no" }, *empty[2] = { "yes", "" };
    og_linear_head head = { 2, 384, w, b, names, false };
    og_error err = { 0 };
    head.n_embd = 383;
    CHECK(og_model_add_head(MODEL_PATH, dst, &head, &err) == OG_ERR_ARG && strstr(err.message, "embeds into 384"),
          "wrong width accepted: %s", err.message);
    head.n_embd = 384;
    head.labels = empty;
    CHECK(og_model_add_head(MODEL_PATH, dst, &head, &err) == OG_ERR_ARG, "empty label accepted");
    head.labels = names;
    CHECK(og_model_add_head(OG_SHARED_MODELS "/stories260K.gguf", dst, &head, &err) == OG_ERR_ARG &&
              strstr(err.message, "not an encoder"), "llama model accepted: %s", err.message);
    og_model *m = NULL;
    og_encoder *enc = NULL;
    og_encoder_params ep = og_encoder_default_params();
    ep.normalize = false;
    float logits[2], e[384];
    const char *text = "hello there";
    if (og_model_save_temperature(MODEL_PATH, dst, 3.0f, &err) == OG_OK &&
        og_model_add_head(dst, dst, &head, &err) == OG_OK && og_model_load(dst, NULL, &m, &err) == OG_OK &&
        og_encoder_new(m, &ep, &enc, &err) == OG_OK && og_classify_logits(enc, &text, NULL, 1, logits, &err) == OG_OK &&
        og_embed(enc, &text, NULL, 1, e, &err) == OG_OK) {
        CHECK(og_encoder_n_labels(enc) == 2 && !strcmp(og_encoder_label(enc, 1), "no"), "labels replaced");
        CHECK(og_encoder_temperature(enc) == 1.0f, "old temperature kept: %g", og_encoder_temperature(enc));
        CHECK(fabsf(logits[0] - e[0]) < 1e-6f && fabsf(logits[1] - e[1]) < 1e-6f && fabsf(e[0]) > 1e-3f,
              "logits %g %g, raw embedding %g %g", logits[0], logits[1], e[0], e[1]);
    } else {
        CHECK(false, "replacing a head: %s", err.message);
    }
    og_encoder_free(enc);
    og_model_free(m);
    unlink(dst);
}

int main(void)
{
    og_model *m = NULL;
    og_encoder *enc = NULL;
    og_error err = { 0 };
    og_encoder_params ep = og_encoder_default_params();
    ep.n_threads = 2;
    ep.max_tokens = 256; /* all-MiniLM-L6-v2's sentence-transformers max_seq_length */
    if (og_model_load(MODEL_PATH, NULL, &m, &err) != OG_OK || og_encoder_new(m, &ep, &enc, &err) != OG_OK) {
        fprintf(stderr, "missing or unreadable %s (%s): tools/setup.sh --models builds it\n", MODEL_PATH,
                err.message);
        CHECK(false, "no intent classifier");
        og_model_free(m);
        return og_test_finish("test_intent");
    }
    CHECK(og_encoder_n_labels(enc) == N_LABELS, "%d labels", og_encoder_n_labels(enc));
    CHECK(og_encoder_temperature(enc) == 1.0f, "setup's model is uncalibrated, T %g", og_encoder_temperature(enc));
    CHECK(!strcmp(og_encoder_label(enc, 0), "restaurant_reviews") &&
              !strcmp(og_encoder_label(enc, N_LABELS - 1), "urgent_attention_required"), "label names");
    test_against_sklearn(enc);
    test_calibration(enc);
    og_encoder_free(enc);
    og_model_free(m);
    test_add_head();
    return og_test_finish("test_intent");
}
