#!/usr/bin/env bash
# test.sh - builds and runs the whole test suite twice: an optimized build,
# then one under AddressSanitizer and UndefinedBehaviorSanitizer (with a
# core-only build in between, checked free of outer modules), and the
# multi-threaded forward pass and the generation loop under ThreadSanitizer,
# then every fuzzer for a bounded time (OG_FUZZ_SECONDS, default 35),
# after checking the layers (include rules, exported symbols). Needs
# tools/setup.sh to have run (dependencies and models).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

echo "== Release build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== Layers: include rules, and the shared library exports exactly the public headers"
tools/check_layers.sh includes
tools/check_layers.sh exports build/liboffgrid.so include/offgrid.h include/offgrid_transform.h include/offgrid_services.h

echo "== Install, then build a program against it (pkg-config and CMake package)"
inst=$(mktemp -d)
cmake --install build --prefix "$inst" >/dev/null
tools/check_layers.sh exports "$inst"/lib/liboffgrid.so "$inst"/include/offgrid*.h
export PKG_CONFIG_PATH="$inst/lib/pkgconfig"
# Not --static: the app links the shared library, and a static link would
# need every dependency's own static libraries (Leptonica's libtiff, libwebp,
# openjpeg ...), which -dev packages do not all pull in.
cc tests/install/app.c $(pkg-config --cflags --libs offgrid) -o "$inst/app-pc"
# An installed shared library outside the loader's paths: say where it is.
LD_LIBRARY_PATH="$inst/lib" "$inst/app-pc" ../shared/models/stories260K.gguf
cmake -S tests/install -B "$inst/cmake-build" -DCMAKE_PREFIX_PATH="$inst" >/dev/null
cmake --build "$inst/cmake-build" >/dev/null
"$inst/cmake-build/app" ../shared/models/stories260K.gguf
unset PKG_CONFIG_PATH
rm -rf "$inst"

echo "== Core-only build (OG_CORE_ONLY): the core tier alone, no jansson, SQLite, libsodium, libcurl, libzip, libmicrohttpd, libxml2 or Tesseract"
cmake -S . -B build-core -DCMAKE_BUILD_TYPE=Release -DOG_CORE_ONLY=ON -DOG_BUILD_TESTS=OFF >/dev/null
cmake --build build-core -j"$jobs" --target offgrid offgrid_internal offgrid_cli
if nm build-core/liboffgrid_internal.a | grep -E ' [UT] (json_|sqlite3_|sodium_|crypto_|curl_|zip_|MHD_|og_convert_|og_st_|og_store_|og_registry_|og_blob_|og_server_|og_srv_|og_synth_|og_docs_|og_mcp_|xml[A-Z]|html[A-Z]|Tess|pix[A-Z])'; then
    echo "test.sh: the core-only library still has transform, service or outer-library symbols" >&2
    exit 1
fi
core_inst=$(mktemp -d)
cmake --install build-core --prefix "$core_inst" >/dev/null
if [ "$(ls "$core_inst"/include)" != offgrid.h ]; then
    echo "test.sh: a core-only install must ship offgrid.h alone, got: $(ls "$core_inst"/include)" >&2
    exit 1
fi
tools/check_layers.sh exports "$core_inst"/lib/liboffgrid.so "$core_inst"/include/offgrid.h
rm -rf "$core_inst"

echo "== ARM64: the kernels' NEON paths (with and without dot-product) against the scalar ones, under qemu"
arm=$(mktemp -d)
tensor_sources=$(ls src/core/tensor/*.c | grep -v -E '_(avx2|avx512)\.c$')
for march in armv8-a armv8.2-a+dotprod+fp16; do
    aarch64-linux-gnu-gcc -std=gnu11 -O2 -ffp-contract=off -march="$march" -static -Iinclude -Isrc/core -Itests/testlib \
        -DOG_MODELS_DIR='"models"' -DOG_SHARED_MODELS='"../shared/models"' -DOG_TEST_DATA='"tests/data"' \
        -DOG_CLI_PATH='"build/bin/offgrid"' tests/test_kernels.c tests/testlib/testlib.c $tensor_sources \
        -lm -lpthread -o "$arm/test_kernels"
    qemu-aarch64-static "$arm/test_kernels"
done
rm -rf "$arm"

echo "== ASan + UBSan build"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOG_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
# Tests labelled heavy (whole real models, minutes each) run only above.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs" -LE heavy

echo "== ThreadSanitizer (thread pool, the threaded forward pass and the generation loop over it)"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOG_TSAN=ON >/dev/null
cmake --build build-tsan -j"$jobs" --target test_pool test_llama test_generate
TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build-tsan --output-on-failure -R '^test_(pool|llama|generate)$'

fuzz_secs=${OG_FUZZ_SECONDS:-35}
echo "== Fuzzers (libFuzzer with ASan + UBSan), $fuzz_secs s each: a finding fails the run"
tools/fuzz.sh "$fuzz_secs"
