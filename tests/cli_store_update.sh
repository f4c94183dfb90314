#!/usr/bin/env bash
# cli_store_update.sh OFFGRID SHARED_MODELS MODELS_DIR - offgrid update,
# recommend and -m NAME, against catalogs served over HTTP on 127.0.0.1
# (tests/testlib/http_server.py): --check changes nothing; a newer version
# is switched to only after it passed its checks, and a bad one (wrong
# SHA-256, fails to load) leaves the old one active; metered connections
# (OFFGRID_METERED, a fake nmcli, the config) hold downloads unless
# allowed; two fixed device ids in different rollout cohorts get different
# versions from one catalog, with the cohort hash recomputed here in
# Python (BLAKE2b) so it is stable across implementations; a signed
# catalog with a bad signature is refused; recommend picks the largest
# model that fits a pretended RAM size and says why the others do not;
# run/info -m NAME load the installed model, after the same fit check;
# update --json gives one object per run, with each model's state.
set -u
og=$1 shared=$2
. "$(dirname "$0")/testlib/cli.sh"
. "$(dirname "$0")/testlib/json_check.sh"
here=$(cd "$(dirname "$0")" && pwd)
unset OFFGRID_MIRROR OFFGRID_CATALOG OFFGRID_FREE_DISK OFFGRID_RAM OFFGRID_RAM_AVAILABLE OFFGRID_METERED OFFGRID_FORCE
export OFFGRID_RETRIES=2 OFFGRID_HOME=$tmp/home
# No NetworkManager answers unless a test puts its fake nmcli first.
mkdir -p "$tmp/bin" "$tmp/www"
export PATH=$tmp/bin:$PATH
printf '#!/bin/sh\nexit 1\n' >"$tmp/bin/nmcli"
chmod +x "$tmp/bin/nmcli"

check() { # check NAME CONDITION...: a test without a command's output
    local name=$1
    shift
    if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $name" >&2; fi
}

for c in update recommend; do
    expect "$c --help" 0 "usage: offgrid $c" -- "$og" "$c" --help
    expect "$c in the command list" 0 "  $c " -- "$og" --help
    expect "$c --help names --json" 0 "  --json" -- "$og" "$c" --help
done
expect "recommend --task bogus" 2 "--task is chat, embed or classify" -- "$og" recommend --task bogus
expect "-m NAME without a store" 1 "cannot open nosuch: no such file, and no model store in $OFFGRID_HOME" -- \
    "$og" run -m nosuch -p hi
check "a mistyped -m creates no store" test ! -e "$OFFGRID_HOME"
expect "update on an empty store" 0 "nothing to update" -- "$og" update
expect "update --json on an empty store" 0 '"models": []' -- "$og" update --json
json_ok "update --json on an empty store" 'j == {"ok": True, "check": False, "changed": 0, "models": [], "error": None}'

# Three versions of stories260K (v2, v3: one weight bit flipped, still a
# model) and a file that is no model at all.
cp "$shared/stories260K.gguf" "$tmp/www/v1.gguf"
python3 - "$tmp/www" <<'EOF'
import sys
d = sys.argv[1]
data = bytearray(open(d + "/v1.gguf", "rb").read())
for name, at in (("v2.gguf", len(data) - 1), ("v3.gguf", len(data) - 5)):
    b = bytearray(data)
    b[at] ^= 1
    open(d + "/" + name, "wb").write(b)
open(d + "/junk.gguf", "w").write("not a GGUF file\n")
EOF
size() { stat -c %s "$tmp/www/$1"; }
sha() { sha256sum "$tmp/www/$1" | cut -d' ' -f1; }

python3 "$here/testlib/http_server.py" "$tmp/www" "$tmp/port" "$tmp/http.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
url=http://127.0.0.1:$(cat "$tmp/port" 2>/dev/null)

