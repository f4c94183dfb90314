#!/usr/bin/env bash
# cli_basic.sh OFFGRID SHARED_MODELS MODELS_DIR - the CLI's contract: help
# on every command, clear errors with non-zero exits on bad input, and
# exact output on the small real model.
set -u
og=$1 shared=$2
. "$(dirname "$0")/testlib/cli.sh"

stories=$shared/stories260K.gguf
expect "top help" 0 "commands:" -- "$og" --help
for cmd in run chat tokenize perplexity info; do
    expect "$cmd --help" 0 "usage: offgrid $cmd" -- "$og" "$cmd" --help
done
expect "no command" 2 "usage: offgrid COMMAND" -- "$og"
expect "unknown command" 2 "unknown command 'fly'" -- "$og" fly
expect "unknown option" 2 "unknown option '--bogus'" -- "$og" run -m "$stories" --bogus
expect "bad number" 2 "-n expects a whole number" -- "$og" run -m "$stories" -n 12abc
expect "missing value" 2 "needs a value" -- "$og" run -m
expect "missing model" 2 "-m MODEL is required" -- "$og" run -p hi
expect "no such file" 1 "cannot open /nonexistent.gguf" -- "$og" run -m /nonexistent.gguf -p hi
expect "not gguf" 1 "not a GGUF file" -- "$og" info -m "$shared/stories260K.bin"
head -c 5000 "$stories" >"$tmp/truncated.gguf"
expect "truncated" 1 "truncated" -- "$og" info -m "$tmp/truncated.gguf"
expect "tokenize needs text" 2 "exactly one of -p TEXT or -f FILE" -- "$og" tokenize -m "$stories"

# stories260K greedy from BOS: llama2.c's reference ids (shared/models/MODELS.md).
expect "greedy ids" 0 "403 407 261 378 432 383 286 261 376 298 315 421 395 317 426 338 401 396 267 337 410 408 419 292 411 322 265 282 295 433 426 385 328 432 358 394 261 370 432 352 266 268 388 426 338 391 266 267" \
    -- "$og" run -m "$stories" -p "" -n 48 --temp 0 --repeat-penalty 1 --ids
