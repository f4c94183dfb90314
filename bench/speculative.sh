#!/usr/bin/env bash
# speculative.sh - speculative decoding: offgrid generating alone (A)
# against offgrid with --draft (B), and llama.cpp's llama-speculative on
# the same pair (C) when LLAMA_CPP_BIN names its build/bin folder.
#
#   bench/speculative.sh [TARGET [DRAFT]]
#
# Defaults: models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf drafted by
# models/qwen2.5-coder-0.5b-instruct.gguf. Every round runs each prompt
# (N_CODE code requests, then N_CHAT chat messages, in ChatML) greedily
# for N_GEN tokens at THREADS threads with A, then B, then C (A B C A B C
# ...: the drifts of a shared machine spread over all), and prints the
# round's generation speed of each (tokens generated / seconds spent
# generating, prompts excluded) for code and chat, and the draft's
# acceptance. At the end: the median over ROUNDS rounds and B/A, C/A.
# Greedy output of A and B must be the same; every prompt is checked.
#
# Environment: OFFGRID (build/bin/offgrid of this tree), LLAMA_CPP_BIN
# (optional), ROUNDS (6), N_CODE (20), N_CHAT (5), N_GEN (64), THREADS (1),
# DRAFT_MAX (16).
set -euo pipefail

die() { echo "speculative.sh: $*" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
target=${1:-$here/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf}
draft=${2:-$here/models/qwen2.5-coder-0.5b-instruct.gguf}
og=${OFFGRID:-$here/build/bin/offgrid}
rounds=${ROUNDS:-6} n_code=${N_CODE:-20} n_chat=${N_CHAT:-5} n_gen=${N_GEN:-64} threads=${THREADS:-1}
draft_max=${DRAFT_MAX:-16}
[ -x "$og" ] || die "no offgrid at $og (build first)"
[ -r "$target" ] || die "no target model $target"
[ -r "$draft" ] || die "no draft model $draft"
llama=
if [ -n "${LLAMA_CPP_BIN:-}" ]; then
    if [ -x "$LLAMA_CPP_BIN/llama-speculative" ]; then llama=$LLAMA_CPP_BIN/llama-speculative
    else echo "speculative.sh: no llama-speculative in $LLAMA_CPP_BIN: skipping llama.cpp" >&2; fi
else
    echo "speculative.sh: LLAMA_CPP_BIN is not set: skipping llama.cpp" >&2
fi

code=(
    "Write a Python function that checks whether a number is prime."
    "Write a Python function that reverses a singly linked list."
    "Write a JavaScript function that debounces another function."
    "Write a Python function that returns the n-th Fibonacci number iteratively."
    "Write a C function that computes the length of a string without strlen."
    "Write a Python function that merges two sorted lists into one sorted list."
    "Write a SQL query that returns the ten customers with the highest total order value."
    "Write a Python class for a stack with push, pop and peek."
    "Write a Bash script that counts the lines of every .py file in a folder."
    "Write a Python function that parses an ISO 8601 date string into a datetime."
    "Write a Go function that sums a slice of integers."
    "Write a Python function that flattens a nested list."
    "Write a Rust function that returns the largest element of a vector."
    "Write a Python function that counts the words in a text file."
    "Write a JavaScript function that deep-clones a plain object."
    "Write a Python function that performs binary search on a sorted list."
    "Write a Python function that removes duplicates from a list while keeping the order."
    "Write a C++ function that checks whether a string is a palindrome."
    "Write a Python function that converts a Roman numeral to an integer."
    "Write a Python function that computes the greatest common divisor of two numbers."
)
chat=(
    "What is the difference between a process and a thread?"
    "Explain in a few sentences what a hash table is."
    "Give me three tips for writing readable code."
    "What does HTTP status code 404 mean?"
    "Why is the sky blue? Answer briefly."
)
chatml() { printf '<|im_start|>user\n%s<|im_end|>\n<|im_start|>assistant\n' "$1"; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# offgrid_run KIND PROMPT [--draft ...]: appends "tokens seconds drafted accepted" to $tmp/KIND.
offgrid_run() {
    local kind=$1 prompt=$2
    shift 2
    "$og" run -m "$target" "$@" -p "$prompt" -n "$n_gen" --temp 0 -t "$threads" >"$tmp/text" 2>"$tmp/err" ||
        die "offgrid run failed: $(cat "$tmp/err")"
    local gen dr
    gen=$(sed -n 's/.*generated: \([0-9]*\) tokens in \([0-9.]*\) s.*/\1 \2/p' "$tmp/err")
    dr=$(sed -n 's/^draft: \([0-9]*\) proposed, \([0-9]*\) accepted.*/\1 \2/p' "$tmp/err")
    echo "$gen ${dr:-0 0}" >>"$tmp/$kind"
}

llama_run() {
    local kind=$1 prompt=$2
    "$llama" -m "$target" -md "$draft" -p "$prompt" -n "$n_gen" --temp 0 -t "$threads" -td "$threads" -c 2048 \
        --draft-max "$draft_max" >"$tmp/text" 2>"$tmp/err" || die "llama-speculative failed: $(tail -5 "$tmp/err")"
    local gen dr
    gen=$(sed -n 's/^decoded *\([0-9]*\) tokens in *\([0-9.]*\) seconds.*/\1 \2/p' "$tmp/err")
    dr="$(sed -n 's/^n_drafted *= *\([0-9]*\).*/\1/p' "$tmp/err") $(sed -n 's/^n_accept *= *\([0-9]*\).*/\1/p' "$tmp/err")"
    echo "$gen $dr" >>"$tmp/$kind"
}

# speed FILE: "tokens/s acceptance%" of the runs in FILE.
speed() { awk '{t+=$1; s+=$2; d+=$3; a+=$4} END {printf "%.3f %.1f", (s > 0 ? t / s : 0), (d > 0 ? 100 * a / d : 0)}' "$1"; }

median() { sort -g | awk '{v[NR]=$1} END {print NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

echo "target $target, draft $draft; $n_code code and $n_chat chat prompts, $n_gen tokens, $threads thread(s), $rounds rounds"
: >"$tmp/summary"
for ((r = 1; r <= rounds; r++)); do
    for set in code chat; do
        if [ $set = code ]; then n=$n_code; else n=$n_chat; fi
        rm -f "$tmp/A" "$tmp/B" "$tmp/C"
        for ((i = 0; i < n; i++)); do
            if [ $set = code ]; then p=$(chatml "${code[$i]}"); else p=$(chatml "${chat[$i]}"); fi
            offgrid_run A "$p"
            cp "$tmp/text" "$tmp/textA"
            offgrid_run B "$p" --draft "$draft" --draft-max "$draft_max"
            cmp -s "$tmp/textA" "$tmp/text" || die "greedy output differs with the draft on $set prompt $i"
            [ -n "$llama" ] && llama_run C "$p"
        done
        a=$(speed "$tmp/A") b=$(speed "$tmp/B")
        c=$([ -n "$llama" ] && speed "$tmp/C" || echo "- -")
        printf 'round %d %-4s: offgrid %7.3f t/s | offgrid --draft %7.3f t/s (accepted %5.1f%%) | llama-speculative %s t/s (accepted %s%%)\n' \
            "$r" $set ${a% *} ${b% *} ${b#* } ${c% *} ${c#* }
        echo "$set ${a% *} ${b% *} ${b#* } ${c% *} ${c#* }" >>"$tmp/summary"
    done
done
for set in code chat; do
    ma=$(awk -v s=$set '$1==s {print $2}' "$tmp/summary" | median)
    mb=$(awk -v s=$set '$1==s {print $3}' "$tmp/summary" | median)
    acc=$(awk -v s=$set '$1==s {print $4}' "$tmp/summary" | median)
    line=$(printf 'median %-4s: offgrid %.3f t/s, offgrid --draft %.3f t/s (%.2fx, accepted %.1f%%)' $set "$ma" "$mb" \
        "$(echo "$mb $ma" | awk '{print ($2 > 0 ? $1 / $2 : 0)}')" "$acc")
    if [ -n "$llama" ]; then
        mc=$(awk -v s=$set '$1==s {print $5}' "$tmp/summary" | median)
        line+=$(printf ', llama-speculative %.3f t/s (%.2fx offgrid alone; offgrid --draft is %.2fx it)' "$mc" \
            "$(echo "$mc $ma" | awk '{print ($2 > 0 ? $1 / $2 : 0)}')" "$(echo "$mb $mc" | awk '{print ($2 > 0 ? $1 / $2 : 0)}')")
    fi
    echo "$line"
done
