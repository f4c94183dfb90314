# json_check.sh - sourced after cli.sh by the CLI tests of --json output.
#
# json_ok NAME CONDITION [ARG...]: $tmp/out (the last `expect`'s stdout)
# must be exactly one JSON object, j, for which the Python expression
# CONDITION holds; ARGs are the list a (strings), for values the shell
# knows (a path, a digest) without quoting them into the expression.
# CONDITION may span lines (it is evaluated in parentheses).
json_ok() {
    local name=$1 cond=$2
    shift 2
    if python3 -c '
import json, sys
j = json.load(open(sys.argv[1]))
a = sys.argv[3:]
sys.exit(0 if isinstance(j, dict) and eval("(" + sys.argv[2] + ")") else 1)' "$tmp/out" "$cond" "$@" 2>"$tmp/json_err"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL $name: want one JSON object with $cond ($*)" >&2
        head -c 800 "$tmp/out" "$tmp/json_err" >&2
    fi
}
