#!/usr/bin/env bash
# cli_intent.sh OFFGRID SHARED_MODELS MODELS_DIR - offgrid add-head, and
# classify and calibrate on the real intent classifier setup builds
# (MODELS_DIR/rag-intent-classifier.f32.gguf): a temperature fitted by
# `offgrid calibrate` on MODELS_DIR/intent_calib.tsv lowers the expected
# calibration error on MODELS_DIR/intent_test.tsv, the two halves of the
# real labelled utterances tools/setup.sh builds from PyPI wheels
# (tools/intent_data.py).
set -u
og=$1 models=$3
. "$(dirname "$0")/testlib/cli.sh"

minilm=$models/all-MiniLM-L6-v2.f32.gguf
intent=$models/rag-intent-classifier.f32.gguf
calib=$models/intent_calib.tsv
heldout=$models/intent_test.tsv
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
python3 -c 'print("\n".join("%s\t0.5\t%s" % (l, "\t".join(["0.01"] * 384)) for l in ("yes", "no")))' >"$tmp/head.tsv"
expect "add-head json" 0 "{\"output\": \"$tmp/h.gguf\", \"n_labels\": 2, \"n_embd\": 384}" -- \
    "$og" add-head -m "$minilm" -f "$tmp/head.tsv" -o "$tmp/h.gguf" --json
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

# info on a classifier: its labels, head and temperature, not a decoder's rope base.
expect "info labels" 0 "labels:        157 (restaurant_reviews, nutrition_info, smart_home, rollover_401k, pto_request_status, ...)" -- \
    "$og" info -m "$intent"
expect "info head" 0 "head:          cls.output over the normalized_embedding" -- "$og" info -m "$intent"
expect "info temperature" 0 "temperature:   1" -- "$og" info -m "$intent"
if grep -q "rope base" "$tmp/out"; then fail=$((fail + 1)); echo "FAIL info on an encoder shows rope base" >&2; else pass=$((pass + 1)); fi
"$og" info -m "$intent" --json >"$tmp/info.json" 2>"$tmp/err"
if python3 - "$tmp/info.json" <<'PY'; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL info --json classifier" >&2; fi
import json, sys
j = json.load(open(sys.argv[1]))
c = j["encoder"]["classifier"]
assert j["kind"] == "encoder" and j["encoder"]["pooling"] == "mean" and j["encoder"]["dim"] == 384, j
assert c["n_labels"] == 157 == len(c["labels"]) and c["labels"][:2] == ["restaurant_reviews", "nutrition_info"], c
assert c["head_input"] == "normalized_embedding" and c["temperature"] == 1, c
assert "rope_freq_base" not in j and "context_bytes" not in j, j
PY

# classify --top-k: the K most probable, highest first, on one line; JSON too.
expect "classify top-k" 0 "$(printf 'translate\t0.780575\tchange_language\t0.069696\tspelling\t0.022803')" -- \
    "$og" classify -m "$intent" -p "how would you say fly in italian" --top-k 3
printf 'how would you say fly in italian\ni want a real person to help me from here\n' >"$tmp/two.txt"
"$og" classify -m "$intent" -f - -k 5 --json <"$tmp/two.txt" >"$tmp/top.json" 2>"$tmp/err"
if python3 - "$tmp/top.json" <<'PY'; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL classify --top-k --json" >&2; fi
import json, sys
j = json.load(open(sys.argv[1]))
assert [r["label"] for r in j] == ["translate", "connect_to_human"], j
for r in j:
    top = r["top"]
    ps = [t["probability"] for t in top]
    assert len(top) == 5 and ps == sorted(ps, reverse=True) and top[0]["label"] == r["label"], top
    assert all(r["probabilities"][t["label"]] == t["probability"] for t in top), r
    assert ps[0] == max(r["probabilities"].values()), r
PY
expect "classify top-k past the labels" 0 "translate" -- "$og" classify -m "$intent" -p "how would you say fly in italian" -k 1000
expect "classify bad top-k" 2 "--top-k expects a whole number" -- "$og" classify -m "$intent" -p hi --top-k 0

for f in "$calib" "$heldout"; do
    if [ ! -f "$f" ]; then
        echo "FAIL missing $f: tools/setup.sh --models builds it (fetch_intent_data)" >&2
        fail=$((fail + 1))
        finish cli_intent
        exit
    fi
done
# ECE on the test half: the "before" line of calibrate is the model's own
# temperature's.
ece_of() {
    "$og" calibrate -m "$1" -f "$heldout" -o "$tmp/scratch.gguf" 2>/dev/null |
        awk '/^before/ { print $NF }'
}
expect "calibrate writes T" 0 "wrote offgrid.classifier.temperature = " -- \
    "$og" calibrate -m "$intent" -f "$calib" -o "$tmp/calibrated.gguf"
fitted=$(awk '/^after/ { print $4 }' "$tmp/out")
"$og" calibrate -m "$intent" -f "$calib" -o "$tmp/calibrated-json.gguf" --json >"$tmp/cal.json" 2>/dev/null
if python3 - "$tmp/cal.json" "$fitted" <<'PY'; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL calibrate --json" >&2; fi
import json, sys
j = json.load(open(sys.argv[1]))
assert j["output"].endswith("calibrated-json.gguf") and j["n_examples"] > 100, j
assert j["before"]["temperature"] == 1 and "%-8.4f" % j["after"]["temperature"] == "%-8.4f" % float(sys.argv[2]), j
assert j["after"]["nll"] <= j["before"]["nll"], j
PY
before=$(ece_of "$intent")
after=$(ece_of "$tmp/calibrated.gguf")
echo "cli_intent: T = $fitted from intent_calib.tsv; ECE on intent_test.tsv $before -> $after" >&2
if [ -n "$before" ] && [ -n "$after" ] && awk -v a="$after" -v b="$before" 'BEGIN { exit !(a < b && a < 0.1) }'; then
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