expect "greedy text" 0 "Once upon a time, there was a little girl named Lily." -- "$og" run -m "$stories" -p "" -n 20 --temp 0
expect "seeded sampling" 0 "" -- "$og" run -m "$stories" -p "Once" -n 8 --temp 0.9 --seed 7 --ids
a=$("$og" run -m "$stories" -p "Once" -n 16 --temp 0.9 --seed 7 --ids 2>/dev/null)
b=$("$og" run -m "$stories" -p "Once" -n 16 --temp 0.9 --seed 7 --ids 2>/dev/null)
if [ -n "$a" ] && [ "$a" = "$b" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL same seed differs: '$a' '$b'" >&2; fi

# Repacked weights are cached: the second run maps them, same output.
expect "synth q4_0" 0 "" -- "$og" synth -o "$tmp/tiny-q4.gguf" --shape tiny --type q4_0
a=$(OFFGRID_CACHE_DIR="$tmp/cache" "$og" run -m "$tmp/tiny-q4.gguf" -p "" -n 12 --temp 0 --ids 2>/dev/null)
b=$(OFFGRID_CACHE_DIR="$tmp/cache" "$og" run -m "$tmp/tiny-q4.gguf" -p "" -n 12 --temp 0 --ids 2>/dev/null)
c=$(OFFGRID_CACHE_DIR=off "$og" run -m "$tmp/tiny-q4.gguf" -p "" -n 12 --temp 0 --ids 2>/dev/null)
n_cached=$(ls "$tmp/cache" 2>/dev/null | grep -c '\.ogpack$')
if [ -n "$a" ] && [ "$a" = "$b" ] && [ "$a" = "$c" ] && [ "$n_cached" = 1 ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL pack cache: '$a' '$b' '$c', $n_cached cache files" >&2; fi

expect "tokenize gpt-2" 0 "15496 995" -- "$og" tokenize -m "$shared/vocab/ggml-vocab-gpt-2.gguf" -p "Hello world"
printf 'Hello world' >"$tmp/hello.txt"
expect "tokenize file" 0 "15496 995" -- "$og" tokenize -m "$shared/vocab/ggml-vocab-gpt-2.gguf" -f "$tmp/hello.txt"
expect "tokenize spm bos" 0 "1 15043 3186" -- "$og" tokenize -m "$shared/vocab/ggml-vocab-llama-spm.gguf" -p "Hello world"
expect "tokenize spm no bos" 0 "15043 3186" -- "$og" tokenize -m "$shared/vocab/ggml-vocab-llama-spm.gguf" --no-bos -p "Hello world"
gpt2=$shared/vocab/ggml-vocab-gpt-2.gguf
expect "tokenize stdin" 0 "15496 995" -- bash -c '"$0" tokenize -m "$1" -f - <"$2"' "$og" "$gpt2" "$tmp/hello.txt"
# llama-tokenize's lines: the id right-aligned in 6 columns, the piece quoted.
got=$("$og" tokenize -m "$gpt2" -p "Hello world" --pieces 2>/dev/null)
want=$(printf " 15496 -> 'Hello'\n   995 -> ' world'")
if [ "$got" = "$want" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL tokenize pieces: '$got'" >&2; fi
expect "tokenize json" 0 '{"n_tokens": 2, "tokens": [{"id": 15496, "piece": "Hello"}, {"id": 995, "piece": " world"}]}' -- \
    "$og" tokenize -m "$gpt2" -p "Hello world" --json
# A byte token of a split character is not valid UTF-8 alone: U+FFFD keeps the JSON parseable.
"$og" tokenize -m "$shared/vocab/ggml-vocab-llama-spm.gguf" -p 'Hi 😀 "q"' --json >"$tmp/tok.json" 2>"$tmp/err"
if python3 - "$tmp/tok.json" <<'PY'; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL tokenize json parses" >&2; fi
import json, sys
j = json.load(open(sys.argv[1]))
assert j["n_tokens"] == len(j["tokens"]) and j["tokens"][0] == {"id": 1, "piece": "<s>"}, j
assert "".join(t["piece"] for t in j["tokens"][1:]).endswith(' "q"'), j
PY
# Reads are capped and say why they stopped; a FIFO as a model is refused, not waited on.
expect "tokenize /dev/zero" 1 "offgrid tokenize: /dev/zero is larger than the 256 MiB a text file may be" -- \
    "$og" tokenize -m "$gpt2" -f /dev/zero
expect "key file /dev/zero" 1 "offgrid serve: /dev/zero is larger than the 4 KiB a key file may be" -- \
    "$og" serve -m "$stories" --api-key-file /dev/zero
mkfifo "$tmp/fifo.gguf"
# timeout: without the fix the open waits for a writer forever; 60 s is far past the milliseconds it takes.
expect "fifo model" 1 "$tmp/fifo.gguf is not a regular file" -- timeout 60 "$og" info -m "$tmp/fifo.gguf"
expect "fifo model tokenize" 1 "$tmp/fifo.gguf is not a regular file" -- timeout 60 "$og" tokenize -m "$tmp/fifo.gguf" -p hi
expect "directory as -f" 1 "cannot read $tmp" -- "$og" tokenize -m "$gpt2" -f "$tmp"
expect "info" 0 "architecture:  llama" -- "$og" info -m "$stories"
expect "info decoder keeps rope" 0 "rope base:     10000" -- "$og" info -m "$stories"
"$og" info -m "$stories" -c 256 --json >"$tmp/info.json" 2>"$tmp/err"
if python3 - "$tmp/info.json" <<'PY'; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL info --json" >&2; fi
import json, sys
j = json.load(open(sys.argv[1]))
assert j["arch"] == "llama" and j["kind"] == "decoder" and j["n_vocab"] == 512 and j["n_layer"] == 5, j
assert j["n_embd"] == 64 and j["n_head"] == 8 and j["n_head_kv"] == 4 and j["rope_freq_base"] == 10000, j
assert j["n_ctx"] == 256 and j["context_bytes"] > 0 and j["total_bytes"] == j["context_bytes"] + j["tensor_bytes"], j
assert "encoder" not in j, j
PY
expect "info memory" 0 "context 256:" -- "$og" info -m "$stories" -c 256
printf 'Once upon a time' >"$tmp/short.txt"
expect "perplexity short text" 1 "needs at least" -- "$og" perplexity -m "$stories" -f "$tmp/short.txt" -c 64
expect "perplexity runs" 0 "perplexity: " -- "$og" perplexity -m "$stories" -f "$shared/../models/MODELS.md" -c 64
a=$("$og" perplexity -m "$stories" -f "$shared/../models/MODELS.md" -c 64 2>/dev/null)
b=$("$og" perplexity -m "$stories" -f - -c 64 <"$shared/../models/MODELS.md" 2>/dev/null)
if [ -n "$a" ] && [ "$a" = "$b" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL perplexity -f -: '$a' '$b'" >&2; fi
"$og" perplexity -m "$stories" -f "$shared/../models/MODELS.md" -c 64 --json >"$tmp/ppl.json" 2>/dev/null
if python3 - "$tmp/ppl.json" "$a" <<'PY'; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL perplexity --json" >&2; fi
import json, sys
j = json.load(open(sys.argv[1]))
assert "perplexity: %.4f +/- %.4f" % (j["perplexity"], j["stderr"]) == sys.argv[2], (j, sys.argv[2])
assert j["n_ctx"] == 64 and j["n_chunks"] == j["n_tokens"] // 64 and j["n_scored"] == (64 - 1 - 32) * j["n_chunks"], j  # llama-perplexity: tokens 32..62 predict 33..63
PY

finish cli_basic
