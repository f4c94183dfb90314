#!/usr/bin/env bash
# cli_qwen2_ppl.sh - `offgrid perplexity` on both Qwen2.5 files gives
# llama-perplexity's figures (tests/fixtures/qwen2_ppl.txt: context 512 on
# tests/data/ppl_text.txt, llama.cpp's AVX2 build, whose order
# OG_LLAMA_BUILD=avx2 selects). The running estimates are compared as
# llama.cpp prints them (4 decimals); CI scores 2 chunks of the 1.5B and 4
# of the 0.5B to keep its time, the fixture has 4 of each.
# Arguments: OFFGRID SHARED_MODELS_DIR MODELS_DIR
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/testlib/cli.sh"
og=$1 models=$3
fixture=$here/fixtures/qwen2_ppl.txt
text=$here/data/ppl_text.txt
export OG_LLAMA_BUILD=avx2

check_model() {
    local name=$1 chunks=$2 want
    if [ ! -f "$models/$name.gguf" ]; then
        fail=$((fail + 1))
        echo "FAIL $name: missing $models/$name.gguf: run tools/setup.sh first" >&2
        return
    fi
    # the fixture's first CHUNKS running estimates, e.g. [1]24.9269,[2]27.5880
    want=$(grep "^$name \[" "$fixture" | cut -d' ' -f2 | cut -d, -f"1-$chunks")
    "$og" perplexity -m "$models/$name.gguf" -f "$text" -c 512 --chunks "$chunks" -t 2 --json \
        >"$tmp/ppl.json" 2>"$tmp/ppl.err"
    local got
    got=$(tr ',' '\n' <"$tmp/ppl.err" | grep -o '\[[0-9]*\][0-9.]*' | paste -sd, -)
    if [ -n "$want" ] && [ "$got" = "$want" ]; then
        pass=$((pass + 1))
        echo "$name: $got (llama-perplexity: $want)"
    else
        fail=$((fail + 1))
        echo "FAIL $name: running perplexity '$got', llama-perplexity '$want'" >&2
        cat "$tmp/ppl.err" >&2
    fi
    # the JSON's perplexity is the last running value, unrounded
    local last=${want##*]}
    expect "$name json" 0 "\"n_chunks\": $chunks" -- cat "$tmp/ppl.json"
    if python3 -c "import json,sys; v=json.load(open('$tmp/ppl.json'))['perplexity']; sys.exit(0 if '%.4f' % v == '$last' else 1)"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL $name json: perplexity is not $last: $(cat "$tmp/ppl.json")" >&2
    fi
}

check_model qwen2.5-coder-0.5b-instruct 4
check_model qwen2.5-coder-1.5b-instruct-q4_k_m 2
finish cli_qwen2_ppl
