#!/usr/bin/env bash
# cli_serve.sh OFFGRID SHARED_MODELS MODELS_DIR - `offgrid serve` end to
# end: the official openai Python SDK against it (chat, streaming,
# completions, embeddings, models), hostile requests, cancellation, the
# full queue, and the chat page in headless Chromium (screenshot kept in
# the build folder). The checks are in tests/server/test_server.py.
set -u
og=$1 models=$3
out=$(cd "$(dirname "$og")/.." && pwd)/test-artifacts
mkdir -p "$out"
if ! python3 -c 'import openai' 2>/dev/null; then
    echo "cli_serve: the openai package is missing (tools/setup.sh installs it)" >&2
    echo "cli_serve: 0 passed, 1 failed"
    exit 1
fi
exec python3 "$(dirname "$0")/server/test_server.py" "$og" "$models" "$out"
