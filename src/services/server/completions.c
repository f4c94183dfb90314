/*
 * generate.c - POST /v1/chat/completions and /v1/completions: checks the
 * request field by field (a wrong type is a 400 naming the field, never a
 * guess), renders and tokenizes the prompt, queues a job and answers
 * with the whole completion or, with "stream": true, hands over to
 * stream.c.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/server.h"

#define BAD(...) og_srv_reply_error(s, c, r, 400, "invalid_request_error", __VA_ARGS__)

/* The parsed request. */
typedef struct gen_req {
    char *prompt;       /* rendered prompt text (malloc'd) */
    int32_t max_tokens; /* -1: not given */
    og_sampler_params sampling;
    const char *stop[OG_SRV_MAX_STOP];
    int n_stop;
    bool stream, include_usage, json_object;
} gen_req;

/* The text of a message's content: a string, or an array of text parts
 * joined (images and audio are refused). Returns malloc'd text or NULL
 * with *why set. */
static char *content_text(json_t *content, const char **why)
{
    if (json_is_string(content))
        return strdup(json_string_value(content));
    if (json_is_null(content))
        return strdup("");
    if (!json_is_array(content)) {
        *why = "content must be a string or an array of text parts";
        return NULL;
    }
    size_t total = 1, i;
    json_t *part;
    json_array_foreach(content, i, part) {
        json_t *type = json_object_get(part, "type"), *text = json_object_get(part, "text");
        if (!json_is_string(type) || strcmp(json_string_value(type), "text") || !json_is_string(text)) {
            *why = "only parts of type \"text\" with a string \"text\" are supported";
            return NULL;
        }
        total += json_string_length(text);
    }
    char *out = malloc(total), *p = out;
    if (!out) {
        *why = "out of memory";
        return NULL;
    }
    json_array_foreach(content, i, part) {
        json_t *text = json_object_get(part, "text");
        memcpy(p, json_string_value(text), json_string_length(text));
        p += json_string_length(text);
    }
    *p = 0;
    return out;
}

/* Renders messages with the model's chat template into g->prompt. */
static const char *render_chat(og_server *s, json_t *messages, gen_req *g)
{
    if (!json_is_array(messages) || json_array_size(messages) == 0)
        return "'messages' must be a non-empty array";
    if (json_array_size(messages) > 1024)
        return "'messages' has more than 1024 entries";
    size_t n = json_array_size(messages);
    og_chat_message *msgs = calloc(n, sizeof *msgs);
    if (!msgs)
        return "out of memory";
    const char *why = NULL;
    for (size_t i = 0; i < n && !why; i++) {
        json_t *m = json_array_get(messages, i);
        json_t *role = json_object_get(m, "role");
        if (!json_is_object(m) || !json_is_string(role)) {
            why = "each message must be an object with a string 'role'";
            break;
        }
        const char *rs = json_string_value(role);
        if (!strcmp(rs, "developer"))
            rs = "system";
        if (strcmp(rs, "system") && strcmp(rs, "user") && strcmp(rs, "assistant")) {
            why = "message roles must be system, developer, user or assistant";
            break;
        }
        msgs[i].role = rs;
        msgs[i].content = content_text(json_object_get(m, "content"), &why);
    }
    if (!why) {
        int32_t need = og_chat_apply_template(s->model, msgs, n, true, NULL, 0);
        if (need < 0)
            why = "the model's chat template is not supported: use /v1/completions";
        else if (!(g->prompt = malloc((size_t)need + 1)))
            why = "out of memory";
        else
            og_chat_apply_template(s->model, msgs, n, true, g->prompt, need + 1);
    }
    for (size_t i = 0; i < n; i++)
        free((char *)msgs[i].content);
    free(msgs);
    return why;
}

/* Reads the fields both endpoints share. Returns an error message for a
 * 400, or NULL. */
