/*
 * test_server_text.c - the server's byte-level helpers: JSON strings from
 * text that is not valid UTF-8 (where generated text may be cut moved to
 * the core: test_generate.c), base64 (RFC 4648 vectors) and the key
 * comparison.
 */
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "server/server.h"

static void base64_is(const char *in, const char *want)
{
    char *got = og_srv_base64(in, strlen(in));
    CHECK(got && !strcmp(got, want), "base64('%s') = '%s', want '%s'", in, got ? got : "(null)", want);
    free(got);
}

static void text_is(const char *in, size_t n, const char *want)
{
    json_t *j = og_srv_json_text(in, n);
    CHECK(j && json_is_string(j) && !strcmp(json_string_value(j), want), "json_text gave '%s'",
          j ? json_string_value(j) : "(null)");
    json_decref(j);
}

int main(void)
{
    base64_is("", "");
    base64_is("f", "Zg==");
    base64_is("fo", "Zm8=");
    base64_is("foo", "Zm9v");
    base64_is("foob", "Zm9vYg==");
    base64_is("fooba", "Zm9vYmE=");
    base64_is("foobar", "Zm9vYmFy");

    /* "é" is C3 A9, "€" E2 82 AC, U+1F600 F0 9F 98 80. */

    text_is("caf\xc3\xa9", 5, "caf\xc3\xa9");
    text_is("a\xff" "b", 3, "a\xef\xbf\xbd" "b");
    text_is("\xc3", 1, "\xef\xbf\xbd");
    text_is("\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* a surrogate is not UTF-8 */
    text_is("\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd");                 /* overlong */
    text_is("nul\0in", 6, "nul");                                       /* compared as C strings here */

    CHECK(og_srv_secret_equal("secret", "secret"), "equal");
    CHECK(!og_srv_secret_equal("secreT", "secret"), "one byte differs");
    CHECK(!og_srv_secret_equal("secret-and-more", "secret"), "longer guess");
    CHECK(!og_srv_secret_equal("sec", "secret"), "prefix");
    CHECK(!og_srv_secret_equal("", "secret"), "empty");
    return og_test_finish("test_server_text");
}
