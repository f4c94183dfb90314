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
OUTER_LIBS='jansson\.h|sqlite3\.h|sodium\.h|sodium/|curl/|zip\.h|microhttpd\.h'

rank() { local i=0; for m in $CORE_ORDER; do [ "$m" = "$1" ] && { echo $i; return; }; i=$((i + 1)); done; echo -1; }

# The module of a quoted include ("model/ops.h" -> core/model), or
# "public" for include/, or "?" when it names no module.
module_of() {
    case "$1" in
    offgrid.h | offgrid_transform.h | offgrid_services.h) echo public; return ;;
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
        [ "$(rank "${inc#core/}")" -le "$(rank "$mod")" ] ;;
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
            inc=$(echo "${line#*:}" | sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/')
            target=$(module_of "$inc")
            if [ "$target" = "?" ] || ! allowed "$tier" "$mod" "$target"; then
                echo "check_layers: $f:${line%%:*}: $tier/$mod may not include \"$inc\"" >&2
                bad=1
            fi
        done < <(grep -n -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" || true)
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

check_exports() {
    local lib=$1
    shift
    local declared exported
    declared=$(grep -hv '#define OG_API' "$@" | tr '\n' ' ' | grep -oE 'OG_API[^;{(]*\(' | sed -E 's/.*[^A-Za-z0-9_]([A-Za-z_][A-Za-z0-9_]*)[[:space:]]*\($/\1/' | sort -u)
    exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" || $2 == "W" || $2 == "i" {print $3}' | sort -u)
    local extra missing
    extra=$(comm -13 <(echo "$declared") <(echo "$exported"))
    missing=$(comm -23 <(echo "$declared") <(echo "$exported"))
    if [ -n "$extra" ] || [ -n "$missing" ]; then
        [ -n "$extra" ] && echo "check_layers: $lib exports functions no public header declares:" $extra >&2
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