static const char *parse_common(og_server *s, json_t *root, gen_req *g, bool chat)
{
    json_t *v;
    g->max_tokens = -1;
    g->sampling = og_sampler_default_params();
    if ((v = json_object_get(root, "model")) && !json_is_string(v))
        return "'model' must be a string";
    v = json_object_get(root, chat ? "max_completion_tokens" : "max_tokens");
    if (!v && chat)
        v = json_object_get(root, "max_tokens");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1)
            return "'max_tokens' must be a whole number of at least 1";
        if (json_integer_value(v) > s->p.max_tokens)
            return "'max_tokens' is larger than this server allows";
        g->max_tokens = (int32_t)json_integer_value(v);
    }
    if ((v = json_object_get(root, "temperature")) && !json_is_null(v)) {
        if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 2)
            return "'temperature' must be a number from 0 to 2";
        g->sampling.temperature = (float)json_number_value(v);
    }
    if ((v = json_object_get(root, "top_p")) && !json_is_null(v)) {
        if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1)
            return "'top_p' must be a number from 0 to 1";
        g->sampling.top_p = (float)json_number_value(v);
    }
    if ((v = json_object_get(root, "seed")) && !json_is_null(v)) {
        if (!json_is_integer(v))
            return "'seed' must be a whole number";
        g->sampling.seed = (uint64_t)json_integer_value(v);
    }
    if ((v = json_object_get(root, "n")) && !json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) != 1))
        return "only 'n': 1 is supported";
    if ((v = json_object_get(root, "stream")) && !json_is_null(v)) {
        if (!json_is_boolean(v))
            return "'stream' must be a boolean";
        g->stream = json_is_true(v);
    }
    if ((v = json_object_get(root, "stream_options")) && !json_is_null(v)) {
        json_t *u = json_object_get(v, "include_usage");
        if (!json_is_object(v) || (u && !json_is_boolean(u)))
            return "'stream_options' must be an object with a boolean 'include_usage'";
        g->include_usage = json_is_true(u);
    }
    if ((v = json_object_get(root, "stop")) && !json_is_null(v)) {
        if (json_is_string(v)) {
            if (json_string_length(v) > OG_GEN_MAX_STOP_LEN)
                return "'stop' must be a string of at most 256 bytes";
            if (json_string_length(v))
                g->stop[g->n_stop++] = json_string_value(v);
        } else if (json_is_array(v) && json_array_size(v) <= OG_SRV_MAX_STOP) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e) {
                if (!json_is_string(e) || json_string_length(e) > OG_GEN_MAX_STOP_LEN)
                    return "'stop' entries must be strings of at most 256 bytes";
                if (json_string_length(e))
                    g->stop[g->n_stop++] = json_string_value(e);
            }
        } else {
            return "'stop' must be a string or an array of at most 4 strings";
        }
    }
    if ((v = json_object_get(root, "response_format")) && !json_is_null(v)) {
        json_t *t = json_object_get(v, "type");
        if (!json_is_object(v) || !json_is_string(t))
            return "'response_format' must be an object with a string 'type'";
        if (!strcmp(json_string_value(t), "json_object"))
            g->json_object = true;
        else if (strcmp(json_string_value(t), "text"))
            return "'response_format' type must be \"text\" or \"json_object\"";
    }
    if ((v = json_object_get(root, "logprobs")) && !json_is_null(v) && !json_is_false(v))
        return "'logprobs' is not supported";
    /* Tool calls would change the answer's shape (tool_calls instead of
     * content): refused rather than silently answered in plain text. */
    if ((v = json_object_get(root, "tools")) && !json_is_null(v))
        return "'tools' is not supported: this server does not make tool calls (send the request without "
               "'tools')";
    if ((v = json_object_get(root, "functions")) && !json_is_null(v))
        return "'functions' is not supported: this server does not make function calls";
    if ((v = json_object_get(root, "tool_choice")) && !json_is_null(v) &&
        !(json_is_string(v) && !strcmp(json_string_value(v), "none")))
        return "'tool_choice' is not supported (only \"none\")";
    return NULL;
}

json_t *og_srv_usage(const og_srv_job *job)
{
    return json_pack("{s:i,s:i,s:i,s:{s:i}}", "prompt_tokens", job->n_prompt, "completion_tokens", job->n_gen,
                     "total_tokens", job->n_prompt + job->n_gen, "prompt_tokens_details", "cached_tokens",
                     job->n_cached);
}

/* Waits for the job to end; false when the client went away first. */
static bool wait_done(og_srv_job *job, int fd)
{
    pthread_mutex_lock(&job->mu);
    while (job->state != OG_SRV_JOB_DONE) {
        og_srv_wait_tick(&job->cv, &job->mu);
        if (job->state != OG_SRV_JOB_DONE && og_srv_peer_gone(fd)) {
            job->cancel = true;
            pthread_mutex_unlock(&job->mu);
            return false;
        }
    }
    pthread_mutex_unlock(&job->mu);
    return true;
}

static enum MHD_Result reply_whole(struct MHD_Connection *c, og_srv_req *r, og_srv_answer *a)
{
    og_server *s = a->srv;
    og_srv_job *job = a->job;
    if (!wait_done(job, a->fd))
        return MHD_NO; /* nobody to answer: close the connection */
    if (job->status != OG_OK) {
        bool stopping = job->status == OG_ERR_CANCELLED;
        return og_srv_reply_error(s, c, r, stopping ? 503 : 500, "server_error", NULL, "generation failed: %s",
                                  job->error);
    }
    json_t *text = og_srv_json_text(job->text ? job->text : "", job->len);
    json_t *choice = a->chat ? json_pack("{s:i,s:{s:s,s:o},s:s,s:n}", "index", 0, "message", "role", "assistant",
                                         "content", text, "finish_reason", job->finish, "logprobs")
                             : json_pack("{s:i,s:o,s:s,s:n}", "index", 0, "text", text, "finish_reason",
                                         job->finish, "logprobs");
    json_t *body = json_pack("{s:s,s:s,s:I,s:s,s:[o],s:o,s:s}", "id", a->id, "object",
                             a->chat ? "chat.completion" : "text_completion", "created", (json_int_t)a->created,
                             "model", a->model, "choices", choice, "usage", og_srv_usage(job),
                             "system_fingerprint", "offgrid");
    if (!body)
        return og_srv_reply_error(s, c, r, 500, "server_error", NULL, "out of memory");
    return og_srv_reply_json(s, c, r, 200, body);
}

