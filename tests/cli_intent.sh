#!/usr/bin/env bash
# cli_intent.sh OFFGRID SHARED_MODELS MODELS_DIR - offgrid add-head, and
# classify and calibrate on the real intent classifier setup builds
# (MODELS_DIR/rag-intent-classifier.f32.gguf): a temperature fitted by
# `offgrid calibrate` on one held-out half of CLINC150's test queries
# lowers the expected calibration error on the other half.
set -u
og=$1 models=$3
. "$(dirname "$0")/testlib/cli.sh"

minilm=$models/all-MiniLM-L6-v2.f32.gguf
intent=$models/rag-intent-classifier.f32.gguf
fixtures=$(dirname "$0")/fixtures
expect "add-head --help" 0 "usage: offgrid add-head" -- "$og" add-head --help
expect "add-head needs -f and -o" 2 "-f HEAD.tsv and -o OUT.gguf are required" -- "$og" add-head -m "$minilm" -f x
printf 'a\t0.5\t1\t2\nb\t0.5\t1\n' >"$tmp/ragged.tsv"
expect "add-head ragged" 1 "line 2: expected a bias and 2 weights" -- \
    "$og" add-head -m "$minilm" -f "$tmp/ragged.tsv" -o "$tmp/h.gguf"
printf 'a\t0.5\t1\tx\n' >"$tmp/nan.tsv"
expect "add-head not a number" 1 "line 1: expected a bias and 2 weights" -- \
    "$og" add-head -m "$minilm" -f "$tmp/nan.tsv" -o "$tmp/h.gguf"
printf 'a\t0.5\t1\t2\nb\t-0.5\t3\t4\n' >"$tmp/narrow.tsv"
expect "add-head wrong width" 1 "the head reads 2 floats but $minilm embeds into 384" -- \
    "$og" add-head -m "$minilm" -f "$tmp/narrow.tsv" -o "$tmp/h.gguf"
if [ ! -f "$intent" ]; then
    echo "missing $intent: tools/setup.sh --models builds it" >&2
    fail=$((fail + 1))
    finish cli_intent
    exit
fi

expect "classify urgent" 0 "urgent_attention_required" -- \
    "$og" classify -m "$intent" -p "please assist immediately, my card is showing unauthorized activity"
expect "classify translate" 0 "translate" -- "$og" classify -m "$intent" -p "how would you say fly in italian"
expect "classify json" 0 '"label": "connect_to_human", "probability": ' -- \
    "$og" classify -m "$intent" -p "i want a real person to help me from here" --json

# ECE on the test half: the "before" line of calibrate is the model's own
# temperature's.
ece_of() {
    "$og" calibrate -m "$1" -f "$fixtures/clinc150_test.tsv" -o "$tmp/scratch.gguf" 2>/dev/null |
        awk '/^before/ { print $NF }'
}
expect "calibrate writes T" 0 "wrote offgrid.classifier.temperature = " -- \
    "$og" calibrate -m "$intent" -f "$fixtures/clinc150_calib.tsv" -o "$tmp/calibrated.gguf"
fitted=$(awk '/^after/ { print $4 }' "$tmp/out")
before=$(ece_of "$intent")
after=$(ece_of "$tmp/calibrated.gguf")
echo "cli_intent: T = $fitted from clinc150_calib.tsv; ECE on clinc150_test.tsv $before -> $after" >&2
if [ -n "$before" ] && [ -n "$after" ] && awk -v a="$after" -v b="$before" 'BEGIN { exit !(a < b && a < 0.05) }'; then
    pass=$((pass + 1))
else
    fail=$((fail + 1))
    echo "FAIL calibration: ECE '$before' -> '$after'" >&2
fi
p0=$("$og" classify -m "$intent" -p "what's the weather like" | cut -f2)
p1=$("$og" classify -m "$tmp/calibrated.gguf" -p "what's the weather like" | cut -f2)
if awk -v a="$p0" -v b="$p1" 'BEGIN { exit !(b > a) }'; then
    pass=$((pass + 1))
else
    fail=$((fail + 1)); echo "FAIL calibrated model not sharper (T < 1): $p0 -> $p1" >&2
fi

finish cli_intent
