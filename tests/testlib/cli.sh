# cli.sh - sourced by the tests/cli_*.sh scripts: a scratch folder,
# pass/fail counters, `expect` and the closing summary line.
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# expect NAME WANT_EXIT WANT_TEXT -- command...: runs it, checks the exit
# code and that stdout+stderr contain WANT_TEXT.
expect() {
    local name=$1 want_rc=$2 want_text=$3
    shift 4
    "$@" >"$tmp/out" 2>"$tmp/err"
    local rc=$?
    if [ "$rc" -eq "$want_rc" ] && grep -qF -- "$want_text" "$tmp/out" "$tmp/err"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL $name: exit $rc (want $want_rc), want text '$want_text'" >&2
        head -c 600 "$tmp/out" "$tmp/err" >&2
    fi
}

# finish NAME: prints 'NAME: N passed, N failed' and sets the exit code.
finish() {
    echo "$1: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}
