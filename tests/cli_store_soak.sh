#!/usr/bin/env bash
# cli_store_soak.sh OFFGRID SHARED_MODELS MODELS_DIR [PULLS] - issue 5's
# fault-injection run: PULLS (default 100) pulls of stories260K.gguf from
# a loopback server whose every answer is drawn at random (whole file,
# connection dropped at a random offset, a corrupted byte, HTTP 500, a
# stall). After each pull: when it succeeded the installed file must
# re-hash to the catalog's SHA-256, when it failed nothing may be active.
# Prints how many pulls succeeded, and how many of those resumed.
set -u
og=$1 shared=$2 pulls=${4:-100}
. "$(dirname "$0")/testlib/cli.sh"
here=$(cd "$(dirname "$0")" && pwd)

export OFFGRID_HOME=$tmp/home OFFGRID_RETRIES=4 OFFGRID_STALL_SECONDS=1
unset OFFGRID_MIRROR OFFGRID_CATALOG OFFGRID_FREE_DISK OFFGRID_RAM
mkdir -p "$tmp/www"
cp "$shared/stories260K.gguf" "$tmp/www/stories.gguf"
size=$(stat -c %s "$tmp/www/stories.gguf")
sha=$(sha256sum "$tmp/www/stories.gguf" | cut -d' ' -f1)
log=$tmp/http.log
OG_HTTP_SEED=${OG_HTTP_SEED:-5} OG_HTTP_LIFETIME=1800 python3 "$here/testlib/http_server.py" "$tmp/www" "$tmp/port" "$log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
url=http://127.0.0.1:$(cat "$tmp/port" 2>/dev/null)
cat >"$tmp/catalog.json" <<JSON
{"format": 1, "models": [{"name": "stories", "version": "1", "task": "chat", "architecture": "llama",
  "license": "MIT", "ram_bytes": 1048576, "files": [{"name": "stories.gguf", "size": $size,
  "sha256": "$sha", "sources": [{"url": "$url/random/stories.gguf"}]}]}]}
JSON

ok=0 failed=0 resumed=0 bad=0
for i in $(seq "$pulls"); do
    "$og" rm stories >/dev/null 2>&1
    : >"$log"
    if "$og" pull stories --catalog "$tmp/catalog.json" >"$tmp/out" 2>&1; then
        ok=$((ok + 1))
        grep -q "range=bytes=[1-9]" "$log" && resumed=$((resumed + 1))
        if ! "$og" verify stories >/dev/null 2>&1; then
            bad=$((bad + 1))
            echo "FAIL pull $i activated a file that does not verify" >&2
        fi
    else
        failed=$((failed + 1))
        if "$og" show stories >/dev/null 2>&1; then
            bad=$((bad + 1))
            echo "FAIL pull $i failed but left stories active" >&2
        fi
    fi
done
echo "store soak: $pulls pulls with random faults: $ok succeeded ($resumed after resuming), $failed failed cleanly, $bad bad"
[ "$bad" -eq 0 ] && pass=$((pass + 1)) || fail=$((fail + 1))
# The faults must have been hit both ways, or the run proved nothing.
[ "$ok" -gt 0 ] && [ "$resumed" -gt 0 ] && [ "$failed" -gt 0 ] && pass=$((pass + 1)) || {
    fail=$((fail + 1))
    echo "FAIL the random faults did not exercise both success after resume and failure" >&2
}
finish cli_store_soak
