#!/usr/bin/env bash
# cli_bert.sh OFFGRID SHARED_MODELS MODELS_DIR - offgrid embed and classify:
# help, clear errors with non-zero exits, and vectors that agree with the
# library on all-MiniLM-L6-v2 (MODELS_DIR/all-MiniLM-L6-v2.f32.gguf).
set -u
og=$1 shared=$2 models=$3
. "$(dirname "$0")/testlib/cli.sh"

minilm=$models/all-MiniLM-L6-v2.f32.gguf
stories=$shared/stories260K.gguf
for cmd in embed classify; do
    expect "$cmd --help" 0 "usage: offgrid $cmd" -- "$og" "$cmd" --help
    expect "$cmd missing model" 2 "-m MODEL is required" -- "$og" "$cmd" -p hi
    expect "$cmd no such model" 1 "cannot open /nonexistent.gguf" -- "$og" "$cmd" -m /nonexistent.gguf -p hi
    expect "$cmd not an encoder" 1 "not an encoder model" -- "$og" "$cmd" -m "$stories" -p hi
done
if [ ! -f "$minilm" ]; then
    echo "missing $minilm: convert sentence-transformers/all-MiniLM-L6-v2 to F32 GGUF there" >&2
    fail=$((fail + 1))
    finish cli_bert
    exit
fi
for cmd in embed classify; do
    expect "$cmd needs text" 2 "exactly one of -p TEXT or -f FILE" -- "$og" "$cmd" -m "$minilm"
    expect "$cmd both texts" 2 "exactly one of -p TEXT or -f FILE" -- "$og" "$cmd" -m "$minilm" -p a -f b
    expect "$cmd unreadable file" 1 "cannot open $tmp/none.txt" -- "$og" "$cmd" -m "$minilm" -f "$tmp/none.txt"
    expect "$cmd bad threads" 2 "-t expects a whole number" -- "$og" "$cmd" -m "$minilm" -p hi -t x
done
expect "max tokens past the model" 1 "exceeds the model's 512 positions" -- "$og" embed -m "$minilm" -p hi --max-tokens 600
expect "classify without a head" 1 "has no classification head" -- "$og" classify -m "$minilm" -p hi
expect "calibrate --help" 0 "usage: offgrid calibrate" -- "$og" calibrate --help
expect "calibrate needs -f" 2 "-f LABELED.tsv is required" -- "$og" calibrate -m "$minilm"
printf 'positive\tgreat\n' >"$tmp/labels.tsv"
expect "calibrate without a head" 1 "no classification head" -- "$og" calibrate -m "$minilm" -f "$tmp/labels.tsv"

# One line of 384 numbers per text; a file gives one vector per line, the
# same as -p for each line, whatever the batch size and threads.
printf 'A man is eating food.\n\nThe girl is carrying a baby.\n' >"$tmp/texts.txt"
"$og" embed -m "$minilm" -f "$tmp/texts.txt" -t 2 --batch 8 >"$tmp/file.out" 2>"$tmp/err"
rc=$?
lines=$(wc -l <"$tmp/file.out")
words=$(head -n 1 "$tmp/file.out" | wc -w)
a=$("$og" embed -m "$minilm" -p "The girl is carrying a baby." -t 1 2>/dev/null)
if [ "$rc" -eq 0 ] && [ "$lines" -eq 3 ] && [ "$words" -eq 384 ] && [ "$a" = "$(sed -n 3p "$tmp/file.out")" ]; then
    pass=$((pass + 1))
else
    fail=$((fail + 1))
    echo "FAIL embed -f: exit $rc, $lines lines, $words numbers, line 3 differs from -p" >&2
fi
: >"$tmp/empty.txt"
out=$("$og" embed -m "$minilm" -f "$tmp/empty.txt" 2>/dev/null)
rc=$?
if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
    pass=$((pass + 1))
else
    fail=$((fail + 1)); echo "FAIL embed empty file: exit $rc, output '${out:0:80}'" >&2
fi
b=$("$og" embed -m "$minilm" -f - -t 2 --batch 8 <"$tmp/texts.txt" 2>/dev/null)
if [ -n "$b" ] && [ "$b" = "$(cat "$tmp/file.out")" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL embed -f - differs from -f FILE" >&2; fi
expect "embed /dev/zero" 1 "offgrid embed: /dev/zero is larger than the 256 MiB a text file may be" -- \
    "$og" embed -m "$minilm" -f /dev/zero
# info on an embedding model: pooling and dimension, not a decoder's rope base or KV cache.
expect "info pooling" 0 "pooling:       mean" -- "$og" info -m "$minilm"
expect "info dimension" 0 "dimension:     384" -- "$og" info -m "$minilm"
expect "info no head" 0 "classifier:    none" -- "$og" info -m "$minilm"
if grep -q "rope base" "$tmp/out"; then fail=$((fail + 1)); echo "FAIL info on an encoder shows rope base" >&2; else pass=$((pass + 1)); fi
expect "info json encoder" 0 '"encoder": {"pooling": "mean", "dim": 384, "max_tokens": 256, "classifier": null}' -- \
    "$og" info -m "$minilm" --json
expect "embed json" 0 '"dim": 384, "data": [' -- "$og" embed -m "$minilm" -p "hello" --json
expect "embed json index" 0 '{"index": 2, "embedding": [' -- "$og" embed -m "$minilm" -f "$tmp/texts.txt" --json

finish cli_bert
