#!/usr/bin/env bash
# cli_mcp.sh OFFGRID SHARED_MODELS MODELS_DIR - `offgrid mcp`: its usage
# errors here, then tests/test_mcp_sdk.py: hostile lines through a raw pipe
# (Python's standard library) and the official MCP SDK as the client in
# both protocol eras. Needs MODELS_DIR/all-MiniLM-L6-v2.f32.gguf and
# rag-intent-classifier.f32.gguf (tools/setup.sh builds them) and, for the
# SDK part, the `mcp` package in python3 (tools/setup.sh installs it) or in
# $OFFGRID_MCP_PYTHON. Exits 77 (skipped) when the models or the SDK are
# missing, after running what it can.
set -u
og=$1 models=$3
. "$(dirname "$0")/testlib/cli.sh"

minilm=$models/all-MiniLM-L6-v2.f32.gguf
intent=$models/rag-intent-classifier.f32.gguf
expect "mcp --help" 0 "usage: offgrid mcp" -- "$og" mcp --help
expect "mcp missing model" 1 "cannot open" -- "$og" mcp --embed-model "$tmp/none.gguf" --home "$tmp"
if [ ! -f "$minilm" ] || [ ! -f "$intent" ]; then
    echo "cli_mcp: $minilm or $intent is missing (tools/setup.sh builds them); skipped" >&2
    finish cli_mcp || exit 1
    exit 77
fi
expect "mcp classify model without a head" 1 "has no classification head" -- \
    "$og" mcp --classify-model "$minilm" --home "$tmp"
# Nothing but protocol reaches stdout, even the startup line.
echo '{"jsonrpc":"2.0","id":1,"method":"ping"}' | "$og" mcp --embed-model "$minilm" --home "$tmp" --log \
    >"$tmp/proto" 2>"$tmp/log"
if [ "$(cat "$tmp/proto")" = '{"jsonrpc":"2.0","id":1,"result":{}}' ] && grep -q "serving on stdio" "$tmp/log" &&
    grep -q "ping ok" "$tmp/log"; then
    pass=$((pass + 1))
else
    fail=$((fail + 1))
    echo "FAIL mcp stdout holds only protocol" >&2
    head -c 400 "$tmp/proto" "$tmp/log" >&2
fi
printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"ping"}' '{"jsonrpc":"2.0","id":2,"method":"x"}' >"$tmp/two"
expect "mcp --log --json" 0 '{"method":"x","code":-32601,' -- \
    "$og" mcp --home "$tmp" --log --json <"$tmp/two"
finish cli_mcp || exit 1

py=${OFFGRID_MCP_PYTHON:-python3}
if ! "$py" -c 'import mcp' 2>/dev/null; then
    echo "cli_mcp: the mcp package is missing from $py (tools/setup.sh installs it); SDK part skipped" >&2
    "$py" "$(dirname "$0")/test_mcp_sdk.py" "$og" "$models" --raw-only || exit 1
    exit 77
fi
exec "$py" "$(dirname "$0")/test_mcp_sdk.py" "$og" "$models"
