#!/usr/bin/env bash
# cli_speculative.sh OFFGRID SHARED_MODELS MODELS_DIR - --draft MODEL end
# to end: run prints the same greedy text with and without a draft (and
# the draft's acceptance on stderr), a draft with another vocabulary and
# a bad --draft-max are refused clearly, chat --json and bench --json
# report the draft's counts, and serve answers a request with a draft in
# its slot. SmolLM2 drafts for itself (fast and always present); Qwen
# 0.5B is the other vocabulary.
set -u
og=$1 models=$3
source "$(dirname "$0")/testlib/cli.sh"
smol=$models/SmolLM2-135M-Instruct.Q4_1.gguf
qwen=$models/qwen2.5-coder-0.5b-instruct.gguf
if [ ! -r "$smol" ]; then
    echo "cli_speculative: missing $smol (tools/setup.sh fetches it)" >&2
    echo "cli_speculative: 0 passed, 1 failed"
    exit 1
fi
prompt='<|im_start|>user
Write a haiku about the sea.<|im_end|>
<|im_start|>assistant
'

# run: greedy output unchanged by the draft.
"$og" run -m "$smol" -p "$prompt" -n 40 --temp 0 -t 1 >"$tmp/plain" 2>/dev/null
"$og" run -m "$smol" --draft "$smol" --draft-max 6 -p "$prompt" -n 40 --temp 0 -t 1 >"$tmp/draft" 2>"$tmp/draft.err"
if [ -s "$tmp/plain" ] && cmp -s "$tmp/plain" "$tmp/draft" && grep -q '^draft: [0-9]* proposed, [0-9]* accepted' "$tmp/draft.err"; then
    pass=$((pass + 1))
else
    fail=$((fail + 1))
    echo "FAIL run --draft: output differs or no draft line" >&2
    diff "$tmp/plain" "$tmp/draft" | head -5 >&2
    cat "$tmp/draft.err" >&2
fi

expect "draft-max out of range" 2 "--draft-max" -- "$og" run -m "$smol" --draft "$smol" --draft-max 17 -p hi
expect "draft-max alone" 1 "--draft-max needs --draft" -- "$og" run -m "$smol" --draft-max 4 -p hi -n 2
expect "missing draft" 1 "no-such-draft.gguf" -- "$og" run -m "$smol" --draft "$tmp/no-such-draft.gguf" -p hi -n 2
if [ -r "$qwen" ]; then
    expect "other vocabulary" 1 "vocabulary differs from the target's: 49152 tokens in the draft" -- \
        "$og" run -m "$qwen" --draft "$smol" -p hi -n 2
else
    echo "cli_speculative: skipped the vocabulary check: $qwen is missing" >&2
fi

# chat --json: the answer line carries the draft's counts.
expect "chat --json --draft" 0 '"draft_accepted": ' -- \
    "$og" chat -m "$smol" --draft "$smol" -p "Name a color." -n 16 --temp 0 -t 1 --json

# bench --json: plain and speculative speeds and the acceptance.
"$og" bench -m "$smol" --draft "$smol" -p 8 -n 16 -r 1 -t 1 --json >"$tmp/bench.json" 2>/dev/null
if python3 - "$tmp/bench.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["spec"]
assert s["n_drafted"] > 0 and 0 < s["acceptance"] <= 1, s
assert s["plain_avg_ts"] > 0 and s["draft_avg_ts"] > 0, s
PY
then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL bench --draft --json" >&2; fi

# serve: a slot that drafts gives the same greedy answer as one that
# does not.
ask() { # ask NAME [serve flags...]: the answer's content into $tmp/NAME
    local name=$1
    shift
    "$og" serve -m "$smol" "$@" --port 0 --parallel 1 -t 1 --json >"$tmp/$name.json" 2>"$tmp/$name.err" &
    local srv=$!
    for _ in $(seq 100); do [ -s "$tmp/$name.json" ] && break; sleep 0.1; done
    python3 - "$tmp/$name.json" >"$tmp/$name" <<'PY'
import json, sys, urllib.request
info = json.loads(open(sys.argv[1]).readline())
body = json.dumps({"model": "x", "messages": [{"role": "user", "content": "Write a haiku about the sea."}],
                   "max_tokens": 40, "temperature": 0}).encode()
req = urllib.request.Request(info["url"] + "/v1/chat/completions", body, {"Content-Type": "application/json"})
reply = json.load(urllib.request.urlopen(req, timeout=120))
print(info["draft_model"])
print(reply["choices"][0]["message"]["content"])
PY
    kill "$srv" 2>/dev/null
    wait "$srv" 2>/dev/null
}
ask serve_plain
ask serve_draft --draft "$smol"
if [ "$(head -1 "$tmp/serve_plain")" = None ] && [ "$(head -1 "$tmp/serve_draft")" = "$smol" ] &&
    [ "$(wc -l <"$tmp/serve_draft")" -ge 2 ] && [ "$(tail -n +2 "$tmp/serve_plain")" = "$(tail -n +2 "$tmp/serve_draft")" ]; then
    pass=$((pass + 1))
else
    fail=$((fail + 1))
    echo "FAIL serve --draft: the answers differ" >&2
    cat "$tmp/serve_plain" "$tmp/serve_draft" "$tmp/serve_draft.err" >&2
fi

finish cli_speculative