# write_catalog FILE ENTRY...: ENTRY is VERSION=FILE[=MODE[=ROLLOUT]]; MODE
# is the server's path prefix (plain, corrupt, ...), ROLLOUT "PERCENT/SALT".
write_catalog() {
    local out=$1 first=1
    shift
    {
        echo '{"format": 1, "models": ['
        for e in "$@"; do
            IFS== read -r ver file mode rollout <<<"$e"
            [ $first = 1 ] || echo ','
            first=0
            echo "{\"name\": \"stories\", \"version\": \"$ver\", \"task\": \"chat\", \"architecture\": \"llama\","
            echo " \"license\": \"MIT\", \"ram_bytes\": 1048576, \"parameters\": 292000,"
            [ -n "$rollout" ] && echo " \"rollout\": {\"percent\": ${rollout%/*}, \"salt\": \"${rollout#*/}\"},"
            echo " \"files\": [{\"name\": \"$file\", \"size\": $(size "$file"), \"sha256\": \"$(sha "$file")\","
            echo " \"sources\": [{\"url\": \"$url/${mode:-plain}/$file\"}]}]}"
        done
        echo ']}'
    } >"$tmp/www/$out"
}
active() { "$og" show stories 2>/dev/null | sed -n 's/^version: *\([^ ]*\).*/\1/p'; }
blobs() { find "$OFFGRID_HOME/blobs/sha256" -type f | wc -l; }

write_catalog one.json 1=v1.gguf
write_catalog two.json 1=v1.gguf 2=v2.gguf
expect "pull stories:1" 0 "stories:1 is active" -- "$og" pull stories --catalog "$url/plain/one.json"
expect "nothing newer" 0 "stories:1 is up to date" -- "$og" update --catalog "$url/plain/one.json"

# --check: reports, fetches nothing, changes nothing.
: >"$tmp/http.log"
expect "update --check" 0 "stories:1 -> 2 available (" -- "$og" update --check --catalog "$url/plain/two.json"
check "--check downloads no model" test "$(grep -c 'v2.gguf' "$tmp/http.log")" = 0
check "--check leaves stories:1 active" test "$(active)" = 1
check "--check adds no blob" test "$(blobs)" = 1
expect "update --check --json" 0 '"state": "available"' -- "$og" update --check --json --catalog "$url/plain/two.json"
json_ok "update --check --json" 'j == {"ok": True, "check": True, "changed": 1, "models": [{"name": "stories",
    "from": "1", "to": "2", "state": "available", "download": int(a[0]), "note": ""}], "error": None}' "$(size v2.gguf)"
check "--check --json leaves stories:1 active" test "$(active)" = 1

# Metered: held (exit 1, nothing changes) unless allowed.
OFFGRID_METERED=1 expect "metered: held" 1 "not downloaded over a metered connection (OFFGRID_METERED=1)" -- \
    "$og" update --catalog "$url/plain/two.json"
check "held update leaves stories:1 active" test "$(active)" = 1
OFFGRID_METERED=1 expect "metered: held, --json" 1 '"state": "held"' -- "$og" update --json --catalog "$url/plain/two.json"
json_ok "metered: held, --json" 'j["ok"] is False and j["changed"] == 0 and len(j["models"]) == 1
    and j["models"][0]["state"] == "held" and j["models"][0]["to"] == "2"
    and "metered connection (OFFGRID_METERED=1)" in j["models"][0]["note"] and len(j["error"]) > 0'
printf '#!/bin/sh\necho "GENERAL.METERED:no"\necho "GENERAL.METERED:guess-yes"\n' >"$tmp/bin/nmcli"
expect "NetworkManager says metered" 1 "NetworkManager says a connection is metered" -- \
    "$og" update --catalog "$url/plain/two.json"
printf '#!/bin/sh\nexit 1\n' >"$tmp/bin/nmcli"
check "still stories:1" test "$(active)" = 1
OFFGRID_METERED=1 expect "--allow-metered" 0 "stories:1 -> 2 installed and active (1 stays as the fallback)" -- \
    "$og" update --allow-metered --catalog "$url/plain/two.json"
check "stories:2 active after update" test "$(active)" = 2
expect "stories:1 is the fallback" 0 "previous" -- "$og" list
expect "verify after update" 0 "ok   stories:2" -- "$og" verify

