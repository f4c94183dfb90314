#!/usr/bin/env bash
# check_layers.sh - checks what the layout promises (docs/ARCHITECTURE.md):
#
#   tools/check_layers.sh includes            the include rules between tiers and modules
#   tools/check_layers.sh exports LIB HDR...  the shared library LIB exports exactly the
#                                             functions the public headers HDR declare
#
# Exits non-zero, naming each offending line or symbol, when a rule is broken.
set -euo pipefail
cd "$(dirname "$0")/.."

# The core's modules, lowest first: a module may include its own headers
# and those of the modules before it, never one after it.
CORE_ORDER="base tensor gguf tokenizer model run"
# Libraries only the transforms and services may use.
OUTER_LIBS='jansson\.h|sqlite3\.h|sodium\.h|sodium/|curl/|zip\.h|microhttpd\.h|libxml/|tesseract/|leptonica/'

rank() { local i=0; for m in $CORE_ORDER; do [ "$m" = "$1" ] && { echo $i; return; }; i=$((i + 1)); done; echo -1; }

# The module of an include ("model/ops.h" -> core/model), "public" for
# include/, "system" for a header outside the tree (<stdio.h>), or "?"
# when it names no module or climbs out of one ("../x.h", "./x.h").
module_of() {
    case "$1" in
    offgrid.h | offgrid_transform.h | offgrid_services.h) echo public; return ;;
    */../* | ../* | ./* | */./*) echo "?"; return ;;
    esac
    local dir=${1%%/*}
    [ "$dir" = "$1" ] && { echo "?"; return; }
    for tier in core transform services; do
        [ -d "src/$tier/$dir" ] && { echo "$tier/$dir"; return; }
    done
    [ "$dir" = cli ] && { echo cli; return; }
    echo "?"
}

# allowed FILE_TIER FILE_MODULE INCLUDED_MODULE -> 0 when the rule allows it
allowed() {
    local tier=$1 mod=$2 inc=$3
    [ "$inc" = public ] && return 0
    [ "$inc" = "$tier/$mod" ] && return 0
    case "$tier" in
    core)
        [ "${inc%%/*}" = core ] || return 1
        local r_inc r_mod
        r_inc=$(rank "${inc#core/}")
        r_mod=$(rank "$mod")
        # a core module missing from CORE_ORDER has no place: refuse it
        [ "$r_inc" -ge 0 ] && [ "$r_mod" -ge 0 ] && [ "$r_inc" -le "$r_mod" ] ;;
    transform) [ "${inc%%/*}" = core ] ;;
    services) [ "$inc" = services/common ] ;;
    cli) [ "$inc" = cli ] ;;
    *) return 1 ;;
    esac
}

check_includes() {
    local bad=0 f tier mod line inc target
    while IFS= read -r f; do
        case "$f" in
        src/cli/*) tier=cli; mod=cli ;;
        src/*/*/*) tier=$(echo "$f" | cut -d/ -f2); mod=$(echo "$f" | cut -d/ -f3) ;;
        *) echo "check_layers: $f is outside the tiers (src/core, src/transform, src/services, src/cli)" >&2; bad=1; continue ;;
        esac
        while IFS= read -r line; do
            inc=$(echo "${line#*:}" | sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]([^">]+)[">].*/\1/')
            target=$(module_of "$inc")
            # <stdio.h>, <sys/mman.h>, <jansson.h>: outside the tree (the
            # outer libraries are checked below); <server/x.h> is not.
            if echo "${line#*:}" | grep -q '<' && [ "$target" = "?" ]; then
                continue
            fi
            if [ "$target" = "?" ] || ! allowed "$tier" "$mod" "$target"; then
                echo "check_layers: $f:${line%%:*}: $tier/$mod may not include \"$inc\"" >&2
                bad=1
            fi
        done < <(grep -n -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]' "$f" || true)
        if [ "$tier" = core ] || [ "$tier" = cli ]; then
            while IFS= read -r line; do
                echo "check_layers: $f:${line%%:*}: the $tier may not use an outer library: ${line#*:}" >&2
                bad=1
            done < <(grep -n -E "^[[:space:]]*#[[:space:]]*include[[:space:]]*<($OUTER_LIBS)" "$f" || true)
        fi
    done < <(find src -name '*.[ch]' | sort)
    [ $bad = 0 ] && echo "check_layers: include rules hold ($(find src -name '*.[ch]' | wc -l) files)"
    return $bad
}

# The functions the headers declare, after the preprocessor (so #if 0 and
# comments do not count), one per line: "name exported" when OG_API marks
# it, "name hidden" when a prototype lacks it.
declared_functions() {
    local inc
    inc=$(dirname "$1")
    cat "$@" | ${CC:-cc} -E -P -x c -I"$inc" - | python3 -c '
import re, sys
text = sys.stdin.read()
depth, stmt, stmts = 0, [], []
for ch in text:  # file-scope statements: split on ";" outside braces
    if ch == "{": depth += 1
    elif ch == "}": depth -= 1
    if ch == ";" and depth == 0:
        stmts.append("".join(stmt)); stmt = []
    else:
        stmt.append(ch)
attr = re.compile(r"__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)")
for st in stmts:
    st = " ".join(st.split())
    if "{" in st or st.startswith(("typedef", "extern \"C\"")) or "(" not in st:
        continue
    marked = "visibility(\"default\")" in st
    bare = attr.sub(" ", st)
    m = re.search(r"([A-Za-z_]\w*)\s*\(", bare)
    if m and not bare[:m.start()].rstrip().endswith("(*"):
        print(m.group(1), "exported" if marked else "hidden")
'
}

check_exports() {
    local lib=$1
    shift
    local listed declared hidden exported
    listed=$(declared_functions "$@")
    declared=$(echo "$listed" | awk '$2 == "exported" {print $1}' | sort -u)
    hidden=$(echo "$listed" | awk '$2 == "hidden" {print $1}' | sort -u)
    # every defined dynamic symbol, functions and data alike
    exported=$(nm -D --defined-only "$lib" | awk 'NF == 3 && $2 ~ /^[TtWiDdBbRrVv]$/ {print $3}' |
        grep -v -E '^(_init|_fini|_edata|_end|__bss_start)$' | sort -u)
    local extra missing
    extra=$(comm -13 <(echo "$declared") <(echo "$exported"))
    missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
    if [ -n "$extra" ] || [ -n "$missing" ] || [ -n "$hidden" ]; then
        [ -n "$hidden" ] && echo "check_layers: the headers declare functions without OG_API:" $hidden >&2
        [ -n "$extra" ] && echo "check_layers: $lib exports symbols no public header declares:" $extra >&2
        [ -n "$missing" ] && echo "check_layers: the headers declare functions $lib does not export:" $missing >&2
        return 1
    fi
    echo "check_layers: $lib exports exactly the $(echo "$declared" | wc -l) functions of $*"
}

case "${1:-}" in
includes) check_includes ;;
exports) shift; check_exports "$@" ;;
*) echo "usage: tools/check_layers.sh includes | exports LIB HEADER..." >&2; exit 2 ;;
esac
