#!/usr/bin/env bash
# cli_store.sh OFFGRID SHARED_MODELS MODELS_DIR - the store's commands:
# help and usage errors, clear refusals (unknown model, bad catalog, too
# little disk, names with ../), pull / list / show / verify / rollback / rm
# / prune / keygen / sign, the default catalog's SmolLM2 pulled offline from
# the models/ folder tools/setup.sh fills, and downloads over HTTP from a
# loopback server (tests/testlib/http_server.py) that drops connections,
# stalls, ignores Range, corrupts bytes and answers 404/500, including a
# pull killed with SIGKILL and resumed, a full disk (RLIMIT_FSIZE) that
# stops the pull at once, a second pull waiting for the first,
# verify-signature, and --json on every store command (one object on
# stdout, also on failure).
set -u
og=$1 shared=$2 models=$3
. "$(dirname "$0")/testlib/cli.sh"
. "$(dirname "$0")/testlib/json_check.sh"
here=$(cd "$(dirname "$0")" && pwd)

export OFFGRID_HOME=$tmp/home
unset OFFGRID_MIRROR OFFGRID_CATALOG OFFGRID_FREE_DISK OFFGRID_RAM
export OFFGRID_RETRIES=6

for c in pull list show rm verify rollback prune keygen sign verify-signature; do
    expect "$c --help" 0 "usage: offgrid $c" -- "$og" "$c" --help
    expect "$c in the command list" 0 "  $c " -- "$og" --help
    expect "$c --help names --json" 0 "  --json" -- "$og" "$c" --help
done
expect "pull without a name" 2 "give a model name" -- "$og" pull
expect "pull two names" 2 "unknown option 'b'" -- "$og" pull a b
expect "list on an empty store" 0 "no model installed" -- "$og" list
expect "list --json on an empty store" 0 '{"models": []}' -- "$og" list --json

# A test catalog around stories260K.gguf, served from $tmp/www.
mkdir -p "$tmp/www" "$tmp/mirror"
cp "$shared/stories260K.gguf" "$tmp/www/stories.gguf"
size=$(stat -c %s "$tmp/www/stories.gguf")
sha=$(sha256sum "$tmp/www/stories.gguf" | cut -d' ' -f1)
cat="$tmp/catalog.json"
# write_catalog NAME:URL...: one entry "stories" version per argument.
write_catalog() {
    local first=1
    {
        echo '{"format": 1, "models": ['
        for nv in "$@"; do
            [ $first = 1 ] || echo ','
            first=0
            echo "{\"name\": \"stories\", \"version\": \"${nv%%=*}\", \"task\": \"chat\", \"architecture\": \"llama\","
            echo " \"license\": \"MIT\", \"ram_bytes\": 1048576, \"files\": [{\"name\": \"stories.gguf\","
            echo " \"size\": $size, \"sha256\": \"$sha\", \"sources\": [{\"url\": \"${nv#*=}\"}]}]}"
        done
        echo ']}'
    } >"$cat"
}
write_catalog "1=file://$tmp/www/stories.gguf" "0-missing=file://$tmp/www/nothing.gguf"

expect "unknown model" 1 "the catalog has no model named 'nosuch'" -- "$og" pull nosuch --catalog "$cat"
expect "unknown version" 1 "the catalog has no model stories:9" -- "$og" pull stories:9 --catalog "$cat"
expect "name with ../" 1 "'../x' is not a valid model name" -- "$og" pull ../x --catalog "$cat"
expect "missing catalog" 1 "cannot open the catalog $tmp/none.json" -- "$og" pull stories --catalog "$tmp/none.json"
echo '{"format": 1, "models": [' >"$tmp/bad.json"
expect "bad catalog JSON" 1 "$tmp/bad.json: bad JSON at line" -- "$og" pull stories --catalog "$tmp/bad.json"
OFFGRID_FREE_DISK=1000 expect "too little disk" 1 "needs 1.1 MiB of disk but only 0.0 MiB is free in $OFFGRID_HOME" -- \
    "$og" pull stories --catalog "$cat"
