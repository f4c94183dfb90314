#!/usr/bin/env bash
# compare_all.sh - every figure of the speed comparison in one run:
# SmolLM2-135M-Instruct in Q4_1 (the file tools/setup.sh fetches), Q8_0 and
# Q4_0 (made from it with llama-quantize --allow-requantize), and the
# Llama-3.2-1B shape with random weights in Q4_0 and Q8_0 (offgrid synth),
# each through bench/compare.sh at 1 and 2 threads (offgrid and llama.cpp
# alternating), with the output of each in OUT_DIR (default WORK/results).
#
#   LLAMA_CPP=/path/to/llama.cpp/build/bin bench/compare_all.sh [OUT_DIR]
#
# Environment: LLAMA_CPP (required), WORK (where the derived model files go,
# default /tmp/offgrid-bench; about 2.2 GB), ROUNDS and REPS for the 135M
# files (default 3 and 3) and ROUNDS_1B and REPS_1B for the 1B shape
# (default 4 and 2: its two-thread tg ratio has moved between 1.06 and
# 1.89 from one round to the next, too much to judge on two), MODELS
# (default: all five, by the names below).
set -euo pipefail

die() { echo "compare_all.sh: $*" >&2; exit 2; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ -n "${LLAMA_CPP:-}" ] || die "set LLAMA_CPP to llama.cpp's binary directory"
[ -x "$LLAMA_CPP/llama-quantize" ] || die "$LLAMA_CPP/llama-quantize is missing"
offgrid=${OFFGRID:-$root/build/bin/offgrid}
[ -x "$offgrid" ] || die "offgrid binary not found at $offgrid (build it or set OFFGRID=)"
base=$root/models/SmolLM2-135M-Instruct.Q4_1.gguf
[ -f "$base" ] || die "$base is missing: run tools/setup.sh --models"
work=${WORK:-/tmp/offgrid-bench}
out=${1:-$work/results}
mkdir -p "$out" "$work"

# derive NAME: makes the model file NAME stands for if it is missing
derive() {
    local f=$work/$1.gguf
    if [ ! -f "$f" ]; then
        echo "compare_all.sh: making $f" >&2
        case $1 in
        smollm2-q8_0) "$LLAMA_CPP/llama-quantize" --allow-requantize "$base" "$f.partial" Q8_0 >/dev/null 2>&1 ;;
        smollm2-q4_0) "$LLAMA_CPP/llama-quantize" --allow-requantize "$base" "$f.partial" Q4_0 >/dev/null 2>&1 ;;
        llama1b-q4_0) "$offgrid" synth -o "$f.partial" --shape llama-1b --type q4_0 2>/dev/null ;;
        llama1b-q8_0) "$offgrid" synth -o "$f.partial" --shape llama-1b --type q8_0 2>/dev/null ;;
        esac
        mv "$f.partial" "$f"
    fi
    echo "$f"
}

for name in ${MODELS:-smollm2-q4_1 smollm2-q8_0 smollm2-q4_0 llama1b-q4_0 llama1b-q8_0}; do
    case $name in
    smollm2-q4_1) file=$base ;;
    smollm2-*|llama1b-*) file=$(derive "$name") ;;
    *) die "unknown model name '$name'" ;;
    esac
    case $name in
    llama1b-*) rounds=${ROUNDS_1B:-4} reps=${REPS_1B:-2} ;;
    *) rounds=${ROUNDS:-3} reps=${REPS:-3} ;;
    esac
    echo "compare_all.sh: $name ($rounds rounds x $reps reps)" >&2
    ROUNDS=$rounds REPS=$reps OFFGRID=$offgrid "$root/bench/compare.sh" "$file" 1 2 | tee "$out/$name.md"
done