static const char *tokenize_prompt(og_server *s, const char *text, bool parse_special, og_token **out, int32_t *n)
{
    size_t len = strlen(text);
    int32_t cap = len < (size_t)INT32_MAX / 2 ? (int32_t)len + 8 : INT32_MAX / 2;
    og_token *toks = malloc((size_t)cap * sizeof *toks);
    if (!toks)
        return "out of memory";
    int32_t got = og_tokenize(s->model, text, len, toks, cap, true, parse_special);
    if (got > cap) {
        og_token *bigger = realloc(toks, (size_t)got * sizeof *toks);
        if (!bigger) {
            free(toks);
            return "out of memory";
        }
        toks = bigger;
        got = og_tokenize(s->model, text, len, toks, got, true, parse_special);
    }
    if (got < 0) {
        free(toks);
        return "the prompt cannot be tokenized";
    }
    *out = toks;
    *n = got;
    return NULL;
}

static atomic_uint_fast64_t next_id;

enum MHD_Result og_srv_generate(og_server *s, struct MHD_Connection *c, og_srv_req *r, bool chat)
{
    if (!s->model)
        return og_srv_reply_error(s, c, r, 404, "invalid_request_error", "model_not_found",
                                  "this server has no generation model (only embeddings)");
    char bad_json[256];
    json_t *root = og_srv_parse_body(r, bad_json, sizeof bad_json);
    if (!root)
        return BAD("invalid_json", "%s", bad_json);
    if (!json_is_object(root)) {
        json_decref(root);
        return BAD("invalid_json", "the body must be a JSON object");
    }
    gen_req g = { 0 };
    const char *why = parse_common(s, root, &g, chat);
    if (!why && chat) {
        why = render_chat(s, json_object_get(root, "messages"), &g);
    } else if (!why) {
        json_t *p = json_object_get(root, "prompt");
        if (json_is_array(p) && json_array_size(p) == 1)
            p = json_array_get(p, 0);
        if (!json_is_string(p))
            why = "'prompt' must be a string (or an array of one string)";
        else if (!(g.prompt = strdup(json_string_value(p))))
            why = "out of memory";
    }
    og_token *toks = NULL;
    int32_t n_toks = 0;
    if (!why)
        why = tokenize_prompt(s, g.prompt, chat, &toks, &n_toks);
    free(g.prompt);
    const int32_t n_ctx = s->p.n_ctx;
    if (!why && (n_toks < 1 || n_toks >= n_ctx)) {
        free(toks);
        json_decref(root);
        return BAD("context_length_exceeded", "the prompt has %d tokens; this server's context holds %d", n_toks,
                   n_ctx);
    }
    og_srv_job *job = why ? NULL : og_srv_job_new(toks, n_toks);
    free(toks);
    if (why || !job) {
        enum MHD_Result ret = BAD("invalid_value", "%s", why ? why : "out of memory");
        json_decref(root);
        return ret;
    }
    int32_t room = n_ctx - n_toks;
    int32_t want = g.max_tokens > 0 ? g.max_tokens : chat ? s->p.max_tokens : 16;
    job->max_tokens = want < room ? want : room;
    job->sampling = g.sampling;
    job->json_object = g.json_object;
    for (int i = 0; i < g.n_stop; i++)
        if ((job->stop[job->n_stop] = strdup(g.stop[i])))
            job->n_stop++;
    job->deadline = og_srv_now() + s->p.timeout_seconds;
    json_decref(root); /* g.stop pointed into it */
    if (!og_srv_submit(s, job)) {
        og_srv_job_release(job);
        r->retry_after = true;
        return og_srv_reply_error(s, c, r, 503, "server_error", "overloaded",
                                  "every slot is busy and the queue is full; retry shortly");
    }
    og_srv_answer a = { .srv = s, .job = job, .chat = chat, .include_usage = g.include_usage,
                        .model = s->model_id, .created = (int64_t)time(NULL), .fd = r->fd };
    snprintf(a.id, sizeof a.id, "%s-%llu", chat ? "chatcmpl" : "cmpl",
             (unsigned long long)atomic_fetch_add(&next_id, 1) + 1);
    if (g.stream)
        return og_srv_stream(c, r, &a);
    enum MHD_Result ret = reply_whole(c, r, &a);
    if (ret == MHD_NO)
        og_srv_job_cancel(job);
    og_srv_job_release(job);
    return ret;
}
