#!/usr/bin/env bash
# cli_docs_eval.sh OFFGRID SHARED_MODELS MODELS_DIR - the documents
# retrieval evaluation (bench/docs_eval): the question set is well formed
# and big enough (>= 60 answerable with their place, 10 unanswerable, 20
# for docs ask, every document present); the scoring is right on
# hand-made results; the scripts drive a CLI end to end (through the
# stand-in fake_offgrid.py on a small corpus made here, with exact
# expected figures); check_questions.py finds answers on their page and
# fails on one that is not. When the real corpus is in the cache
# (bench/docs_eval/fetch.sh was run), every question is checked on it.
# The real `offgrid docs` is not needed: the figures on the engine are
# bench/docs_eval.sh's job.
set -u
og=$1
. "$(dirname "$0")/testlib/cli.sh"
D="$(cd "$(dirname "$0")/../bench/docs_eval" && pwd)"
py=python3
: "$og"

ok() { pass=$((pass + 1)); }
ko() { fail=$((fail + 1)); echo "FAIL $1" >&2; }

expect "evaluate self-test" 0 "15 passed, 0 failed" -- $py "$D/evaluate.py" --self-test
expect "ask_eval self-test" 0 "12 passed, 0 failed" -- $py "$D/ask_eval.py" --self-test
expect "evaluate --help" 0 "--results-from" -- $py "$D/evaluate.py" --help
expect "ask_eval --help" 0 "--model" -- $py "$D/ask_eval.py" --help
expect "fetch.sh --help" 0 "apt-get download" -- bash "$D/fetch.sh" --help
expect "fetch.sh bad arg" 2 "unknown argument '--nope'" -- bash "$D/fetch.sh" --nope
expect "docs_eval.sh bad arg" 2 "unknown argument '--nope'" -- bash "$D/../docs_eval.sh" --nope
expect "evaluate bad mode" 2 "unknown mode 'sparse'" -- $py "$D/evaluate.py" --modes sparse
expect "evaluate no binary" 2 "not found" -- $py "$D/evaluate.py" --offgrid "$tmp/none" --skip-add

# The set itself.
if $py - "$D" <<'PY'; then ok; else ko "questions.jsonl shape"; fi
import collections, sys
sys.path.insert(0, sys.argv[1])
import evalset
qs = evalset.load_questions()
ans = [q for q in qs if q["answerable"]]
una = [q for q in qs if not q["answerable"]]
docs = {l.split()[1].lstrip("*") for l in open(sys.argv[1] + "/SHA256SUMS") if l.strip()}
assert len(ans) >= 60, len(ans)
assert len(una) >= 10 and all(q["doc"] is None and q["answer"] is None for q in una)
assert sum(1 for q in ans if q.get("ask")) == 20
assert not any(q.get("ask") for q in una)
for q in ans:
    assert q["doc"] in docs, q["id"]
    assert (q["page"] is not None) == q["doc"].endswith(".pdf"), q["id"]
    assert q["style"] in ("keyword", "paraphrase"), q["id"]
    assert not set("`\u2018\u2019\u201c\u201d") & set(q["answer"]), q["id"]
assert {q["doc"] for q in ans} == docs, "every corpus file has questions"
per = collections.Counter(q["doc"] for q in ans)
assert per["scanned/R-FAQ-page9-scan.pdf"] >= 2
styles = collections.Counter(q["style"] for q in ans)
assert styles["keyword"] >= 20 and styles["paraphrase"] >= 20, styles
PY

# A small corpus and question set: three kinds of document.
c=$tmp/corpus
mkdir -p "$c/sub"
cat >"$c/notes.md" <<'EOF'
# Tides

The harbour gate opens two hours before high water and closes at the turn.
Boats longer than twelve metres must book a slot with the harbour master.
EOF
cat >"$c/sub/page.html" <<'EOF'
<html><head><style>p { color: red }</style></head><body>
<h1>Bees</h1><p>A worker bee lives about <b>six weeks</b> in summer.</p>
<p>The queen lays up to two thousand eggs a day.</p></body></html>
EOF
printf 'Sourdough needs a starter fed with flour and water every day.\n' >"$c/bread.txt"
cat >"$tmp/q.jsonl" <<'EOF'
{"id": "t-1", "q": "When does the harbour gate open?", "doc": "notes.md", "page": null, "answer": "opens two hours before high water", "answerable": true, "style": "keyword", "ask": true}
{"id": "t-2", "q": "How long does a worker bee live?", "doc": "sub/page.html", "page": null, "answer": "lives about six weeks", "answerable": true, "style": "keyword", "ask": true}
{"id": "t-3", "q": "What must be fed with flour and water?", "doc": "bread.txt", "page": null, "answer": "starter fed with flour", "answerable": true, "style": "paraphrase", "ask": true}
{"id": "t-4", "q": "xylophone quasar zebra", "doc": "notes.md", "page": null, "answer": "closes at the turn", "answerable": true, "style": "paraphrase", "ask": false}
{"id": "n-1", "q": "Who painted the Mona Lisa?", "doc": null, "page": null, "answer": null, "answerable": false, "style": "unanswerable", "ask": false}
EOF
expect "check_questions on a small corpus" 0 "4 of 4 answers found" -- \
    $py "$D/check_questions.py" --corpus "$c" --questions "$tmp/q.jsonl" --no-ocr
