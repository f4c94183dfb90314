/*
 * temperature.c - storing a fitted softmax temperature in a classifier's
 * model file (offgrid.classifier.temperature), written atomically. The
 * fit itself is core arithmetic (core/run/calibration.c). Owns nothing.
 */
#include "gguf/writer.h"
#include "offgrid_transform.h"

#define TEMPERATURE_KEY OG_KEY_CLASSIFIER_TEMPERATURE

og_status og_model_save_temperature(const char *src, const char *dst, float temperature, og_error *err)
{
    if (!src || !dst || !(temperature > 0.0f && temperature < 1e6f))
        return og_error_set(err, OG_ERR_ARG, "og_model_save_temperature: need paths and a temperature > 0");
    og_gguf *g;
    og_status st = og_gguf_open(src, &g, err);
    if (st != OG_OK)
        return st;
    og_gguf_writer *w = NULL;
    if ((st = og_gguf_writer_new(&w, err)) == OG_OK) {
        og_gguf_writer_copy_file(w, g, TEMPERATURE_KEY);
        og_gguf_writer_f32(w, TEMPERATURE_KEY, temperature);
        st = og_gguf_writer_to_file(w, dst, err);
    }
    og_gguf_writer_free(w);
    og_gguf_close(g);
    return st;
}
