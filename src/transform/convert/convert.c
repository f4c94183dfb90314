/*
 * convert.c - `og_convert_hf`: turns a Hugging Face model folder into a
 * GGUF file with llama.cpp's names. This file owns the job (the folder's
 * config.json, the mapped checkpoint, the GGUF writer), picks the
 * architecture from config.json and writes the output atomically; the
 * architectures (convert_bert.c, convert_llama.c), tensors (tensors.c)
 * and tokenizers (vocab_*.c) fill the writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "offgrid.h"
#include "convert/convert.h"

og_convert_params og_convert_default_params(void)
{
    og_convert_params p = { .type = OG_CONVERT_F16, .progress = NULL, .user = NULL };
    return p;
}

og_status og_convert_open(const char *path, bool required, FILE **out, og_error *err)
{
    *out = NULL;
    /* O_NONBLOCK: a FIFO in the folder must be refused, not waited on
     * (opening one for reading blocks until a writer comes). */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return required || errno != ENOENT ? og_error_set(err, OG_ERR_IO, "cannot open %s: %s", path, strerror(errno))
                                           : OG_OK;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return og_error_set(err, OG_ERR_IO, "%s is not a regular file", path);
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags >= 0)
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    if (!(*out = fdopen(fd, "rb"))) {
        close(fd);
        return og_error_set(err, OG_ERR_NOMEM, "cannot read %s: %s", path, strerror(errno));
    }
    return OG_OK;
}

og_status og_convert_json_load(const char *dir, const char *file, bool required, json_t **out, og_error *err)
{
    *out = NULL;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, file) >= sizeof path)
        return og_error_set(err, OG_ERR_ARG, "path too long: %s/%s", dir, file);
    FILE *f;
    og_status st = og_convert_open(path, required, &f, err);
    if (st != OG_OK || !f)
        return st;
    json_error_t jerr;
    *out = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    fclose(f);
    if (!*out)
        return og_error_set(err, OG_ERR_FORMAT, "%s: bad JSON at line %d: %s", path, jerr.line, jerr.text);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        return og_error_set(err, OG_ERR_FORMAT, "%s: not a JSON object", path);
    }
    return OG_OK;
}

og_status og_convert_cfg_int(og_cv *cv, const char *key, bool required, int64_t dflt, int64_t *out)
{
    const json_t *v = json_object_get(cv->config, key);
    if (!v || json_is_null(v)) {
        if (required)
            return og_error_set(cv->err, OG_ERR_FORMAT, "config.json: missing \"%s\"", key);
        *out = dflt;
        return OG_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > INT32_MAX)
        return og_error_set(cv->err, OG_ERR_FORMAT, "config.json: \"%s\" is not a positive integer", key);
    *out = json_integer_value(v);
    return OG_OK;
}

og_status og_convert_cfg_num(og_cv *cv, const char *key, bool required, double dflt, double *out)
{
    const json_t *v = json_object_get(cv->config, key);
    if (!v || json_is_null(v)) {
        if (required)
            return og_error_set(cv->err, OG_ERR_FORMAT, "config.json: missing \"%s\"", key);
        *out = dflt;
        return OG_OK;
    }
    if (!json_is_number(v))
        return og_error_set(cv->err, OG_ERR_FORMAT, "config.json: \"%s\" is not a number", key);
    *out = json_number_value(v);
    return OG_OK;
}

void og_convert_write_general(og_cv *cv, const char *arch)
{
    /* llama_ftype: ALL_F32 = 0, MOSTLY_F16 = 1, MOSTLY_Q8_0 = 7 */
    static const uint32_t file_type[] = { [OG_CONVERT_F32] = 0, [OG_CONVERT_F16] = 1, [OG_CONVERT_Q8_0] = 7 };
    /* The folder's own name, as llama.cpp derives general.name when the
     * model card says nothing. */
    const char *name = strrchr(cv->dir, '/');
    name = name && name[1] ? name + 1 : cv->dir;
    char trimmed[256];
    snprintf(trimmed, sizeof trimmed, "%s", name);
    size_t n = strlen(trimmed);
    while (n > 1 && trimmed[n - 1] == '/')
        trimmed[--n] = 0;
    og_gguf_writer_str(cv->w, "general.architecture", arch);
    og_gguf_writer_str(cv->w, "general.type", "model");
    og_gguf_writer_str(cv->w, "general.name", trimmed);
    og_gguf_writer_u32(cv->w, "general.file_type", file_type[cv->type]);
    og_gguf_writer_u32(cv->w, "general.quantization_version", 2);
}

/* The architecture named by config.json's "architectures". */
static og_status dispatch(og_cv *cv)
{
    const json_t *archs = json_object_get(cv->config, "architectures");
    const char *arch = json_string_value(json_array_get(archs, 0));
    if (!arch)
        return og_error_set(cv->err, OG_ERR_FORMAT, "config.json: missing \"architectures\" (a list of names)");
    if (!strcmp(arch, "LlamaForCausalLM"))
        return og_convert_llama(cv);
    if (!strcmp(arch, "BertModel"))
        return og_convert_bert(cv, false);
    if (!strcmp(arch, "BertForSequenceClassification"))
        return og_convert_bert(cv, true);
    return og_error_set(cv->err, OG_ERR_UNSUPPORTED,
                        "unsupported architecture '%s' (supported: LlamaForCausalLM, BertModel, "
                        "BertForSequenceClassification)", arch);
}

og_status og_convert_hf(const char *hf_dir, const char *out_path, const og_convert_params *params, og_error *err)
{
    if (!hf_dir || !out_path)
        return og_error_set(err, OG_ERR_ARG, "og_convert_hf: NULL folder or output path");
    og_convert_params defaults = og_convert_default_params();
    if (!params)
        params = &defaults;
    if ((unsigned)params->type > OG_CONVERT_Q8_0)
        return og_error_set(err, OG_ERR_ARG, "og_convert_hf: unknown output type %d", (int)params->type);
    og_cv cv = { .dir = hf_dir, .type = params->type, .params = params, .err = err };
    og_status st = og_convert_json_load(hf_dir, "config.json", true, &cv.config, err);
    if (st != OG_OK)
        return st;
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/model.safetensors", hf_dir) >= sizeof path)
        st = og_error_set(err, OG_ERR_ARG, "path too long: %s", hf_dir);
    if (st == OG_OK)
        st = og_st_open(path, &cv.st, err);
    if (st == OG_OK)
        st = og_gguf_writer_new(&cv.w, err);
    if (st == OG_OK)
        st = dispatch(&cv);
    if (st == OG_OK)
        st = og_gguf_writer_to_file(cv.w, out_path, err);
    og_gguf_writer_free(cv.w);
    og_st_close(cv.st);
    json_decref(cv.config);
    return st;
}
