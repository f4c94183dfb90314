#!/usr/bin/env bash
# docs_bench.sh [CORPUS_DIR] - the documents service's speed, 2 threads:
#  1. ingestion of CORPUS_DIR into a fresh collection: pages/s, chunks/s,
#     peak RSS (GNU time) and the RSS sampled every 2 s (flat, not growing
#     with what was ingested). Default corpus, 1,249 PDF pages plus HTML
#     and Markdown, from the Debian packages bench/docs_eval/fetch.sh
#     already fetched: gnuplot.pdf (311 pages), debian-reference.en.pdf
#     (261), seven R manuals (677: R-intro, R-FAQ, R-admin, R-data,
#     R-exts, R-ints, R-lang), the Debian Reference chapters as HTML and
#     the Node.js docs as Markdown. Any folder works;
#  2. search latency in one process (bench/docs_search_bench.c) at 10k
#     and 100k chunks, each mode, p50 and p95, over synthetic collections
#     made from the ingested one's schema and vocabulary
#     (bench/docs_synth.py; search cost depends on the counts, not on the
#     words);
#  3. the dense scan alone against sqlite-vec's brute-force vec0 KNN on the
#     same vectors and queries, in the same run (bench/docs_vec.py; the
#     sqlite-vec package, pinned below, is installed with pip into the
#     cache folder).
# Environment: OFFGRID (build/bin/offgrid), EMBED (models/all-MiniLM-L6-v2.f32.gguf),
# SIZES ("10000 100000"), K (5), CACHE (~/.cache/offgrid/docs_bench).
set -euo pipefail
die() { echo "docs_bench.sh: $*" >&2; exit 2; }
here=$(cd "$(dirname "$0")/.." && pwd)
og=${OFFGRID:-$here/build/bin/offgrid}
emb=${EMBED:-$here/models/all-MiniLM-L6-v2.f32.gguf}
eval_cache=${OFFGRID_DOCS_EVAL:-$HOME/.cache/offgrid/docs_eval}
sizes=${SIZES:-10000 100000}
k=${K:-5}
cache=${CACHE:-$HOME/.cache/offgrid/docs_bench}
if [ $# -ge 1 ]; then
    corpus=$1
else # the default corpus: links into docs_eval's unpacked packages
    "$here/bench/docs_eval/fetch.sh" --cache "$eval_cache" >&2
    corpus=$cache/corpus
    r=$eval_cache/root
    mkdir -p "$corpus/R"
    ln -sf "$r/gnuplot-doc/usr/share/doc/gnuplot/gnuplot.pdf" "$corpus/gnuplot.pdf"
    ln -sf "$r/debian-reference-en/usr/share/debian-reference/debian-reference.en.pdf" "$corpus/debian-reference.en.pdf"
    for m in R-intro R-FAQ R-admin R-data R-exts R-ints R-lang; do
        ln -sf "$r/r-doc-pdf/usr/share/R/doc/manual/$m.pdf" "$corpus/R/$m.pdf"
    done
    ln -sfn "$eval_cache/corpus/debian-reference" "$corpus/debian-reference-html"
    ln -sfn "$eval_cache/corpus/nodejs" "$corpus/nodejs"
fi
SQLITE_VEC_VERSION=0.1.9
[ -x "$og" ] || die "no offgrid at $og (build first)"
[ -r "$emb" ] || die "no embedding model $emb"
[ -d "$corpus" ] || die "no corpus folder $corpus (bench/docs_eval/fetch.sh builds the default one)"
[ -x /usr/bin/python3 ] || die "needs Debian's /usr/bin/python3 (its sqlite3 has FTS5 and extension loading)"
mkdir -p "$cache"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== 1. ingestion of $corpus ($(du -shL "$corpus" | cut -f1)), 2 threads"
OFFGRID_HOME=$work/home /usr/bin/time -v "$og" docs add --embed-model "$emb" -t 2 -q --json "$corpus" \
    >"$work/add.json" 2>"$work/time.txt" &
ingest=$!
: >"$work/rss.txt"
while kill -0 "$ingest" 2>/dev/null; do # the RSS of offgrid itself (time's child), every 2 s
    pid=$(pgrep -P "$ingest" -x offgrid | head -1 || true)
    [ -n "$pid" ] && awk '/^VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null >>"$work/rss.txt" || true
    sleep 2
done
wait "$ingest" || true
/usr/bin/python3 - "$work/add.json" "$work/time.txt" "$work/rss.txt" <<'P'
import json, re, sys
a = json.load(open(sys.argv[1]))
rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(sys.argv[2]).read())
s = a["seconds"] or 1e-9
print("files %d (failed %d), pages %d, chunks %d in %.1f s: %.1f pages/s, %.1f chunks/s, peak RSS %s MiB"
      % (a["files"], len(a["failed"]), a["pages"], a["chunks"], s, a["pages"] / s, a["chunks"] / s,
         int(rss.group(1)) // 1024 if rss else "?"))
samples = [int(x) // 1024 for x in open(sys.argv[3]).read().split()]
if len(samples) >= 10:
    n = len(samples)
    tenths = [max(samples[i * n // 10:(i + 1) * n // 10]) for i in range(10)]
    print("RSS (MiB), the most in each tenth of the run: %s" % " ".join(map(str, tenths)))
for f in a["failed"]:
    print("  failed: %s" % f["error"])
P

queries=$work/queries.txt
if [ -r "$here/bench/docs_eval/questions.jsonl" ]; then
    /usr/bin/python3 -c 'import json,sys; [print(json.loads(l)["q"]) for l in open(sys.argv[1]) if l.strip()]' \
        "$here/bench/docs_eval/questions.jsonl" >"$queries"
else
    printf '%s\n' "how do I set a logarithmic scale" "plot a function with points" "what is a data frame" \
        "install a package from source" "read a file line by line" "change the output terminal to png" \
        "matrix multiplication" "write a loop over a list" "set the range of the x axis" "save a plot to a file" >"$queries"
fi

bench_bin=$work/docs_search_bench
libdir=$(cd "$(dirname "$(readlink -f "$og")")/.." && pwd) # the build folder of that offgrid
cc -O2 -I"$here/include" "$here/bench/docs_search_bench.c" -L"$libdir" -loffgrid -Wl,-rpath,"$libdir" \
    -o "$bench_bin" || die "cannot build the search benchmark against $libdir/liboffgrid.so"
if [ ! -d "$cache/sqlvec/sqlite_vec" ]; then
    /usr/bin/python3 -m pip install -q --target "$cache/sqlvec" "sqlite-vec==$SQLITE_VEC_VERSION" >/dev/null 2>&1 ||
        echo "docs_bench.sh: could not install sqlite-vec==$SQLITE_VEC_VERSION: its comparison is skipped" >&2
fi
src_db=$work/home/docs/default/docs.db
for n in $sizes; do
    echo "== 2-3. search at $n chunks (k = $k, $(wc -l <"$queries") queries, 2 threads)"
    mkdir -p "$work/s$n/docs/default"
    /usr/bin/python3 "$here/bench/docs_synth.py" "$src_db" "$work/s$n/docs/default/docs.db" "$n" 384
    "$bench_bin" "$work/s$n" default "$emb" "$queries" "$work/s$n/docs/default/docs.db" "$k"
    if [ -d "$cache/sqlvec/sqlite_vec" ]; then
        PYTHONPATH=$cache/sqlvec /usr/bin/python3 "$here/bench/docs_vec.py" "$work/s$n/docs/default/docs.db.vecs" \
            "$work/s$n/docs/default/docs.db.qvecs" 384 "$k"
    fi
    rm -rf "$work/s$n"
done
