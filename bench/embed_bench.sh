#!/usr/bin/env bash
# embed_bench.sh - sentence embedding throughput, offgrid against llama.cpp.
#
#   LLAMA_CPP=/path/to/llama.cpp/build/bin bench/embed_bench.sh MODEL
#
# Embeds N (1000) short generated sentences, one per line, with THREADS (2)
# threads: `offgrid embed -f` and `llama-embedding -f` (--no-escape, context
# and batches of BATCH (512) tokens, the model's context length), alternately
# (A B A B ...) ROUNDS (3) times each, and prints each wall time (whole
# process: load, tokenize, encode, print), the medians and their ratio.
# Alternating spreads the drifts of a shared machine over both tools.
#
# Environment: LLAMA_CPP (required), OFFGRID (default build/bin/offgrid of
# this tree), N, THREADS, BATCH, ROUNDS.
set -euo pipefail

die() { echo "embed_bench.sh: $*" >&2; exit 2; }

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -eq 1 ] || die "usage: LLAMA_CPP=/path/to/llama.cpp/build/bin $0 MODEL"
model=$1
[ -f "$model" ] || die "no such model file: $model"
[ -n "${LLAMA_CPP:-}" ] || die "set LLAMA_CPP to llama.cpp's binary directory (e.g. /tmp/llama.cpp/build/bin)"
[ -x "$LLAMA_CPP/llama-embedding" ] || die "$LLAMA_CPP/llama-embedding is missing or not executable"
offgrid=${OFFGRID:-$root/build/bin/offgrid}
[ -x "$offgrid" ] || die "$offgrid is missing: build first"
n=${N:-1000} threads=${THREADS:-2} batch=${BATCH:-512} rounds=${ROUNDS:-3}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Short sentences, 11 words each (about 16 tokens), all different.
awk -v n="$n" 'BEGIN {
    split("small large quiet bright old young red green heavy gentle", adj, " ")
    split("cat river teacher engine garden market city storm letter window", noun, " ")
    split("watches follows repairs paints finds crosses opens carries visits remembers", verb, " ")
    for (i = 0; i < n; i++)
        printf "The %s %s %s the %s %s near house number %d.\n", adj[i % 10 + 1], noun[int(i / 10) % 10 + 1],
               verb[int(i / 100) % 10 + 1], adj[(i * 7) % 10 + 1], noun[(i * 3) % 10 + 1], i
}' >"$tmp/sentences.txt"

now() { date +%s.%N; }
run_a() { "$offgrid" embed -m "$model" -f "$tmp/sentences.txt" -t "$threads" >"$tmp/a.out" 2>"$tmp/a.err"; }
run_b() {
    "$LLAMA_CPP/llama-embedding" -m "$model" -f "$tmp/sentences.txt" -t "$threads" -c "$batch" -b "$batch" \
        -ub "$batch" --no-escape --embd-output-format json >"$tmp/b.out" 2>"$tmp/b.err"
}
ta=() tb=()
for ((r = 1; r <= rounds; r++)); do
    t0=$(now); run_a || { cat "$tmp/a.err" >&2; die "offgrid failed"; }; t1=$(now)
    run_b || { tail -5 "$tmp/b.err" >&2; die "llama-embedding failed"; }; t2=$(now)
    ta+=("$(echo "$t1 - $t0" | bc)") tb+=("$(echo "$t2 - $t1" | bc)")
    printf 'round %d: offgrid %.2f s, llama-embedding %.2f s\n' "$r" "${ta[-1]}" "${tb[-1]}"
done
[ "$(wc -l <"$tmp/a.out")" -eq "$n" ] || die "offgrid printed $(wc -l <"$tmp/a.out") vectors for $n sentences"
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ma=$(median "${ta[@]}") mb=$(median "${tb[@]}")
printf '%d sentences, %d threads: offgrid median %.2f s (%.0f sentences/s), llama-embedding median %.2f s (%.0f sentences/s), llama.cpp / offgrid time = %.2f\n' \
    "$n" "$threads" "$ma" "$(echo "$n / $ma" | bc -l)" "$mb" "$(echo "$n / $mb" | bc -l)" "$(echo "$mb / $ma" | bc -l)"
