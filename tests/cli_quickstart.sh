#!/usr/bin/env bash
# cli_quickstart.sh OFFGRID SHARED_MODELS MODELS_DIR - runs every command of
# docs/QUICKSTART.md's sh block, in order, as written (with `build/bin/offgrid`
# standing for the binary under test), so the page cannot drift from what
# the CLI does. Offline and in a fresh store: OFFGRID_HOME is a scratch
# folder and OFFGRID_MIRROR the models/ folder setup filled, so `pull`
# installs from there. tools/setup.sh itself is not rerun: CI's .ci/run has
# just run it, before the suite. The interactive `chat` gets a message and
# /bye on stdin; a command ending in `&` (serve) is started in the
# background on a free port in place of 8080, and the next command waits
# for its /health. Each command must exit 0 with some output.
set -u
og=$1 shared=$2 models=$3
. "$(dirname "$0")/testlib/cli.sh"
here=$(cd "$(dirname "$0")" && pwd)
page=$here/../docs/QUICKSTART.md
unset OFFGRID_CATALOG OFFGRID_FREE_DISK OFFGRID_RAM OFFGRID_RAM_AVAILABLE OFFGRID_FORCE
export OFFGRID_HOME=$tmp/home OFFGRID_MIRROR=$models
cd "$here/.."

for f in SmolLM2-135M-Instruct.Q4_1.gguf all-MiniLM-L6-v2.f32.gguf rag-intent-classifier.f32.gguf; do
    [ -f "$models/$f" ] || { echo "cli_quickstart: $models/$f is missing: run tools/setup.sh" >&2; exit 1; }
done
# The classifier is in the store only once setup registered it: do the same here.
for name in all-minilm-l6-v2 rag-intent-classifier; do
    "$og" pull "$name" --no-test >/dev/null 2>&1 || { echo "cli_quickstart: cannot register $name" >&2; exit 1; }
done

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT

wait_health() {
    for _ in $(seq 1 600); do
        curl -sf "127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    return 1
}

# The commands: the lines of the first ```sh block.
mapfile -t lines < <(awk '/^```sh$/ {on = 1; next} /^```$/ {if (on) exit} on' "$page")
[ "${#lines[@]}" -ge 5 ] && [ "${#lines[@]}" -lt 10 ] && pass=$((pass + 1)) ||
    { fail=$((fail + 1)); echo "FAIL the quick start has ${#lines[@]} commands, want 5 to 9" >&2; }

n=0
for line in "${lines[@]}"; do
    n=$((n + 1))
    cmd=${line%%  #*} # the comment after two spaces is for the reader
    cmd=${cmd%"${cmd##*[![:space:]]}"}
    case $cmd in
    tools/setup.sh*) pass=$((pass + 1)); continue ;; # run by .ci/run before the suite
    esac
    cmd=${cmd//build\/bin\/offgrid/\"\$og\"}
    cmd=${cmd//8080/$port}
    if [[ $cmd == *"&" ]]; then
        eval "${cmd%&} >\"\$tmp/server.log\" 2>&1 &"
        server=$!
        wait_health && pass=$((pass + 1)) ||
            { fail=$((fail + 1)); echo "FAIL step $n: the server did not answer /health: $line" >&2; cat "$tmp/server.log" >&2; }
        continue
    fi
    input=/dev/null
    [[ $cmd == *" chat "* && $cmd != *" -p "* ]] && { printf 'Hello!\n/bye\n' >"$tmp/in"; input=$tmp/in; }
    eval "$cmd" <"$input" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" = 0 ] && [ -s "$tmp/out" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL step $n: exit $rc: $line" >&2
        head -c 600 "$tmp/out" "$tmp/err" >&2
    fi
    # What the reader is told to expect.
    case ${line%%  #*} in
    *" catalog "*) grep -q "smollm2-135m-instruct" "$tmp/out" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL catalog lists no SmolLM2" >&2; } ;;
    *" classify "*) [ "$(grep -c . "$tmp/out")" -ge 1 ] && grep -q "card" "$tmp/out" && pass=$((pass + 1)) ||
        { fail=$((fail + 1)); echo "FAIL classify: no card label in its top 3" >&2; cat "$tmp/out" >&2; } ;;
    curl*) python3 -c 'import json, sys; d = json.load(sys.stdin); assert d["choices"][0]["message"]["content"]' <"$tmp/out" &&
        pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL curl: no answer" >&2; cat "$tmp/out" >&2; } ;;
    *" list") grep -q "smollm2-135m-instruct" "$tmp/out" && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL list: SmolLM2 not installed" >&2; } ;;
    esac
done

finish cli_quickstart
