#!/usr/bin/env bash
# cli_generate.sh OFFGRID SHARED_MODELS MODELS_DIR - `offgrid run`'s
# generation options on real models: --stop cuts the text before the stop
# string, --logprobs prints one line a token with its log-probability,
# --json keeps the output one JSON object, the repetition penalty is on
# by default, the model and prompt may be bare arguments (`offgrid run
# MODEL PROMPT`), and bad values are refused.
set -u
og=$1 shared=$2 models=$3
. "$(dirname "$0")/testlib/cli.sh"

stories=$shared/stories260K.gguf
smollm2=$models/SmolLM2-135M-Instruct.Q4_1.gguf

# same NAME WANT_STDOUT -- command...: exit 0 and exactly that stdout.
same() {
    local name=$1 want=$2
    shift 3
    local got
    got=$("$@" 2>"$tmp/err")
    if [ $? -eq 0 ] && [ "$got" = "$want" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL $name: got '$got', want '$want'" >&2
        head -c 600 "$tmp/err" >&2
    fi
}

# The greedy story from BOS starts " Once upon a time, there was a little
# girl named Lily." (cli_basic.sh): a stop string ends it where it appears.
same "stop" " Once upon a time, there was a" -- "$og" run -m "$stories" -p "" -n 20 --temp 0 --stop " little"
same "first of two stops" " Once upon" -- "$og" run -m "$stories" -p "" -n 20 --temp 0 --stop "girl" --stop " a time"
same "stop never met" " Once upon a time, there was a little girl named Lily. She loved to play" -- \
    "$og" run -m "$stories" -p "" -n 20 --temp 0 --stop "dragon"
expect "stop reported" 0 "(stop)" -- "$og" run -m "$stories" -p "" -n 20 --temp 0 --stop " little"

# --logprobs: id, log-probability (<= 0), the token's text as JSON.
"$og" run -m "$stories" -p "" -n 6 --temp 0 --logprobs >"$tmp/lp" 2>"$tmp/lp.err"
if [ "$(wc -l <"$tmp/lp")" -eq 6 ] && awk -F'\t' 'NF != 3 || $2 > 0 || $3 !~ /^".*"$/ { bad = 1 } END { exit bad }' "$tmp/lp" &&
    [ "$(cut -f1 "$tmp/lp" | tr '\n' ' ')" = "403 407 261 378 432 383 " ] && grep -q "^logprob: " "$tmp/lp.err"; then
    pass=$((pass + 1))
else
    fail=$((fail + 1))
    echo "FAIL logprobs:" >&2
    cat "$tmp/lp" "$tmp/lp.err" >&2
fi

# --json: the output is one JSON object (python's parser agrees).
if [ -f "$smollm2" ]; then
    "$og" run -m "$smollm2" -p "A JSON object with a name and an age: " -n 100 --temp 0 --json >"$tmp/j" 2>"$tmp/j.err"
    if python3 -c 'import json, sys; v = json.loads(open(sys.argv[1]).read()); assert isinstance(v, dict) and "name" in v' "$tmp/j"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL json: not one JSON object:" >&2
        cat "$tmp/j" "$tmp/j.err" >&2
    fi
else
    fail=$((fail + 1))
    echo "FAIL json: $smollm2 is missing (run tools/setup.sh)" >&2
fi

# The repetition penalty is 1.1 unless told otherwise: from token 31 on
# the greedy story leaves llama2.c's reference (cli_basic.sh), which
# --repeat-penalty 1 gives back.
reference="403 407 261 378 432 383 286 261 376 298 315 421 395 317 426 338 401 396 267 337 410 408 419 292 411 322 265 282 295 433 426 385 328 432 358 394 261 370 432 352 266 268 388 426 338 391 266 267"
same "default penalty" "403 407 261 378 432 383 286 261 376 298 315 421 395 317 426 338 401 396 267 337 410 408 419 292 411 322 265 282 295 433 335 311 374 419 426 385 328 432 358 394 261 370 268 414 444 373 280 415" \
    -- "$og" run -m "$stories" -p "" -n 48 --temp 0 --ids
same "penalty off" "$reference" -- "$og" run -m "$stories" -p "" -n 48 --temp 0 --ids --repeat-penalty 1
expect "--help states the penalty" 0 "penalty for the last 64 tokens seen, 1 = off (default: 1.1)" -- "$og" run --help

# One-liners: run MODEL PROMPT, and -m MODEL PROMPT, are run -m MODEL -p PROMPT.
want=$("$og" run -m "$stories" -p "Once" -n 8 --temp 0 --ids 2>/dev/null)
same "run MODEL PROMPT" "$want" -- "$og" run "$stories" "Once" -n 8 --temp 0 --ids
same "run -m MODEL PROMPT" "$want" -- "$og" run -m "$stories" "Once" -n 8 --temp 0 --ids
same "run PROMPT -m MODEL" "$want" -- "$og" run -n 8 -m "$stories" --temp 0 "Once" --ids
# A bare PROMPT to a model with a chat template is a chat message, as
# `ollama run NAME PROMPT` has it (a raw continuation of a question ends at
# once on an instruct model); -p keeps the raw text, and so does a model
# without a template (stories260K, above).
if [ -f "$smollm2" ]; then
    want=$("$og" chat "$smollm2" -p "Name a colour." -n 12 --temp 0 2>/dev/null)
    [ -n "$want" ] && same "run CHAT_MODEL PROMPT answers as chat" "$want" -- "$og" run "$smollm2" "Name a colour." -n 12 --temp 0
    same "-s with a bare prompt" "$("$og" chat "$smollm2" -s "Answer in French." -p "Name a colour." -n 12 --temp 0 2>/dev/null)" \
        -- "$og" run "$smollm2" -s "Answer in French." "Name a colour." -n 12 --temp 0
    raw=$("$og" run -m "$smollm2" -p "Name a colour." -n 12 --temp 0 2>/dev/null)
    [ "$raw" != "$want" ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL -p is not a raw continuation" >&2; }
fi
expect "prompt twice" 2 "give the prompt once: as PROMPT or with -p, not both" -- "$og" run "$stories" "Once" -p "Once"
expect "unquoted prompt" 2 "unknown option 'upon'" -- "$og" run "$stories" Once upon
expect "-m and two more" 2 "with -m MODEL, give at most one PROMPT" -- "$og" run -m "$stories" Once upon
expect "no model" 2 "-m MODEL is required (or name it first: offgrid run MODEL [PROMPT])" -- "$og" run
expect "usage names the arguments" 0 "usage: offgrid run [MODEL] [PROMPT] [options]" -- "$og" run --help

long=$(printf 'x%.0s' $(seq 300))
expect "stop too long" 2 "--stop" -- "$og" run -m "$stories" -n 4 --stop "$long"
expect "stop needs a value" 2 "needs a value" -- "$og" run -m "$stories" --stop

finish cli_generate