# A bad new version: wrong bytes (corrupted in transit), then a file that
# passes SHA-256 but fails the test load. The old version stays active.
write_catalog bad.json 1=v1.gguf 2=v2.gguf 3=v3.gguf=corrupt
expect "update to a corrupted download" 1 "stories:2 -> 3 FAILED" -- "$og" update --catalog "$url/plain/bad.json"
grep -q "SHA-256" "$tmp/out" "$tmp/err" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL no SHA-256 message" >&2; }
check "stories:2 still active after a corrupted update" test "$(active)" = 2
write_catalog bad.json 1=v1.gguf 2=v2.gguf 3=junk.gguf
expect "update to a file that does not load" 1 "stories:2 -> 3 FAILED: stories:3 failed its test load" -- \
    "$og" update --catalog "$url/plain/bad.json"
grep -q "stories:2 stays active" "$tmp/out" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL no 'stays active'" >&2; }
check "stories:2 still active after a failed load" test "$(active)" = 2
expect "update --json, a file that does not load" 1 '"state": "failed"' -- "$og" update --json --catalog "$url/plain/bad.json"
json_ok "update --json, a file that does not load" 'j["ok"] is False and j["models"][0]["from"] == "2"
    and j["models"][0]["to"] == "3" and j["models"][0]["state"] == "failed"
    and "stories:3 failed its test load" in j["models"][0]["note"]'
expect "previous is still 1" 0 "stories:1 (previous)" -- bash -c "'$og' show stories:1 | sed -n 's/^version: *//p' | sed 's/^/stories:/'"

# The config: allow_metered, and the catalog URL update reads by default.
write_catalog three.json 1=v1.gguf 2=v2.gguf 3=v3.gguf
printf '# test config\ncatalog = %s\nallow_metered = true\n' "$url/plain/three.json" >"$OFFGRID_HOME/config"
OFFGRID_METERED=1 expect "config: catalog URL and allow_metered" 0 "stories:2 -> 3 installed and active" -- "$og" update
check "stories:3 active" test "$(active)" = 3
expect "rollback" 0 "stories:2 is active again" -- "$og" rollback stories
expect "a version rolled back from stays rolled back" 0 "stories:3 is installed but not active" -- "$og" update
check "stories:2 still active after rollback" test "$(active)" = 2
rm "$OFFGRID_HOME/config"

# -m NAME: the installed model, after the fit check.
expect "run -m NAME" 0 "" -- "$og" run -m stories -p "" -n 4 --temp 0 --ids
expect "run -m NAME:VERSION" 0 "" -- "$og" run -m stories:3 -p "" -n 4 --temp 0 --ids
expect "info -m NAME" 0 "llama" -- "$og" info -m stories
OFFGRID_RAM_AVAILABLE=1000000 expect "run -m NAME that does not fit" 1 \
    "stories:2 needs 1.0 MiB of RAM but 70% of the 1.0 MiB available is 0.7 MiB" -- "$og" run -m stories -p "" -n 4
OFFGRID_RAM_AVAILABLE=1000000 OFFGRID_FORCE=1 expect "OFFGRID_FORCE=1" 0 "" -- "$og" run -m stories -p "" -n 4 --ids
expect "run -m an unknown name" 1 "nosuch is neither a file nor an installed model" -- "$og" run -m nosuch -p hi
expect "run -m a file still wins" 0 "" -- "$og" run -m "$tmp/www/v1.gguf" -p "" -n 2 --ids

# Staged rollout: version 2 to 50% of devices. Two fixed device ids on
# either side, found and checked with this script's own BLAKE2b.
write_catalog rollout.json 1=v1.gguf 2=v2.gguf=plain=50/spring
cohort() {
    python3 -c "
import hashlib, sys
h = hashlib.blake2b(digest_size=16)
for p in sys.argv[1:]: h.update(p.encode() + b'\0')
print(int.from_bytes(h.digest()[:8], 'big') % 100)" "$@"
}
id_in= id_out=
for i in $(seq 0 40); do
    id=$(printf '%032x' $((i * 7919 + 1)))
    k=$(cohort "$id" stories 2 spring)
    [ "$k" -lt 50 ] && [ -z "$id_in" ] && id_in=$id
    [ "$k" -ge 50 ] && [ -z "$id_out" ] && id_out=$id k_out=$k