OFFGRID_RAM=1000 expect "too little RAM" 1 "needs 1.0 MiB of RAM" -- "$og" pull stories --catalog "$cat"
expect "missing file" 1 "no source gave stories:0-missing" -- "$og" pull stories:0-missing --catalog "$cat"
expect "pull --json, failing" 1 "no source gave stories:0-missing" -- "$og" pull stories:0-missing --catalog "$cat" --json
json_ok "pull --json, failing" 'j["ok"] is False and "no source gave stories:0-missing" in j["error"]'
expect "nothing installed after refusals" 0 "no model installed" -- "$og" list
if [ -n "$(find "$OFFGRID_HOME/tmp" "$OFFGRID_HOME/blobs/sha256" -type f)" ]; then
    fail=$((fail + 1))
    echo "FAIL refused pulls left files behind:" >&2
    ls -lA "$OFFGRID_HOME/tmp" "$OFFGRID_HOME/blobs/sha256" >&2
fi
OFFGRID_FREE_DISK=1000 expect "--force" 0 "stories:1 is active" -- "$og" pull stories:1 --force --catalog "$cat"
expect "list" 0 "active" -- "$og" list
expect "show" 0 "blobs/sha256/$sha" -- "$og" show stories
expect "list --json" 0 "{\"name\": \"stories\", \"version\": \"1\", \"state\": \"active\", \"task\": \"chat\"" -- \
    "$og" list --json
python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["models"]; assert len(m)==1 and m[0]["size"]==int(sys.argv[2])' \
    "$tmp/out" "$size" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL list --json is not the one model" >&2; }
expect "show --json" 0 "\"path\": \"$OFFGRID_HOME/blobs/sha256/$sha\"" -- "$og" show stories --json
python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); assert v["sha256"]==sys.argv[2] and v["state"]=="active"' \
    "$tmp/out" "$sha" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL show --json" >&2; }
expect "show --json of a missing model" 1 "nosuch is not installed" -- "$og" show nosuch --json
expect "pull --json, installed already" 0 '"already_installed": true' -- "$og" pull stories:1 --catalog "$cat" --json
json_ok "pull --json, installed already" \
    'j == {"ok": True, "name": "stories", "version": "1", "path": a[0] + "/blobs/sha256/" + a[1], "bytes": int(a[2]),
           "sha256": a[1], "source": "file://" + a[3], "already_installed": True}' \
    "$OFFGRID_HOME" "$sha" "$size" "$tmp/www/stories.gguf"
expect "verify" 0 "ok   stories:1" -- "$og" verify
expect "verify --json" 0 '"checked": 1' -- "$og" verify --json
json_ok "verify --json" 'j == {"ok": True, "checked": 1, "bad": 0,
    "models": [{"name": "stories", "version": "1", "ok": True, "error": None}]}'
# A damaged file: verify --json names it (exit 1), then the bytes come back.
blob=$OFFGRID_HOME/blobs/sha256/$sha
chmod u+w "$blob" && printf 'x' >>"$blob"
expect "verify --json, damaged" 1 '"bad": 1' -- "$og" verify stories --json
json_ok "verify --json, damaged" 'j["ok"] is False and j["checked"] == 1 and j["models"][0]["ok"] is False
    and j["models"][0]["version"] == "1" and len(j["models"][0]["error"]) > 0'
truncate -s "$size" "$blob"
expect "verify --json of a missing model" 1 "nosuch is not installed" -- "$og" verify nosuch --json
json_ok "verify --json of a missing model" 'j == {"ok": False, "error": "nosuch is not installed"}'
expect "rollback without previous" 1 "stories has no previous version" -- "$og" rollback stories
expect "rollback --json without previous" 1 "stories has no previous version" -- "$og" rollback stories --json
json_ok "rollback --json without previous" 'j["ok"] is False and "stories has no previous version" in j["error"]'
expect "rm" 0 "removed stories" -- "$og" rm stories
expect "rm again" 1 "stories is not installed" -- "$og" rm stories
expect "rm --json, not installed" 1 "stories is not installed" -- "$og" rm stories --json
json_ok "rm --json, not installed" 'j == {"ok": False, "error": "stories is not installed"}'
expect "show missing" 1 "stories is not installed" -- "$og" show stories

# keygen and sign
expect "keygen" 0 "wrote $tmp/pub.key" -- "$og" keygen "$tmp/pub"
expect "keygen twice" 1 "File exists" -- "$og" keygen "$tmp/pub"
expect "sign without a key" 2 "give the file and -k SECRET_KEY" -- "$og" sign "$tmp/www/stories.gguf"
expect "sign" 0 "wrote $tmp/www/stories.gguf.sig" -- "$og" sign "$tmp/www/stories.gguf" -k "$tmp/pub.key"
if [ "$(tr -d '\n' <"$tmp/www/stories.gguf.sig" | wc -c)" != 128 ]; then
    fail=$((fail + 1))
    echo "FAIL the signature file is not 128 hex digits" >&2
