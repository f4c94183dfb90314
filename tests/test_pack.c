/*
 * test_pack.c - repacked weights at the model level and their cache
 * (model/pack.c, model/pack_cache.c). Random-weight tiny models in Q8_0,
 * Q4_1 and Q4_0 (every matrix packed where this ISA repacks the type, the
 * tied output too, so token lookups read packed rows) must give the same
 * logits whether packed in memory, written to the cache, or mapped back
 * from it; and the cache must be rewritten when the model file changes or
 * the cache file is damaged, and be skipped when it cannot be written.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "offgrid.h"
#include "offgrid_transform.h"
#include "tensor/kernels.h"
#include "testlib.h"

enum { N_PROMPT = 6, N_VOCAB = 512 };

/* The logits after a short prompt, or false if the model did not load. */
static bool logits_of(const char *path, const char *cache_dir, float *out)
{
    og_model_params mp = og_model_default_params();
    mp.cache_dir = cache_dir;
    og_model *m = NULL;
    og_context *ctx = NULL;
    og_error err = { 0 };
    bool ok = og_model_load(path, &mp, &m, &err) == OG_OK;
    CHECK(ok, "load %s (cache %s): %s", path, cache_dir ? cache_dir : "none", err.message);
    og_context_params cp = og_context_default_params();
    cp.n_ctx = 64;
    ok = ok && og_context_new(m, &cp, &ctx, &err) == OG_OK;
    const og_token prompt[N_PROMPT] = { 1, 17, 300, 5, 511, 42 };
    ok = ok && og_decode(ctx, prompt, N_PROMPT, false, &err) == OG_OK;
    CHECK(ok && og_vocab_size(m) == N_VOCAB, "decode: %s", err.message);
    if (ok)
        memcpy(out, og_get_logits(ctx, -1), sizeof(float) * N_VOCAB);
    og_context_free(ctx);
    og_model_free(m);
    return ok;
}

/* The one cache file in dir: its path and inode (0 if not exactly one). */
static ino_t cache_file(const char *dir, char *path, size_t cap)
{
    DIR *d = opendir(dir);
    int n = 0;
    ino_t ino = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        const size_t len = strlen(e->d_name);
        if (len > 7 && strcmp(e->d_name + len - 7, ".ogpack") == 0) {
            snprintf(path, cap, "%s/%s", dir, e->d_name);
            struct stat st;
            ino = stat(path, &st) == 0 ? st.st_ino : 0;
            n++;
        }
    }
    if (d)
        closedir(d);
    return n == 1 ? ino : 0;
}

static void check_same(const float *want, const float *got, const char *what)
{
    CHECK(memcmp(want, got, sizeof(float) * N_VOCAB) == 0, "%s: logits differ from the in-memory packing", what);
}

/* A tiny random-weight model of a type in model and an empty folder in
 * dir (both templates ending in XXXXXX). */
static bool make_model(const char *type, uint64_t seed, char *model, char *dir)
{
    const int fd = mkstemp(model);
    og_error err = { 0 };
    if (fd < 0 || !mkdtemp(dir)) {
        CHECK(0, "cannot make temporary files");
        return false;
    }
    close(fd);
    CHECK(og_synth_write(model, "tiny", type, seed, NULL, NULL, &err) == OG_OK, "synth %s: %s", type, err.message);
    return true;
}

