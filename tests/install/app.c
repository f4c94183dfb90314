/*
 * app.c - the smallest program an app developer would write against an
 * installed offgrid: tools/test.sh builds it through pkg-config and
 * through the CMake package to check that an install is usable.
 */
#include <offgrid.h>
#include <stdio.h>
int main(int argc, char **argv) {
    og_model *m; og_error e;
    if (og_model_load(argv[1], NULL, &m, &e) != OG_OK) { fprintf(stderr, "%s\n", e.message); return 1; }
    og_model_info info; og_model_get_info(m, &info);
    printf("%s %d layers\n", info.arch, info.n_layer);
    og_model_free(m); return 0;
}