fi
expect "keygen --json" 0 '"public_key": "' -- "$og" keygen "$tmp/json" --json
json_ok "keygen --json" 'j == {"ok": True, "secret_key_file": a[0] + ".key", "public_key_file": a[0] + ".pub",
    "public_key": open(a[0] + ".pub").read().strip()} and len(j["public_key"]) == 64' "$tmp/json"
expect "keygen --json twice" 1 "File exists" -- "$og" keygen "$tmp/json" --json
json_ok "keygen --json twice" 'j["ok"] is False and "File exists" in j["error"]'
expect "sign --json" 0 '"signature_file": ' -- "$og" sign "$tmp/www/stories.gguf" -k "$tmp/json.key" -o "$tmp/json.sig" --json
json_ok "sign --json" 'j == {"ok": True, "file": a[0], "signature": open(a[1]).read().strip(), "signature_file": a[1]}
    and len(j["signature"]) == 128' "$tmp/www/stories.gguf" "$tmp/json.sig"
expect "sign --json, no key file" 1 "cannot open the secret key" -- "$og" sign "$tmp/www/stories.gguf" -k "$tmp/none.key" --json
json_ok "sign --json, no key file" 'j["ok"] is False and a[0] in j["error"]' "$tmp/none.key"
# verify-signature, for publishers: good, another key, a changed file.
expect "verify-signature without a key" 2 "give the file and -k PUBLIC_KEY" -- "$og" verify-signature "$tmp/www/stories.gguf"
expect "verify-signature" 0 "$tmp/www/stories.gguf: good signature by $tmp/pub.pub" -- \
    "$og" verify-signature "$tmp/www/stories.gguf" -k "$tmp/pub.pub"
expect "verify-signature --json" 0 '"valid": true, "error": null}' -- \
    "$og" verify-signature "$tmp/www/stories.gguf" -k "$tmp/pub.pub" --json
"$og" keygen "$tmp/other" >/dev/null
expect "verify-signature, another key" 1 "signature" -- "$og" verify-signature "$tmp/www/stories.gguf" -k "$tmp/other.pub"
expect "verify-signature --json, another key" 1 '"valid": false' -- \
    "$og" verify-signature "$tmp/www/stories.gguf" -k "$tmp/other.pub" --json
cp "$tmp/www/stories.gguf" "$tmp/changed.gguf"
printf 'x' >>"$tmp/changed.gguf"
expect "verify-signature, changed file" 1 "$tmp/changed.gguf" -- \
    "$og" verify-signature "$tmp/changed.gguf" -k "$tmp/pub.pub" -s "$tmp/www/stories.gguf.sig"
expect "verify-signature, no signature file" 1 "cannot open the signature $tmp/changed.gguf.sig" -- \
    "$og" verify-signature "$tmp/changed.gguf" -k "$tmp/pub.pub"

# The default catalog's chat model, offline from the models/ folder.
smol=$models/SmolLM2-135M-Instruct.Q4_1.gguf
if [ -f "$smol" ]; then
    OFFGRID_MIRROR=/nonexistent:$models expect "pull smollm2 from the mirror" 0 \
        "smollm2-135m-instruct:q4_1 is active" -- "$og" pull smollm2-135m-instruct --catalog "$here/../catalog/catalog.json"
    expect "smollm2 verified" 0 "ok   smollm2-135m-instruct:q4_1" -- "$og" verify smollm2-135m-instruct
    path=$("$og" show smollm2-135m-instruct | sed -n 's/^path: *//p')
    expect "run the pulled model" 0 "" -- "$og" run -m "$path" -p "Hello" -n 4 --temp 0
    expect "rm smollm2" 0 "removed" -- "$og" rm smollm2-135m-instruct
else
    fail=$((fail + 1))
    echo "FAIL $smol is missing: run tools/setup.sh --models" >&2
fi