sed 's/six weeks/seven weeks/' "$tmp/q.jsonl" >"$tmp/bad.jsonl"
expect "check_questions catches a wrong answer" 1 "MISS t-2" -- \
    $py "$D/check_questions.py" --corpus "$c" --questions "$tmp/bad.jsonl" --no-ocr
printf '{"id": "x"}\n' >"$tmp/broken.jsonl"
expect "malformed questions rejected" 2 "missing field 'q'" -- \
    $py "$D/check_questions.py" --corpus "$c" --questions "$tmp/broken.jsonl"

# End to end through the stand-in CLI: word overlap finds t-1..t-3 first
# (bm25), t-4 shares no word with its answer and is missed everywhere.
export FAKE_OFFGRID_DIR=$tmp/fake
expect "evaluate end to end" 0 '"recall"' -- $py "$D/evaluate.py" --offgrid "$D/fake_offgrid.py" \
    --corpus "$c" --questions "$tmp/q.jsonl" --collection t --json --save-results "$tmp/res.json"
cp "$tmp/out" "$tmp/eval.json"
if $py - "$tmp/eval.json" <<'PY'; then ok; else ko "evaluate figures"; fi
import json, sys
r = json.load(open(sys.argv[1]))
b = r["modes"]["bm25"]
assert r["k"] == 5 and b["n"] == 4, r
assert b["recall"] == 0.75 and b["mrr"] == 0.75, b
assert b["missed"] == ["t-4"], b["missed"]
assert list(b["unanswerable_top_score"]) == ["n-1"]
assert set(r["modes"]) == {"bm25", "dense", "hybrid"}
assert r["meets_bar"] is False and any("0.9" in s for s in r["shortfalls"])
PY
expect "re-score recorded run" 0 "bm25       4     0.750  0.750" -- \
    $py "$D/evaluate.py" --questions "$tmp/q.jsonl" --results-from "$tmp/res.json"
expect "require fails below the bar" 1 "short of the bar" -- \
    $py "$D/evaluate.py" --questions "$tmp/q.jsonl" --results-from "$tmp/res.json" --require
expect "CLI failure is reported" 2 "collection 'nope' does not exist" -- $py "$D/evaluate.py" \
    --offgrid "$D/fake_offgrid.py" --questions "$tmp/q.jsonl" --collection nope --skip-add
# docs add exits 1 when one file fails and indexes the rest: scored anyway
# (with a warning and add_error), unless --strict-add.
cp -r "$c" "$tmp/corpus2"
printf 'not a pdf\n' >"$tmp/corpus2/broken.pdf"
expect "a failed file is scored around" 0 "docs add reported failures" -- $py "$D/evaluate.py" \
    --offgrid "$D/fake_offgrid.py" --corpus "$tmp/corpus2" --questions "$tmp/q.jsonl" --collection t2 --json
if $py - "$tmp/out" <<'PY'; then ok; else ko "scores after a failed file"; fi
import json, sys
r = json.load(open(sys.argv[1]))
assert "broken.pdf" in r["add_error"] and r["modes"]["bm25"]["recall"] == 0.75, r
PY
expect "--strict-add stops" 2 "broken.pdf" -- $py "$D/evaluate.py" --offgrid "$D/fake_offgrid.py" \
    --corpus "$tmp/corpus2" --questions "$tmp/q.jsonl" --collection t3 --strict-add
expect "ask_eval end to end" 0 '"accuracy"' -- $py "$D/ask_eval.py" --offgrid "$D/fake_offgrid.py" \
    --questions "$tmp/q.jsonl" --collection t --json -m m1
cp "$tmp/out" "$tmp/ask.json"
if $py - "$tmp/ask.json" <<'PY'; then ok; else ko "ask_eval figures"; fi
import json, sys
r = json.load(open(sys.argv[1]))["models"]["m1"]
# The stand-in cites [1] = its best chunk, which holds each answer.
assert r["n"] == 3 and r["correct"] == 3 and r["accuracy"] == 1.0, r
PY

# The real corpus, when fetch.sh has built it.
corpus=${OFFGRID_DOCS_EVAL_CACHE:-$HOME/.cache/offgrid/docs_eval}/corpus
if [ -f "$corpus/gnuplot.pdf" ] && command -v pdftotext >/dev/null && command -v tesseract >/dev/null; then
    expect "corpus matches SHA256SUMS" 0 "sums-ok" -- bash -c "cd '$corpus' && sha256sum --quiet -c '$D/SHA256SUMS' && echo sums-ok"
    expect "every answer on its page" 0 "70 of 70 answers found" -- $py "$D/check_questions.py" --corpus "$corpus"
else
    echo "cli_docs_eval: corpus not fetched ($corpus): run bench/docs_eval/fetch.sh to check the set on it"
fi

finish cli_docs_eval
