#!/usr/bin/env bash
# test.sh - builds and runs the whole test suite twice: an optimized build,
# then one under AddressSanitizer and UndefinedBehaviorSanitizer (with a
# core-only build in between, checked free of outer modules), and the
# multi-threaded forward pass under ThreadSanitizer. Needs
# tools/setup.sh to have run (dependencies and models).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

echo "== Release build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

echo "== Install, then build a program against it (pkg-config and CMake package)"
inst=$(mktemp -d)
cmake --install build --prefix "$inst" >/dev/null
export PKG_CONFIG_PATH="$inst/lib/pkgconfig"
cc tests/install/app.c $(pkg-config --cflags --libs --static offgrid) -o "$inst/app-pc"
"$inst/app-pc" ../shared/models/stories260K.gguf
cmake -S tests/install -B "$inst/cmake-build" -DCMAKE_PREFIX_PATH="$inst" >/dev/null
cmake --build "$inst/cmake-build" >/dev/null
"$inst/cmake-build/app" ../shared/models/stories260K.gguf
unset PKG_CONFIG_PATH
rm -rf "$inst"

echo "== Core-only build (OG_CORE_ONLY): no outer module, no jansson, SQLite, libsodium, libcurl or libzip"
cmake -S . -B build-core -DCMAKE_BUILD_TYPE=Release -DOG_CORE_ONLY=ON -DOG_BUILD_TESTS=OFF >/dev/null
cmake --build build-core -j"$jobs" --target offgrid offgrid_cli
if nm build-core/liboffgrid.a | grep -E ' [UT] (json_|sqlite3_|sodium_|crypto_|curl_|zip_|MHD_|og_convert_|og_st_|og_store_|og_registry_|og_blob_|og_server_|og_srv_)'; then
    echo "test.sh: the core-only library still has outer-module or jansson symbols" >&2
    exit 1
fi

echo "== ARM64: the kernels' NEON paths (with and without dot-product) against the scalar ones, under qemu"
arm=$(mktemp -d)
tensor_sources=$(ls src/tensor/*.c | grep -v -E 'quants_(avx2|avx512)\.c$')
for march in armv8-a armv8.2-a+dotprod+fp16; do
    aarch64-linux-gnu-gcc -std=gnu11 -O2 -ffp-contract=off -march="$march" -static -Iinclude -Isrc -Itests/testlib \
        -DOG_MODELS_DIR='"models"' -DOG_SHARED_MODELS='"../shared/models"' -DOG_TEST_DATA='"tests/data"' \
        -DOG_CLI_PATH='"build/bin/offgrid"' tests/test_kernels.c tests/testlib/testlib.c $tensor_sources \
        -lm -lpthread -o "$arm/test_kernels"
    qemu-aarch64-static "$arm/test_kernels"
done
rm -rf "$arm"

echo "== ASan + UBSan build"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOG_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan --output-on-failure -j"$jobs"

echo "== ThreadSanitizer (thread pool and the threaded forward pass)"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOG_TSAN=ON >/dev/null
cmake --build build-tsan -j"$jobs" --target test_llama
TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build-tsan --output-on-failure -R '^test_llama$'