done
for who in in out; do
    h=$tmp/home_$who
    mkdir -p "$h"
    eval "echo \$id_$who" >"$h/device_id"
    OFFGRID_HOME=$h expect "cohort $who: pull stories:1" 0 "stories:1 is active" -- \
        "$og" pull stories:1 --catalog "$url/plain/rollout.json"
done
OFFGRID_HOME=$tmp/home_in expect "in the rollout: updated, --json" 0 '"state": "updated"' -- \
    "$og" update --json --catalog "$url/plain/rollout.json"
json_ok "in the rollout: updated, --json" 'j == {"ok": True, "check": False, "changed": 1, "models": [{"name": "stories",
    "from": "1", "to": "2", "state": "updated", "download": int(a[0]), "note": ""}], "error": None}' "$(size v2.gguf)"
OFFGRID_HOME=$tmp/home_out expect "outside the rollout: stays" 0 \
    "stories:1 is up to date; stories:2 is rolled out to 50% of devices; this device is in cohort $k_out" -- \
    "$og" update --catalog "$url/plain/rollout.json"
OFFGRID_HOME=$tmp/home_out expect "outside the rollout: --json" 0 '"state": "up_to_date"' -- \
    "$og" update --json --catalog "$url/plain/rollout.json"
json_ok "outside the rollout: --json" 'j["ok"] and j["changed"] == 0 and j["models"][0]["from"] == "1"
    and j["models"][0]["to"] is None and "this device is in cohort " + a[0] in j["models"][0]["note"]' "$k_out"
OFFGRID_HOME=$tmp/home_in expect "in the rollout: --json after the update" 0 '"state": "up_to_date"' -- \
    "$og" update --json --catalog "$url/plain/rollout.json"
json_ok "in the rollout: --json after the update" 'j["ok"] and j["models"][0]["from"] == "2" and j["models"][0]["to"] is None'
check "the two cohorts run different versions" test "$(OFFGRID_HOME=$tmp/home_in active)/$(OFFGRID_HOME=$tmp/home_out active)" = 2/1
mkdir -p "$tmp/home_new"
echo "$id_out" >"$tmp/home_new/device_id"
OFFGRID_HOME=$tmp/home_new expect "pull NAME follows the rollout" 0 "stories:1 is active" -- \
    "$og" pull stories --catalog "$url/plain/rollout.json"
OFFGRID_HOME=$tmp/home_new expect "pull NAME:VERSION does not" 0 "stories:2 is active" -- \
    "$og" pull stories:2 --catalog "$url/plain/rollout.json"
echo "not an id" >"$tmp/home_new/device_id"
OFFGRID_HOME=$tmp/home_new expect "a damaged device_id" 1 "device_id is not 32 lower-case hex digits" -- \
    "$og" update --catalog "$url/plain/rollout.json"
OFFGRID_HOME=$tmp/home_fresh expect "a new store gets a device id" 0 "is active" -- \
    "$og" pull stories --catalog "$url/plain/rollout.json"
check "the new device id is 32 hex digits" grep -qxE '[0-9a-f]{32}' "$tmp/home_fresh/device_id"
sed 's/"percent": 50/"percent": 150/' "$tmp/www/rollout.json" >"$tmp/www/badroll.json"
expect "rollout percent out of range" 1 "\"rollout\" needs \"percent\", a whole number from 0 to 100" -- \
    "$og" update --check --catalog "$url/plain/badroll.json"
sed 's/"version": "2"/"version": "..\/..\/x"/' "$tmp/www/rollout.json" >"$tmp/www/badname.json"
expect "catalog version with ../" 1 "\"version\" must be letters" -- "$og" update --check --catalog "$url/plain/badname.json"

# The catalog's own signature (catalog.json.sig beside it).
sh=$tmp/home_sig
mkdir -p "$sh"
"$og" keygen "$tmp/pub" >/dev/null
"$og" sign "$tmp/www/two.json" -k "$tmp/pub.key" >/dev/null 2>&1
OFFGRID_HOME=$sh expect "signed catalog, no trusted key" 1 "is signed but no trusted key is configured" -- \
    "$og" recommend --catalog "$url/plain/two.json"
