#!/usr/bin/env bash
# cli_serve_docs.sh OFFGRID SHARED_MODELS MODELS_DIR - `offgrid serve
# --collection`: the /v1/documents endpoints (upload, list, delete,
# search, ask whole and streamed), bad input, a restart, and the page's
# Documents tab in headless Chromium (screenshot kept in the build
# folder). The checks are in tests/server/test_server_docs.py.
set -u
og=$1 models=$3
out=$(cd "$(dirname "$og")/.." && pwd)/test-artifacts
mkdir -p "$out"
exec python3 "$(dirname "$0")/server/test_server_docs.py" "$og" "$models" "$out"
