#!/usr/bin/env bash
# fuzz.sh [SECONDS] - builds the libFuzzer targets with clang, ASan and
# UBSan, and runs each for SECONDS (default 60) from a seed corpus of the
# real GGUF files. A finding makes the script fail and leaves the crash
# file in build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shared=$(cd ../shared/models && pwd)
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOG_BUILD_FUZZ=ON -DOG_SANITIZE=ON \
    -DOG_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_gguf fuzz_tokenize fuzz_safetensors fuzz_json_grammar \
    fuzz_docs_extract fuzz_mcp

mkdir -p build-fuzz/corpus-gguf build-fuzz/corpus-tok build-fuzz/corpus-st build-fuzz/corpus-json \
    build-fuzz/corpus-docs build-fuzz/corpus-mcp
cp -n "$shared"/vocab/*.gguf build-fuzz/corpus-gguf/ 2>/dev/null || true
# A whole model is large for a fuzzer: seed with its header and metadata.
head -c 16384 "$shared/stories260K.gguf" > build-fuzz/corpus-gguf/stories260K-head.gguf
# safetensors seeds: a small valid file, and the regression inputs.
st_header='{"__metadata__":{"format":"pt"},"a":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[8,10]}}'
# (the 8-byte length is written as one octal byte and seven zeros: the header is under 256 bytes)
{ printf "\\$(printf '%03o' ${#st_header})\0\0\0\0\0\0\0"; printf '%s' "$st_header"
  printf '\0\74\0\300\0\70\377\173\200\77'; } > build-fuzz/corpus-st/seed-small.safetensors
cp -n tests/data/fuzz/st-*.input build-fuzz/corpus-st/ 2>/dev/null || true
# JSON seeds: the first byte picks the chunk size and object-only mode.
printf '\001{"a": [1, -2.5e3, true, null], "b": {"c": "\\u00e9\\n"}}' > build-fuzz/corpus-json/seed-object
printf '\004[1, "x", {}]' > build-fuzz/corpus-json/seed-array
# Documents seeds: the first byte picks the reader (0 .txt, 1 .md, 2 .html).
for k in 0:txt 1:md 2:html; do
    { printf "\\$(printf '%03o' "${k%%:*}")"; cat "tests/fixtures/docs/sample.${k#*:}"; } >"build-fuzz/corpus-docs/seed-${k#*:}"
done
# MCP seeds: a session's lines in both protocol eras.
printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"f","version":"1"}}}' \
    '{"jsonrpc":"2.0","method":"notifications/initialized"}' '{"jsonrpc":"2.0","id":2,"method":"tools/list"}' \
    '{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"search","arguments":{"query":"x","k":3}}}' \
    >build-fuzz/corpus-mcp/seed-legacy
printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}' \
    '{"jsonrpc":"2.0","id":2,"method":"resources/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}' \
    >build-fuzz/corpus-mcp/seed-modern
awk 'BEGIN{RS="\n__ggml_vocab_test__\n"} {print > ("build-fuzz/corpus-tok/seed" NR)}' "$shared/vocab/ggml-vocab-gpt-2.gguf.inp"

cd build-fuzz
ASAN_OPTIONS=detect_leaks=1 ./bin/fuzz_gguf -max_total_time="$secs" -max_len=262144 -rss_limit_mb=4096 \
    -print_final_stats=1 corpus-gguf 2>&1 | tail -n 12
ASAN_OPTIONS=detect_leaks=1 ./bin/fuzz_safetensors -max_total_time="$secs" -max_len=65536 -rss_limit_mb=4096 \
    -print_final_stats=1 corpus-st 2>&1 | tail -n 12
OG_VOCAB_DIR="$shared/vocab" ASAN_OPTIONS=detect_leaks=1 ./bin/fuzz_tokenize -max_total_time="$secs" \
    -max_len=4096 -print_final_stats=1 corpus-tok 2>&1 | tail -n 12
ASAN_OPTIONS=detect_leaks=1 ./bin/fuzz_json_grammar -max_total_time="$secs" -max_len=4096 \
    -print_final_stats=1 corpus-json 2>&1 | tail -n 12
# The service parsers run a third as long: CI's time is counted.
ASAN_OPTIONS=detect_leaks=1 ./bin/fuzz_docs_extract -max_total_time="$((secs / 3))" -max_len=65536 -rss_limit_mb=4096 \
    -print_final_stats=1 corpus-docs 2>&1 | tail -n 12
ASAN_OPTIONS=detect_leaks=1 ./bin/fuzz_mcp -max_total_time="$((secs / 3))" -max_len=16384 -rss_limit_mb=4096 \
    -print_final_stats=1 corpus-mcp 2>&1 | tail -n 12