# HTTP on the loopback address.
log=$tmp/http.log
python3 "$here/testlib/http_server.py" "$tmp/www" "$tmp/port" "$log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
url=http://127.0.0.1:$(cat "$tmp/port" 2>/dev/null)
write_catalog "1=$url/plain/stories.gguf" "2=$url/drop/300000/stories.gguf" "3=$url/norange/stories.gguf" \
    "0-404=$url/status/404/stories.gguf" "0-500=$url/status/500/stories.gguf" \
    "0-corrupt=$url/corrupt/stories.gguf" "0-stall=$url/stall/stories.gguf" "0-slow=$url/slow/stories.gguf"

cp "$cat" "$tmp/www/catalog.json"
expect "catalog from a URL" 1 "the catalog has no model named 'nosuch'" -- "$og" pull nosuch --catalog "$url/plain/catalog.json"
expect "catalog URL 404" 1 "/status/404/catalog.json: HTTP 404" -- "$og" pull stories --catalog "$url/status/404/catalog.json"
expect "http 404" 1 "/status/404/stories.gguf: HTTP 404" -- "$og" pull stories:0-404 --catalog "$cat"
OFFGRID_RETRIES=2 expect "http 500, retried" 1 "gave up after 2 attempts: $url/status/500/stories.gguf: HTTP 500" -- \
    "$og" pull stories:0-500 --catalog "$cat"
expect "corrupt byte" 1 "SHA-256" -- "$og" pull stories:0-corrupt --catalog "$cat"
OFFGRID_RETRIES=2 OFFGRID_STALL_SECONDS=1 expect "stalled server" 1 "gave up after 2 attempts" -- \
    "$og" pull stories:0-stall --catalog "$cat"
expect "nothing active after HTTP failures" 0 "no model installed" -- "$og" list
if [ -n "$(find "$OFFGRID_HOME/blobs/sha256" -type f)" ]; then
    fail=$((fail + 1))
    echo "FAIL a failed download left a blob:" >&2
    ls -lA "$OFFGRID_HOME/blobs/sha256" >&2
fi
expect "http pull" 0 "stories:1 is active" -- "$og" pull stories:1 --catalog "$cat"
# Every version is the same file: remove it, or the next pull has nothing to fetch.
"$og" rm stories >/dev/null
: >"$log"
expect "dropped connections resume" 0 "stories:2 is active" -- "$og" pull stories:2 --catalog "$cat"
if ! grep -q "range=bytes=900000-" "$log"; then
    fail=$((fail + 1))
    echo "FAIL no resumed request at byte 900000:" >&2
    cat "$log" >&2
fi
"$og" rm stories >/dev/null
head -c 1000 "$tmp/www/stories.gguf" >"$OFFGRID_HOME/tmp/$sha.partial"
: >"$log"
expect "server ignoring Range" 0 "stories:3 is active" -- "$og" pull stories:3 --catalog "$cat"
if ! grep -q "range=bytes=1000-" "$log"; then
    fail=$((fail + 1))
    echo "FAIL no Range request for the partial file:" >&2
    cat "$log" >&2
fi
expect "a second version, --json" 0 '"already_installed": false' -- "$og" pull stories:1 --catalog "$cat" --json
json_ok "pull --json" 'j["ok"] and j["version"] == "1" and j["sha256"] == a[0] and j["bytes"] == int(a[1])
    and j["already_installed"] is False' "$sha" "$size"
expect "rollback" 0 "stories:3 is active again" -- "$og" rollback stories
expect "list after rollback" 0 "previous" -- "$og" list
expect "rollback --json" 0 '"from": "3"' -- "$og" rollback stories --json
json_ok "rollback --json" 'j == {"ok": True, "name": "stories", "from": "3", "to": "1"}'
expect "rm one version --json" 0 '"removed": ' -- "$og" rm stories:1 --json
json_ok "rm one version --json" 'j == {"ok": True, "name": "stories", "removed": [{"version": "1", "bytes": int(a[0]),
    "sha256": a[1]}], "active": "3"}' "$size" "$sha"
expect "rm the rest --json" 0 '"active": null' -- "$og" rm stories --json
json_ok "rm the rest --json" 'j["ok"] and [r["version"] for r in j["removed"]] == ["3"] and j["active"] is None'

# SIGKILL in the middle of a slow download, then a pull that resumes it.
"$og" pull stories:0-slow --catalog "$cat" >/dev/null 2>&1 &
puller=$!
partial=$OFFGRID_HOME/tmp/$sha.partial
for _ in $(seq 100); do
    [ -f "$partial" ] && [ "$(stat -c %s "$partial")" -ge 200000 ] && break
    sleep 0.1
