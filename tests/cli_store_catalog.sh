#!/usr/bin/env bash
# cli_store_catalog.sh OFFGRID SHARED_MODELS MODELS_DIR - the store as a
# new user meets it, offline: offgrid catalog / search (and --json) list
# every model the default catalog offers, including the two setup builds on
# the device (MiniLM, the intent classifier), which pull registers from the
# models/ folder against the catalog's SHA-256; recommend --task embed finds
# MiniLM, and a task the catalog lacks says so; -m NAME of a catalog model
# that is not installed names the pull command (no terminal) or asks
# (a terminal, through script(1)) and runs the model once pulled; near-miss
# names get "did you mean"; --pull pulls without asking; recommend --json.
set -u
og=$1 shared=$2 models=$3
. "$(dirname "$0")/testlib/cli.sh"
here=$(cd "$(dirname "$0")" && pwd)
unset OFFGRID_MIRROR OFFGRID_CATALOG OFFGRID_FREE_DISK OFFGRID_RAM OFFGRID_RAM_AVAILABLE OFFGRID_FORCE
export OFFGRID_HOME=$tmp/home
default=$here/../catalog/catalog.json

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*" >&2; }

for c in catalog search; do
    expect "$c --help" 0 "usage: offgrid $c" -- "$og" "$c" --help
    expect "$c in the command list" 0 "  $c " -- "$og" --help
done
expect "catalog --task bogus" 2 "--task is chat, embed or classify" -- "$og" catalog --task bogus

# The default catalog: every model setup installs, with task, size, RAM, licence.
expect "catalog lists SmolLM2" 0 "smollm2-135m-instruct        q4_1     chat        93.8 MiB  256.0 MiB  Apache-2.0     offgrid pull smollm2-135m-instruct" -- "$og" catalog --catalog "$default"
grep -qF "all-minilm-l6-v2             f32      embed       86.7 MiB  128.0 MiB  Apache-2.0     built by tools/setup.sh --models" "$tmp/out" && ok || bad "catalog does not list MiniLM"
grep -qF "rag-intent-classifier        f32      classify    86.9 MiB  128.0 MiB  none declared  built by tools/setup.sh --models" "$tmp/out" && ok || bad "catalog does not list the intent classifier"
check_ls() { test ! -e "$OFFGRID_HOME/registry.db"; }
expect "search minilm" 0 "all-minilm-l6-v2" -- "$og" search MiniLM --catalog "$default"
[ "$(wc -l <"$tmp/out")" = 2 ] && ok || bad "search MiniLM printed more than the header and one model"
expect "search --json" 0 '"name": "rag-intent-classifier"' -- "$og" search --task classify --json --catalog "$default"
python3 - "$tmp/out" <<'EOF' && ok || bad "catalog --json"
import json, sys
d = json.load(open(sys.argv[1]))
m = d["models"]
assert len(m) == 1 and m[0]["task"] == "classify" and m[0]["how"] == "built", m
assert m[0]["size"] == 91143060 and m[0]["installed"] is False, m
EOF
expect "catalog --json, all" 0 '"models": [' -- "$og" catalog --json --catalog "$default"
python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["models"]; assert [x["name"] for x in m]==["smollm2-135m-instruct","qwen2.5-coder-0.5b-instruct","qwen2.5-coder-1.5b-instruct","all-minilm-l6-v2","rag-intent-classifier"], m' \
    "$tmp/out" && ok || bad "catalog --json does not list the five models"
expect "search with no match" 0 "no model in $default matches nosuch" -- "$og" search nosuch --catalog "$default"

# recommend: MiniLM for embed; a task missing from a catalog is said so.
expect "recommend --task embed" 0 "recommended: all-minilm-l6-v2:f32 (embed" -- \
    "$og" recommend --task embed --catalog "$default"
expect "recommend --task classify" 0 "recommended: rag-intent-classifier:f32" -- \
    "$og" recommend --task classify --catalog "$default"
echo '{"format": 1, "models": [{"name": "c", "version": "1", "task": "chat", "architecture": "llama",
 "license": "MIT", "ram_bytes": 1048576, "files": [{"name": "c.gguf", "size": 1,
 "sha256": "0000000000000000000000000000000000000000000000000000000000000000", "sources": []}]}]}' >"$tmp/chat.json"
expect "recommend a task the catalog lacks" 1 "the catalog $tmp/chat.json has no embed model" -- \
    "$og" recommend --task embed --catalog "$tmp/chat.json"
grep -q "fits this device" "$tmp/err" && bad "recommend blamed the device for the catalog's gap" || ok
expect "recommend --json" 0 '"recommended": {"name": "all-minilm-l6-v2"' -- \
    "$og" recommend --task embed --json --catalog "$default"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["recommended"]["fits"] and d["device"]["cores"]>0 and len(d["candidates"])==1' \
    "$tmp/out" && ok || bad "recommend --json"
OFFGRID_RAM_AVAILABLE=1000000 expect "recommend --json, nothing fits" 1 '"recommended": null' -- \
    "$og" recommend --task embed --json --catalog "$default"