cp "$tmp/pub.pub" "$sh/trusted_keys"
OFFGRID_HOME=$sh expect "signed catalog, trusted" 0 "recommended: stories:2" -- "$og" recommend --catalog "$url/plain/two.json"
"$og" sign "$tmp/www/one.json" -k "$tmp/pub.key" -o "$tmp/www/two.json.sig" >/dev/null 2>&1
OFFGRID_HOME=$sh expect "signed catalog, bad signature" 1 "catalog signature $url/plain/two.json.sig: the Ed25519 signature does not match" -- \
    "$og" recommend --catalog "$url/plain/two.json"
OFFGRID_HOME=$sh expect "the same over file paths" 1 "the Ed25519 signature does not match" -- \
    "$og" recommend --catalog "$tmp/www/two.json"
echo "require_signed_catalog = true" >"$sh/config"
OFFGRID_HOME=$sh expect "unsigned catalog refused when required" 1 "has no signature" -- \
    "$og" recommend --catalog "$url/plain/three.json"

# recommend on a synthetic catalog: 1, 100 and 10000 MiB chat models and
# an embedding model; RAM pretended with OFFGRID_RAM_AVAILABLE.
model() { # NAME TASK RAM_MIB PARAMS
    echo "{\"name\": \"$1\", \"version\": \"1\", \"task\": \"$2\", \"architecture\": \"llama\", \"license\": \"MIT\","
    echo " \"ram_bytes\": $(($3 * 1048576)), \"parameters\": $4, \"quantization\": \"Q4_0\", \"files\": [{"
    echo " \"name\": \"v1.gguf\", \"size\": $(size v1.gguf), \"sha256\": \"$(sha v1.gguf)\", \"sources\": []}]}"
}
{
    echo '{"format": 1, "models": ['
    model tiny-chat chat 1 1000000; echo ,
    model mid-chat chat 100 100000000; echo ,
    model big-chat chat 10000 7000000000; echo ,
    model mini-embed embed 2 22000000
    echo ']}'
} >"$tmp/rec.json"
MIB=1048576
export OFFGRID_HOME=$tmp/home_rec # nothing installed: every model is a download
OFFGRID_RAM_AVAILABLE=$((200 * MIB)) expect "recommend: the largest that fits" 0 \
    "recommended: mid-chat:1 (chat, 100M parameters, Q4_0" -- "$og" recommend --task chat --catalog "$tmp/rec.json"
grep -q "rejected:    big-chat:1 .*too big: big-chat:1 needs 10000.0 MiB of RAM but 70% of the 200.0 MiB available is 140.0 MiB" "$tmp/out" &&
    grep -q "also fits:   tiny-chat:1" "$tmp/out" && ! grep -q "mini-embed" "$tmp/out" && pass=$((pass + 1)) ||
    { fail=$((fail + 1)); echo "FAIL recommend's reasons:" >&2; cat "$tmp/out" >&2; }
OFFGRID_RAM_AVAILABLE=$((10 * MIB)) expect "recommend with 10 MiB" 0 "recommended: tiny-chat:1" -- \
    "$og" recommend --task chat --catalog "$tmp/rec.json"
OFFGRID_RAM_AVAILABLE=$((200 * MIB)) OFFGRID_FREE_DISK=1000 expect "recommend: no disk" 1 \
    "needs 1.1 MiB of disk but only 0.0 MiB is free" -- "$og" recommend --task chat --catalog "$tmp/rec.json"
OFFGRID_RAM_AVAILABLE=1000 expect "recommend: nothing fits" 1 "no chat model in $tmp/rec.json fits this device" -- \
    "$og" recommend --task chat --catalog "$tmp/rec.json"
OFFGRID_RAM_AVAILABLE=$((200 * MIB)) expect "recommend --task embed" 0 "recommended: mini-embed:1" -- \
    "$og" recommend --task embed --catalog "$tmp/rec.json"
OFFGRID_RAM_AVAILABLE=$((20000 * MIB)) OG_ISA=scalar expect "recommend on scalar kernels" 0 \
    "too slow: 7.00B parameters on the scalar kernels" -- "$og" recommend --catalog "$tmp/rec.json"
expect "recommend names the device" 0 "cores; SIMD" -- "$og" recommend --catalog "$tmp/rec.json"

finish cli_store_update