done
kill -9 $puller
wait $puller 2>/dev/null
kept=$(stat -c %s "$partial" 2>/dev/null || echo 0)
: >"$log"
expect "resume after SIGKILL" 0 "stories:1 is active" -- "$og" pull stories:1 --catalog "$cat"
if [ "$kept" -lt 200000 ] || ! grep -q "range=bytes=$kept-" "$log"; then
    fail=$((fail + 1))
    echo "FAIL the pull after SIGKILL did not resume at byte $kept:" >&2
    cat "$log" >&2
fi
expect "verify after resume" 0 "ok   stories:1" -- "$og" verify

# A full disk, simulated with RLIMIT_FSIZE (SIGXFSZ ignored, so writes
# fail with EFBIG, as ENOSPC would): the pull stops at once with a message
# naming offgrid prune, tries neither a retry nor the entry's second
# source, leaves no .partial taking the room, activates nothing; once
# there is room, a pull starts from zero.
"$og" rm stories >/dev/null
full=$tmp/full.json
cat >"$full" <<EOF
{"format": 1, "models": [{"name": "stories", "version": "1", "task": "chat", "architecture": "llama",
 "license": "MIT", "ram_bytes": 1048576, "files": [{"name": "stories.gguf", "size": $size, "sha256": "$sha",
 "sources": [{"url": "$url/plain/stories.gguf"}, {"url": "$url/norange/stories.gguf"}]}]}]}
EOF
: >"$log"
expect "full disk" 1 "the disk is full while fetching stories:1" -- bash -c 'trap "" XFSZ; ulimit -f 400; exec "$@"' _ \
    "$og" pull stories:1 --catalog "$full"
grep -qF "offgrid prune" "$tmp/err" || { fail=$((fail + 1)); echo "FAIL the full-disk error does not name offgrid prune" >&2; }
if [ "$(wc -l <"$log")" != 1 ] || grep -q norange "$log"; then
    fail=$((fail + 1))
    echo "FAIL a full disk was retried or the next source tried:" >&2
    cat "$log" >&2
fi
if [ -n "$(find "$OFFGRID_HOME/tmp" -type f)" ]; then
    fail=$((fail + 1))
    echo "FAIL a full disk left files in tmp:" >&2
    ls -lA "$OFFGRID_HOME/tmp" >&2
fi
expect "nothing active after a full disk" 0 "no model installed" -- "$og" list
: >"$log"
expect "pull once there is room" 0 "stories:1 is active" -- "$og" pull stories:1 --catalog "$full"
if grep -q "range=bytes=" "$log"; then
    fail=$((fail + 1))
    echo "FAIL the pull after the full disk resumed a partial file that should be gone:" >&2
    cat "$log" >&2
fi

# A second pull of the same model while the first is still downloading
# waits for it, saying so, instead of failing; then finds the file there.
"$og" rm stories >/dev/null
"$og" pull stories:0-slow --catalog "$cat" >/dev/null 2>&1 &
first=$!
for _ in $(seq 100); do [ -f "$OFFGRID_HOME/tmp/$sha.partial" ] && break; sleep 0.1; done
expect "a second pull waits" 0 "waiting for another pull of stories (pid $first) to finish" -- \
    "$og" pull stories:0-slow --catalog "$cat"
grep -qF "stories:0-slow is active" "$tmp/out" ||
    { fail=$((fail + 1)); echo "FAIL the waiting pull did not install stories:0-slow" >&2; }
wait $first
first_rc=$?
[ "$first_rc" = 0 ] || { fail=$((fail + 1)); echo "FAIL the first pull exited $first_rc" >&2; }
expect "prune" 0 "pruned" -- "$og" prune
# A leftover download of 1000 bytes, and an empty cache of repacked weights.
head -c 1000 "$tmp/www/stories.gguf" >"$OFFGRID_HOME/tmp/leftover.partial"
mkdir -p "$tmp/cache"
OFFGRID_CACHE_DIR=$tmp/cache expect "prune --json" 0 '"store": ' -- "$og" prune --json
json_ok "prune --json" 'j == {"ok": True, "files": 1, "bytes": 1000, "store": {"files": 1, "bytes": 1000},
    "cache": {"dir": a[0], "files": 0, "bytes": 0}}' "$tmp/cache"

finish cli_store
