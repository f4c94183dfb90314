#!/usr/bin/env bash
# cli_bench.sh OFFGRID SHARED_MODELS MODELS_DIR - `offgrid bench` and
# `offgrid synth`: the JSON has its fields and positive speeds (no timing
# thresholds: the machine may be busy), a synthetic model loads and runs,
# synth --json says what it wrote, and bad options fail with clear messages.
set -u
og=$1 shared=$2 models=$3
. "$(dirname "$0")/testlib/cli.sh"
. "$(dirname "$0")/testlib/json_check.sh"

stories=$shared/stories260K.gguf
for cmd in bench synth; do
    expect "$cmd --help" 0 "usage: offgrid $cmd" -- "$og" "$cmd" --help
    expect "$cmd --help names --json" 0 "  --json" -- "$og" "$cmd" --help
done
expect "help lists bench" 0 "bench" -- "$og" --help

# bench: valid JSON with every field, speeds > 0.
expect "bench json" 0 '"tg"' -- "$og" bench -m "$stories" -p 16 -n 8 -r 2 --json
if python3 - "$tmp/out" <<'PY'; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL bench json fields" >&2; fi
import json, sys
j = json.load(open(sys.argv[1]))
for k in ("model", "n_threads", "reps", "model_bytes", "n_params", "load_ms", "ttft_ms", "ttft_short_ms",
          "maxrss_bytes", "vm_hwm_bytes", "pp", "tg"):
    assert k in j, k
assert j["reps"] == 2
for t, n in (("pp", 16), ("tg", 8)):
    s = j[t]
    assert s["n_tokens"] == n and len(s["samples_ts"]) == 2, s
    assert s["avg_ts"] > 0 and s["stddev_ts"] >= 0 and all(x > 0 for x in s["samples_ts"]), s
assert j["load_ms"] >= 0 and j["ttft_ms"] > 0 and j["ttft_short_ms"] > 0 and j["maxrss_bytes"] > 0
PY
expect "bench table" 0 " tg8 |" -- "$og" bench -m "$stories" -p 16 -n 8 -r 1 -t 1
expect "bench pp only" 0 '"tg": null' -- "$og" bench -m "$stories" -p 16 -n 0 -r 1 --json

# bench on an encoder: texts/s and per-text latency, no decoder numbers.
minilm=$models/all-MiniLM-L6-v2.f32.gguf
if [ -f "$minilm" ]; then
    expect "bench encoder json" 0 '"kind": "encoder"' -- "$og" bench -m "$minilm" --texts 6 -r 2 -t 1 --json
    if python3 - "$tmp/out" <<'PY'; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL bench encoder json" >&2; fi
import json, sys
j = json.load(open(sys.argv[1]))
assert j["arch"] == "bert" and j["n_texts"] == 6 and j["reps"] == 2 and j["n_embd"] == 384, j
assert "pp" not in j and "tg" not in j and "ttft_ms" not in j, j
e, l = j["embed"], j["latency_ms"]
assert len(e["samples_texts_per_s"]) == 2 and all(x > 0 for x in e["samples_texts_per_s"]) and e["avg_texts_per_s"] > 0, e
assert l["n"] == 12 and 0 < l["p50"] <= l["p99"], l
assert j["tokens_per_text"] > 12 and j["load_ms"] >= 0 and j["maxrss_bytes"] > 0, j
PY
    expect "bench encoder table" 0 "latency p99" -- "$og" bench -m "$minilm" --texts 4 -r 1 -t 1
    if grep -qE "\| +(pp|tg)[0-9]+ \||time to first token" "$tmp/out"; then
        fail=$((fail + 1)); echo "FAIL bench on an encoder prints decoder numbers" >&2
    else pass=$((pass + 1)); fi
else
    fail=$((fail + 1)); echo "FAIL missing $minilm" >&2
fi

# synth: a tiny random model that info and run accept.
expect "synth tiny" 0 "wrote" -- "$og" synth -o "$tmp/tiny.gguf" --shape tiny --type q4_0 --seed 3
expect "synth info" 0 "tensor types:  F32 x5, Q4_0 x15" -- "$og" info -m "$tmp/tiny.gguf"
expect "synth run" 0 "" -- "$og" run -m "$tmp/tiny.gguf" -p "" -n 4 --temp 0 --ids
if [ "$(wc -w <"$tmp/out")" -eq 4 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL synth run: want 4 ids, got '$(cat "$tmp/out")'" >&2; fi
cp "$tmp/tiny.gguf" "$tmp/first.gguf"
expect "synth --json" 0 '"bytes": ' -- "$og" synth -o "$tmp/tiny.gguf" --shape tiny --type q4_0 --seed 3 --json
json_ok "synth --json" 'j == {"ok": True, "path": a[0], "shape": "tiny", "type": "q4_0", "seed": 3, "bytes": int(a[1])}' \
    "$tmp/tiny.gguf" "$(stat -c %s "$tmp/first.gguf")"
if cmp -s "$tmp/tiny.gguf" "$tmp/first.gguf"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL synth is not reproducible" >&2; fi

# bad options
expect "bench no model" 2 "-m MODEL is required" -- "$og" bench
expect "bench bad -p" 2 "-p expects a whole number" -- "$og" bench -m "$stories" -p 12abc
expect "bench bad -r" 2 "-r expects a whole number from 1" -- "$og" bench -m "$stories" -r 0
expect "bench nothing" 2 "nothing to measure" -- "$og" bench -m "$stories" -p 0 -n 0
expect "bench unknown" 2 "unknown option '--temp'" -- "$og" bench -m "$stories" --temp 0
expect "bench missing file" 1 "cannot open /nonexistent.gguf" -- "$og" bench -m /nonexistent.gguf
expect "synth no output" 2 "-o OUT.gguf is required" -- "$og" synth --shape tiny
expect "synth bad shape" 2 "unknown shape 'huge'" -- "$og" synth -o "$tmp/x.gguf" --shape huge
expect "synth bad type" 2 "unknown type 'q3_k'" -- "$og" synth -o "$tmp/x.gguf" --type q3_k
expect "synth --json, bad type" 2 "unknown type 'q3_k'" -- "$og" synth -o "$tmp/x.gguf" --type q3_k --json
json_ok "synth --json, bad type" 'j["ok"] is False and "unknown type" in j["error"] and "q3_k" in j["error"]'
expect "synth bad dir" 1 "cannot create" -- "$og" synth -o /nonexistent-dir/x.gguf
expect "run -p is still text" 0 "" -- "$og" run -m "$stories" -p "Once" -n 2 --temp 0

finish cli_bench
