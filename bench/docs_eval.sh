#!/usr/bin/env bash
# The documents retrieval evaluation in one command: builds the corpus
# (bench/docs_eval/fetch.sh), checks every question's answer is on its page
# (check_questions.py), indexes the corpus and reports recall@5 and MRR for
# bm25, dense and hybrid (evaluate.py), and with --ask the citation accuracy
# of `docs ask` on the 20 marked questions for each --model (ask_eval.py).
# bench/docs_eval/README.md says how the set was made and what is scored.
#
# Usage: bench/docs_eval.sh [--ask] [--model M]... [--require] [--json]
#   --ask        also run ask_eval.py (loads a chat model: slow)
#   --model M    chat model for --ask (repeatable; default: the CLI's)
#   --require    exit 1 when hybrid misses the issue's bar (or a model < 80%)
#   --json       machine-readable reports
# Environment: OFFGRID (binary, default build/bin/offgrid),
#   OFFGRID_DOCS_EVAL_CACHE (default ~/.cache/offgrid/docs_eval),
#   DOCS_EVAL_COLLECTION (default docs-eval).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
export OFFGRID="${OFFGRID:-$ROOT/build/bin/offgrid}"
CACHE="${OFFGRID_DOCS_EVAL_CACHE:-$HOME/.cache/offgrid/docs_eval}"
COLL="${DOCS_EVAL_COLLECTION:-docs-eval}"
ASK=0 REQ=() JSON=() MODELS=()

while [ $# -gt 0 ]; do
    case "$1" in
        --ask) ASK=1; shift ;;
        --model) [ $# -ge 2 ] || { echo "docs_eval.sh: --model needs a value" >&2; exit 2; }
                 MODELS+=(--model "$2"); shift 2 ;;
        --require) REQ=(--require); shift ;;
        --json) JSON=(--json); shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "docs_eval.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

D="$HERE/docs_eval"
"$D/fetch.sh" --cache "$CACHE" >&2
python3 "$D/check_questions.py" --corpus "$CACHE/corpus" >&2
rc=0
python3 "$D/evaluate.py" --corpus "$CACHE/corpus" --collection "$COLL" \
    --save-results "$CACHE/search_results.json" ${REQ[@]+"${REQ[@]}"} ${JSON[@]+"${JSON[@]}"} || rc=$?
if [ "$ASK" = 1 ]; then
    python3 "$D/ask_eval.py" --collection "$COLL" --save-results "$CACHE/ask_results.json" \
        ${MODELS[@]+"${MODELS[@]}"} ${REQ[@]+"${REQ[@]}"} ${JSON[@]+"${JSON[@]}"} || rc=$?
fi
exit "$rc"