static void test_type(const char *type, og_type plain)
{
    char model[] = "/tmp/og_test_pack_model_XXXXXX", dir[] = "/tmp/og_test_pack_cache_XXXXXX";
    if (!make_model(type, 7, model, dir))
        return;
    float want[N_VOCAB], got[N_VOCAB];
    char cached[4200], what[64];
    if (!logits_of(model, NULL, want))
        goto done;
    snprintf(what, sizeof what, "%s, first load with a cache", type);
    logits_of(model, dir, got);
    check_same(want, got, what);
    if (plain != OG_TYPE_Q4_0 && !og_kernels_best()->repack_faster[plain]) {
        /* this ISA computes the plain layout: nothing to cache */
        CHECK(cache_file(dir, cached, sizeof cached) == 0, "%s is not repacked with %s, yet cached", type,
              og_kernels_best()->isa);
        goto done;
    }
    const ino_t first = cache_file(dir, cached, sizeof cached);
    CHECK(first != 0, "%s: one cache file after the first load", type);

    snprintf(what, sizeof what, "%s, mapped from the cache", type);
    logits_of(model, dir, got);
    check_same(want, got, what);
    CHECK(cache_file(dir, cached, sizeof cached) == first, "%s: a hit must not rewrite the cache file", type);
    char other_name[128];
    snprintf(other_name, sizeof other_name, "/tmp/../tmp/%s", model + 5);
    snprintf(what, sizeof what, "%s, the model named another way", type);
    logits_of(other_name, dir, got);
    check_same(want, got, what);
    CHECK(cache_file(dir, cached, sizeof cached) == first, "%s: another name of the same file must hit", type);

    /* the model file changes (a new mtime): the cached copy is stale */
    struct timespec times[2] = { { 0, UTIME_OMIT }, { 1000000000, 0 } };
    CHECK(utimensat(AT_FDCWD, model, times, 0) == 0, "utimensat");
    snprintf(what, sizeof what, "%s, after the model changed", type);
    logits_of(model, dir, got);
    check_same(want, got, what);
    const ino_t second = cache_file(dir, cached, sizeof cached);
    CHECK(second != 0 && second != first, "%s: a changed model must rewrite its cache file", type);

    /* a damaged header, then a truncated file: misses, rewritten */
    int cfd = open(cached, O_WRONLY);
    CHECK(cfd >= 0 && pwrite(cfd, "X", 1, 0) == 1, "damage %s", cached);
    if (cfd >= 0)
        close(cfd);
    snprintf(what, sizeof what, "%s, after a damaged header", type);
    logits_of(model, dir, got);
    check_same(want, got, what);
    const ino_t third = cache_file(dir, cached, sizeof cached);
    CHECK(third != 0 && third != second, "%s: a damaged cache file must be rewritten", type);
    CHECK(truncate(cached, 4096) == 0, "truncate %s", cached);
    snprintf(what, sizeof what, "%s, after a truncated file", type);
    logits_of(model, dir, got);
    check_same(want, got, what);
    CHECK(cache_file(dir, cached, sizeof cached) != third, "%s: a truncated cache file must be rewritten", type);
    unlink(cached);

    /* a cache folder that cannot exist (its parent is a file): still loads */
    char bad[4300];
    snprintf(bad, sizeof bad, "%s/sub", model);
    snprintf(what, sizeof what, "%s, unusable cache folder", type);
    logits_of(model, bad, got);
    check_same(want, got, what);
done:
    rmdir(dir);
    unlink(model);
}

static void touch(const char *path, time_t mtime)
{
    const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0 && write(fd, "x", 1) == 1, "create %s", path);
    if (fd >= 0)
        close(fd);
    struct timespec times[2] = { { 0, UTIME_OMIT }, { mtime, 0 } };
    CHECK(utimensat(AT_FDCWD, path, times, 0) == 0, "utimensat %s", path);
}

/* Prune keeps what matches its model and fresh temporary files, and
 * deletes copies of gone or changed models and dead writers' leftovers. */
static void test_prune(void)
{
    char model[] = "/tmp/og_test_prune_model_XXXXXX", dir[] = "/tmp/og_test_prune_cache_XXXXXX";
    og_error err = { 0 };
    if (!make_model("q4_0", 3, model, dir))
        return;
    float logits[N_VOCAB];
    logits_of(model, dir, logits);
    char cached[4200], old_tmp[4300], new_tmp[4300], other[4300];
    CHECK(cache_file(dir, cached, sizeof cached) != 0, "prune: a cache file");
    snprintf(old_tmp, sizeof old_tmp, "%s.abc123", cached);
    snprintf(new_tmp, sizeof new_tmp, "%s.def456", cached);
    snprintf(other, sizeof other, "%s/notes.txt", dir);
    touch(old_tmp, time(NULL) - 7200);
    touch(new_tmp, time(NULL));
    touch(other, time(NULL) - 7200);
    size_t n_files = 99;
    uint64_t n_bytes = 99;
    CHECK(og_model_cache_prune(dir, &n_files, &n_bytes, &err) == OG_OK, "prune: %s", err.message);
    CHECK(n_files == 1 && n_bytes == 1, "prune: %zu files, %llu bytes (want the old temporary file)", n_files,
          (unsigned long long)n_bytes);
    CHECK(access(cached, F_OK) == 0 && access(new_tmp, F_OK) == 0 && access(other, F_OK) == 0 &&
              access(old_tmp, F_OK) != 0,
          "prune deleted the wrong files");
    unlink(model);
    CHECK(og_model_cache_prune(dir, &n_files, NULL, &err) == OG_OK && n_files == 1 && access(cached, F_OK) != 0,
          "prune: the copy of a deleted model must go (%zu files)", n_files);
    CHECK(og_model_cache_prune("/nonexistent/og-cache", &n_files, NULL, &err) == OG_OK && n_files == 0,
          "prune: a missing folder is fine");
    unlink(new_tmp);
    unlink(other);
    rmdir(dir);
}

int main(void)
{
    test_prune();
    test_type("q8_0", OG_TYPE_Q8_0);
    test_type("q4_1", OG_TYPE_Q4_1);
    test_type("q4_0", OG_TYPE_Q4_0);
    return og_test_finish("test_pack");
}
