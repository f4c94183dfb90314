/*
 * calibration.c - temperature scaling of a classifier's probabilities:
 * fitting T on labelled logits by minimizing the negative
 * log-likelihood, the calibration measures (NLL, expected calibration
 * error). Storing T in a model file is a transform
 * (transform/heads/temperature.c). Owns nothing.
 */
#include <math.h>
#include <stdlib.h>

#include "offgrid.h"

/* Mean NLL of softmax(logits / t), in double with log-sum-exp. */
static double nll_at(const float *logits, const int32_t *labels, int32_t n, int32_t n_labels, double t)
{
    double total = 0.0;
    for (int32_t i = 0; i < n; i++) {
        const float *z = logits + (int64_t)i * n_labels;
        double max = -INFINITY;
        for (int32_t j = 0; j < n_labels; j++)
            max = fmax(max, z[j] / t);
        double sum = 0.0;
        for (int32_t j = 0; j < n_labels; j++)
            sum += exp(z[j] / t - max);
        total += max + log(sum) - z[labels[i]] / t;
    }
    return total / n;
}

static bool valid(const float *x, const int32_t *labels, int32_t n, int32_t n_labels)
{
    if (!x || !labels || n <= 0 || n_labels < 1)
        return false;
    for (int32_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= n_labels)
            return false;
    return true;
}

og_status og_fit_temperature(const float *logits, const int32_t *labels, int32_t n, int32_t n_labels,
                             float *temperature)
{
    if (!valid(logits, labels, n, n_labels) || n_labels < 2 || !temperature)
        return OG_ERR_ARG;
    /* The NLL is unimodal in log T: golden-section search over it. */
    const double phi = (sqrt(5.0) - 1.0) / 2.0;
    double lo = log(0.01), hi = log(100.0);
    double a = hi - phi * (hi - lo), b = lo + phi * (hi - lo);
    double fa = nll_at(logits, labels, n, n_labels, exp(a)), fb = nll_at(logits, labels, n, n_labels, exp(b));
    for (int it = 0; it < 100 && hi - lo > 1e-7; it++) {
        if (fa <= fb) {
            hi = b;
            b = a;
            fb = fa;
            a = hi - phi * (hi - lo);
            fa = nll_at(logits, labels, n, n_labels, exp(a));
        } else {
            lo = a;
            a = b;
            fa = fb;
            b = lo + phi * (hi - lo);
            fb = nll_at(logits, labels, n, n_labels, exp(b));
        }
    }
    *temperature = (float)exp((lo + hi) / 2.0);
    return OG_OK;
}

double og_nll(const float *probs, const int32_t *labels, int32_t n, int32_t n_labels)
{
    if (!valid(probs, labels, n, n_labels))
        return NAN;
    double total = 0.0;
    for (int32_t i = 0; i < n; i++)
        total -= log(fmax((double)probs[(int64_t)i * n_labels + labels[i]], 1e-30));
    return total / n;
}

double og_expected_calibration_error(const float *probs, const int32_t *labels, int32_t n, int32_t n_labels,
                                     int32_t n_bins)
{
    if (!valid(probs, labels, n, n_labels) || n_bins < 1 || n_bins > 10000)
        return NAN;
    double *conf = calloc((size_t)n_bins, sizeof *conf), *acc = calloc((size_t)n_bins, sizeof *acc);
    int32_t *count = calloc((size_t)n_bins, sizeof *count);
    double ece = NAN;
    if (conf && acc && count) {
        for (int32_t i = 0; i < n; i++) {
            const float *p = probs + (int64_t)i * n_labels;
            int32_t best = 0;
            for (int32_t j = 1; j < n_labels; j++)
                best = p[j] > p[best] ? j : best;
            int32_t bin = (int32_t)(p[best] * n_bins);
            bin = bin < 0 ? 0 : bin >= n_bins ? n_bins - 1 : bin;
            conf[bin] += p[best];
            acc[bin] += best == labels[i];
            count[bin]++;
        }
        ece = 0.0;
        for (int32_t b = 0; b < n_bins; b++)
            if (count[b])
                ece += fabs(acc[b] - conf[b]) / n; /* (count / n) * |acc/count - conf/count| */
    }
    free(conf);
    free(acc);
    free(count);
    return ece;
}
