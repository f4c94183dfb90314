#!/usr/bin/env bash
# cli_convert.sh OFFGRID SHARED_MODELS MODELS_DIR - `offgrid convert`:
# help, clear errors with non-zero exits and no output left behind on bad
# input, and a real conversion of all-MiniLM-L6-v2 (from tools/setup.sh
# --models) that offgrid then tokenizes with.
set -u
og=$1 models=$3
. "$(dirname "$0")/testlib/cli.sh"

minilm=$models/all-MiniLM-L6-v2
out=$tmp/out.gguf

# expect_fail NAME WANT_EXIT WANT_TEXT -- command...: as expect, and no output file.
expect_fail() {
    expect "$@"
    if [ -e "$out" ] || [ -e "$out.partial" ]; then
        fail=$((fail + 1))
        echo "FAIL $1: output file left behind" >&2
        rm -f "$out" "$out.partial"
    fi
}

expect "convert --help" 0 "usage: offgrid convert HF_DIR" -- "$og" convert --help
expect "listed in help" 0 "convert" -- "$og" --help
expect_fail "no folder" 2 "give the model folder" -- "$og" convert -o "$out"
expect_fail "no output" 2 "-o OUT.gguf is required" -- "$og" convert "$tmp"
expect_fail "bad type" 2 "unknown --type 'q4_7'" -- "$og" convert "$tmp" -o "$out" --type q4_7
expect_fail "two folders" 2 "unknown option 'b'" -- "$og" convert a b -o "$out"
expect_fail "missing folder" 1 "cannot open /nonexistent/dir/config.json" -- "$og" convert /nonexistent/dir -o "$out"
mkdir -p "$tmp/hf"
expect_fail "missing config" 1 "cannot open $tmp/hf/config.json" -- "$og" convert "$tmp/hf" -o "$out"
echo '{"architectures":["MambaForCausalLM"]}' >"$tmp/hf/config.json"
printf '\x02\0\0\0\0\0\0\0{}' >"$tmp/hf/model.safetensors"
expect_fail "unsupported architecture" 1 "unsupported architecture 'MambaForCausalLM'" -- "$og" convert "$tmp/hf" -o "$out"
if [ -d "$minilm" ]; then
    cp "$minilm"/config.json "$minilm"/vocab.txt "$tmp/hf/"
    head -c 20000 "$minilm/model.safetensors" >"$tmp/hf/model.safetensors"
    expect_fail "truncated safetensors" 1 "model.safetensors: safetensors: tensor" -- "$og" convert "$tmp/hf" -o "$out"
    printf '\xff\xff\0\0\0\0\0\0{"a":' >"$tmp/hf/model.safetensors"
    expect_fail "malformed safetensors" 1 "runs past the end of the file" -- "$og" convert "$tmp/hf" -o "$out"

    # A checkpoint without weights: no tokenizer-only GGUF, the first missing tensor named.
    printf '\x02\0\0\0\0\0\0\0{}' >"$tmp/hf/model.safetensors"
    expect_fail "no tensors" 1 "model.safetensors has no tensor for 'token_embd.weight' (of 0 tensors)" -- \
        "$og" convert "$tmp/hf" -o "$out"
    rm "$tmp/hf/model.safetensors"
    mkfifo "$tmp/hf/model.safetensors"
    # timeout: opening a FIFO used to wait for a writer forever; 60 s is far past what refusing takes.
    expect_fail "fifo safetensors" 1 "$tmp/hf/model.safetensors is not a regular file" -- \
        timeout 60 "$og" convert "$tmp/hf" -o "$out"
    # The same for the JSON and vocabulary files beside it.
    for f in config.json vocab.txt modules.json; do
        mkdir -p "$tmp/hf_$f"
        cp "$minilm"/config.json "$minilm"/vocab.txt "$minilm"/model.safetensors "$tmp/hf_$f/" 2>/dev/null
        rm -f "$tmp/hf_$f/$f"
        mkfifo "$tmp/hf_$f/$f"
        expect_fail "fifo $f" 1 "$tmp/hf_$f/$f is not a regular file" -- timeout 60 "$og" convert "$tmp/hf_$f" -o "$out"
        rm -rf "$tmp/hf_$f"
    done
    expect "convert minilm" 0 "wrote $out" -- "$og" convert "$minilm" -o "$out" --type q8_0
    expect "progress line" 0 "[104/104]" -- "$og" convert "$minilm" -o "$out" --type q8_0
    expect "convert json" 0 "{\"output\": \"$out\", \"type\": \"q8_0\", \"bytes\": $(stat -c %s "$out")}" -- \
        "$og" convert "$minilm" -o "$out" --type q8_0 --json
    expect "tokenize converted" 0 "101 7592 2088 102" -- "$og" tokenize -m "$out" -p "hello world"
else
    fail=$((fail + 1))
    echo "FAIL $minilm is missing: run tools/setup.sh --models" >&2
fi

finish cli_convert