# Built models: pull says how to build them, then registers the built file.
export OFFGRID_CATALOG=$default
expect "pull a built model without its file" 1 "all-minilm-l6-v2:f32 is built on this machine by \`tools/setup.sh --models\`" -- \
    "$og" pull all-minilm-l6-v2
expect "-m a built model that is not installed" 1 "all-minilm-l6-v2 is not installed; it is built on this machine: run tools/setup.sh --models" -- \
    "$og" embed -m all-minilm-l6-v2 -p hello
if [ -f "$models/all-MiniLM-L6-v2.f32.gguf" ]; then
    OFFGRID_MIRROR=$models expect "register the built MiniLM" 0 "all-minilm-l6-v2:f32 is active" -- \
        "$og" pull all-minilm-l6-v2
    expect "embed -m the registered MiniLM" 0 "" -- "$og" embed -m all-minilm-l6-v2 -p hello
    [ "$(wc -w <"$tmp/out")" = 384 ] && ok || bad "embed -m all-minilm-l6-v2 did not print 384 numbers"
    expect "catalog shows it installed" 0 "installed" -- "$og" search minilm
else
    bad "$models/all-MiniLM-L6-v2.f32.gguf is missing: run tools/setup.sh --models"
fi
# A built file that is not the one the catalog pins is refused.
mkdir -p "$tmp/fake"
cp "$shared/stories260K.gguf" "$tmp/fake/rag-intent-classifier.f32.gguf"
OFFGRID_MIRROR=$tmp/fake expect "a wrong built file" 1 "built on this machine" -- "$og" pull rag-intent-classifier
grep -qF "the catalog says 91143060" "$tmp/err" && ok || bad "the wrong built file's size was not named"

# -m NAME of a catalog model that is not installed, and near misses, with
# a catalog around stories260K.
mkdir -p "$tmp/www"
cp "$shared/stories260K.gguf" "$tmp/www/stories.gguf"
size=$(stat -c %s "$tmp/www/stories.gguf")
sha=$(sha256sum "$tmp/www/stories.gguf" | cut -d' ' -f1)
cat >"$tmp/cat.json" <<EOF
{"format": 1, "models": [{"name": "stories-260k", "version": "1", "task": "chat", "architecture": "llama",
 "license": "MIT", "ram_bytes": 1048576, "files": [{"name": "stories.gguf", "size": $size, "sha256": "$sha",
 "sources": [{"url": "file://$tmp/www/stories.gguf"}]}]}]}
EOF
export OFFGRID_CATALOG=$tmp/cat.json
rm -rf "$OFFGRID_HOME"
expect "prefix without a store" 1 "no model store in $OFFGRID_HOME to look it up in; did you mean stories-260k?" -- \
    "$og" run -m stories -p hi -n 2
check_ls && ok || bad "a near-miss name created a store"
expect "not installed, no terminal" 1 "stories-260k is not installed; pull it first (1.1 MiB): offgrid pull stories-260k" -- \
    "$og" run -m stories-260k -p hi -n 2
check_ls && ok || bad "naming the pull command created a store"
expect "a typo" 1 "did you mean stories-260k?" -- "$og" run -m storeis-260k -p hi -n 2
expect "nothing near" 1 "cannot open zzzz: no such file" -- "$og" run -m zzzz -p hi -n 2
grep -q "did you mean" "$tmp/err" && bad "zzzz got a suggestion" || ok
# On a terminal: asked; "n" pulls nothing, "y" pulls and runs.
printf 'n\n' | script -qec "\"$og\" run -m stories-260k -p hi -n 2 --ids" /dev/null >"$tmp/tty" 2>&1
rc=$?
[ $rc = 1 ] && grep -qF "pull stories-260k (1.1 MiB)? [y/N]" "$tmp/tty" && grep -qF "not pulled" "$tmp/tty" && ok ||
    { bad "terminal, answer n: exit $rc"; cat "$tmp/tty" >&2; }
printf 'y\n' | script -qec "\"$og\" run -m stories-260k -p hi -n 2 --temp 0 --ids" /dev/null >"$tmp/tty" 2>&1
rc=$?
[ $rc = 0 ] && grep -qF "pulled stories-260k:1 (1.1 MiB)" "$tmp/tty" && ok ||
    { bad "terminal, answer y: exit $rc"; cat "$tmp/tty" >&2; }
expect "pulled from the offer" 0 "stories-260k" -- "$og" list
expect "run it by name now" 0 "" -- "$og" run -m stories-260k -p hi -n 2 --temp 0 --ids
expect "installed near miss" 1 "did you mean stories-260k?" -- "$og" run -m stories-206k -p hi -n 2

# --pull: no question, off a terminal too; run and chat both take it.
rm -rf "$OFFGRID_HOME"
expect "run --pull" 0 "" -- "$og" run stories-260k hi -n 2 --temp 0 --ids --pull
grep -qF "pulled stories-260k:1 (1.1 MiB)" "$tmp/err" && ok || bad "run --pull did not say what it pulled"
rm -rf "$OFFGRID_HOME"
expect "chat --pull" 0 "" -- "$og" chat stories-260k -p hi -n 2 --temp 0 --pull
expect "pulled by chat --pull" 0 "stories-260k" -- "$og" list

finish cli_store_catalog
