#!/usr/bin/env bash
# cli_synth_kquant.sh OFFGRID SHARED_MODELS MODELS_DIR - `offgrid synth
# --type q4_k_m` (and the other K mixtures) writes llama-quantize's
# per-tensor type mixture, the file loads and generates, and a bad type is
# a clear error. (test_synth_kquant.c checks the bytes against
# llama-quantize's.)
set -u
og=$1
. "$(dirname "$0")/testlib/cli.sh"

expect "synth help lists the mixtures" 0 "q4_k_m" -- "$og" synth --help
expect "synth q4_k_m" 0 '"type": "q4_k_m"' -- "$og" synth -o "$tmp/q4km.gguf" --shape tiny-k --type q4_k_m --json
# tiny-k has 8 layers: attn_v and ffn_down of layers 0, 3, 6 and 7 (the
# first and last eighth, and every third between) and token_embd (tied to
# the output) are Q6_K; every other matrix is Q4_K; norms F32.
expect "q4_k_m mixture" 0 "tensor types:  F32 x17, Q4_K x48, Q6_K x9" -- "$og" info -m "$tmp/q4km.gguf"
expect "q4_k_m generates" 0 "generated: 8 tokens" -- "$og" run -m "$tmp/q4km.gguf" -p "" -n 8 --temp 0 --ids
# Q4_K_S: attn_v of layers 0-3 and ffn_down of layer 0 are Q5_K, the
# other 51 matrices Q4_K.
expect "synth q4_k_s" 0 "" -- "$og" synth -o "$tmp/q4ks.gguf" --shape tiny-k --type q4_k_s
expect "q4_k_s mixture" 0 "tensor types:  F32 x17, Q4_K x51, Q5_K x5, Q6_K x1" -- "$og" info -m "$tmp/q4ks.gguf"
expect "synth q5_k_m" 0 "" -- "$og" synth -o "$tmp/q5km.gguf" --shape tiny-k --type q5_k_m
expect "q5_k_m mixture" 0 "tensor types:  F32 x17, Q5_K x48, Q6_K x9" -- "$og" info -m "$tmp/q5km.gguf"
# Q2_K: attn_v Q4_K (4 query heads per KV head), ffn_down and attn_output Q3_K.
expect "synth q2_k" 0 "" -- "$og" synth -o "$tmp/q2k.gguf" --shape tiny-k --type q2_k
expect "q2_k mixture" 0 "tensor types:  F32 x17, Q2_K x32, Q3_K x16, Q4_K x8, Q6_K x1" -- "$og" info -m "$tmp/q2k.gguf"
expect "q2_k generates" 0 "generated: 4 tokens" -- "$og" run -m "$tmp/q2k.gguf" -p "" -n 4 --temp 0 --ids
# Q3_K_M: attn_v Q5_K in layers 0-1 and Q4_K after, attn_output and
# ffn_down Q4_K (ffn_down Q5_K only in the first sixteenth: none of 8).
expect "synth q3_k_m" 0 "" -- "$og" synth -o "$tmp/q3km.gguf" --shape tiny-k --type q3_k_m
expect "q3_k_m mixture" 0 "tensor types:  F32 x17, Q3_K x32, Q4_K x22, Q5_K x2, Q6_K x1" -- "$og" info -m "$tmp/q3km.gguf"
expect "synth q6_k" 0 "" -- "$og" synth -o "$tmp/q6k.gguf" --shape tiny-k --type q6_k
expect "q6_k mixture" 0 "tensor types:  F32 x17, Q6_K x57" -- "$og" info -m "$tmp/q6k.gguf"
expect "q6_k generates" 0 "generated: 4 tokens" -- "$og" run -m "$tmp/q6k.gguf" -p "" -n 4 --temp 0 --ids
# Rows of 64 are not K super-blocks: llama-quantize's fallbacks, Q4_K ->
# Q5_0 and Q6_K -> Q8_0 (token_embd, and attn_v and ffn_down of layer 1,
# the last eighth of 2 layers).
expect "synth tiny q4_k_m" 0 "" -- "$og" synth -o "$tmp/tiny.gguf" --shape tiny --type q4_k_m
expect "tiny q4_k_m fallbacks" 0 "tensor types:  F32 x5, Q5_0 x12, Q8_0 x3" -- "$og" info -m "$tmp/tiny.gguf"
expect "tiny q4_k_m generates" 0 "generated: 4 tokens" -- "$og" run -m "$tmp/tiny.gguf" -p "" -n 4 --temp 0 --ids
expect "q3_k_m on 64-wide rows" 2 "IQ4_NL" -- "$og" synth -o "$tmp/bad.gguf" --shape tiny --type q3_k_m
expect "unknown type" 2 "unknown type 'q4_k' (f32, f16" -- "$og" synth -o "$tmp/bad.gguf" --type q4_k
expect "unknown type json" 2 '"ok": false' -- "$og" synth -o "$tmp/bad.gguf" --type q3_k --json
if [ -e "$tmp/bad.gguf" ]; then
    fail=$((fail + 1))
    echo "FAIL a refused type left $tmp/bad.gguf behind" >&2
else
    pass=$((pass + 1))
fi
finish cli_synth_kquant
