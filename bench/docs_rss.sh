#!/usr/bin/env bash
# docs_rss.sh [--gb N] [--file-kb K] [--encoder-tokens T] [--threads J] [--every S]
#             [--require] [--keep] [--cache DIR]
# The memory of `offgrid docs add` over a large corpus: peak RSS during a
# 1 GB ingest stays flat (issue 19). What it runs, into a fresh
# OFFGRID_HOME, under GNU time, sampling offgrid's VmRSS every S seconds
# (default 2; as bench/docs_bench.sh section 1 does):
#   offgrid docs add --embed-model TINY.gguf -t J -q --json CORPUS
# (J: default 2). TINY.gguf is a 1-layer, hidden-32 BERT with
# all-MiniLM-L6-v2's real WordPiece vocabulary and random weights that
# reads the first T tokens of each chunk (default 32)
# (bench/docs_rss_model.py, then `offgrid convert`): with MiniLM itself
# 1 GB (~250 M tokens) would take days, all of it in the encoder; the
# tiny one leaves extraction, chunking, tokenizing, the embedding
# batches, FTS5 and SQLite - what the memory depends on - as they are.
# CORPUS is N GB (default 1; 10^9 bytes) of
# Markdown recombined from English text the machine has
# (bench/docs_rss_corpus.py). Both are cached in DIR
# (~/.cache/offgrid/docs_rss): the corpus as corpus-<N>gb.
# Prints files, bytes, chunks, seconds, MB/s, peak RSS, the RSS maximum
# in each tenth of the run, whether it is flat (the last tenth's maximum
# within 10%, or 20 MiB, of the second tenth's: the first tenth is the
# start, loading the model and opening the database), and the database's
# size on disk. --require: exit 1 unless flat (and every file indexed).
# --keep: keep the run's OFFGRID_HOME (its path is printed).
# Environment: OFFGRID (build/bin/offgrid), MINILM_VOCAB (where the
# vocabulary comes from: models/all-MiniLM-L6-v2/vocab.txt, else
# models/all-MiniLM-L6-v2.f32.gguf).
# Timing at 50 MB: see bench/docs_rss.md.
set -euo pipefail
die() { echo "docs_rss.sh: $*" >&2; exit 2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
here=$(cd "$(dirname "$0")/.." && pwd)
og=${OFFGRID:-$here/build/bin/offgrid}
gb=1 file_kb=500 enc_tokens=32 threads=2 every=2 require=0 keep=0 cache=$HOME/.cache/offgrid/docs_rss
while [ $# -gt 0 ]; do
    case $1 in
    --gb) gb=${2:?--gb needs a number}; shift 2 ;;
    --file-kb) file_kb=${2:?--file-kb needs a number}; shift 2 ;;
    --encoder-tokens) enc_tokens=${2:?--encoder-tokens needs a number}; shift 2 ;;
    --threads) threads=${2:?--threads needs a number}; shift 2 ;;
    --every) every=${2:?--every needs seconds}; shift 2 ;;
    --cache) cache=${2:?--cache needs a folder}; shift 2 ;;
    --require) require=1; shift ;;
    --keep) keep=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[[ $gb =~ ^[0-9]*\.?[0-9]+$ ]] && awk "BEGIN { exit !($gb > 0) }" || die "--gb wants a positive number, not '$gb'"
[[ $file_kb =~ ^[1-9][0-9]*$ ]] || die "--file-kb wants a positive whole number, not '$file_kb'"
[[ $enc_tokens =~ ^[0-9]+$ ]] && [ "$enc_tokens" -ge 3 ] && [ "$enc_tokens" -le 512 ] ||
    die "--encoder-tokens wants a whole number from 3 to 512, not '$enc_tokens'"
[[ $threads =~ ^[1-9][0-9]*$ ]] || die "--threads wants a positive whole number, not '$threads'"
[[ $every =~ ^[0-9]*\.?[0-9]+$ ]] && awk "BEGIN { exit !($every > 0) }" || die "--every wants positive seconds, not '$every'"
[ -x "$og" ] || die "no offgrid at $og (build first)"
[ -x /usr/bin/time ] || die "needs GNU time at /usr/bin/time"
vocab=${MINILM_VOCAB:-}
if [ -z "$vocab" ]; then
    for v in "$here/models/all-MiniLM-L6-v2/vocab.txt" "$here/models/all-MiniLM-L6-v2.f32.gguf"; do
        [ -r "$v" ] && { vocab=$v; break; }
    done
fi
[ -n "$vocab" ] && [ -r "$vocab" ] || die "no MiniLM vocabulary (set MINILM_VOCAB to its vocab.txt or GGUF; tools/setup.sh --models)"
mkdir -p "$cache"

# The tiny encoder, made once (and again if the script that makes it changed).
tiny=$cache/tiny-bert-$enc_tokens.gguf
stamp="$(cksum <"$here/bench/docs_rss_model.py") $(cksum <"$vocab")"
if [ ! -s "$tiny" ] || [ "$(cat "$tiny.stamp" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$cache/tiny-hf" "$tiny" "$tiny.stamp"
    python3 "$here/bench/docs_rss_model.py" --max-seq "$enc_tokens" "$vocab" "$cache/tiny-hf" || die "could not write the tiny model folder"
    "$og" convert "$cache/tiny-hf" -o "$tiny" 2>/dev/null >/dev/null || die "offgrid convert failed on $cache/tiny-hf"
    echo "$stamp" >"$tiny.stamp"
    rm -rf "$cache/tiny-hf"
fi

corpus=$cache/corpus-${gb}gb
python3 "$here/bench/docs_rss_corpus.py" --gb "$gb" --file-kb "$file_kb" "$corpus" || die "could not build the corpus"

work=$(mktemp -d "$cache/run.XXXXXX")
[ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT
n_files=$(find "$corpus" -name '*.md' | wc -l)
n_bytes=$(find "$corpus" -name '*.md' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
echo "== offgrid docs add of $corpus: $n_files files, $n_bytes bytes, tiny encoder reading $enc_tokens tokens a chunk, $threads threads, RSS every $every s"
OFFGRID_HOME=$work/home /usr/bin/time -v "$og" docs add --embed-model "$tiny" -t "$threads" -q --json "$corpus" \
    >"$work/add.json" 2>"$work/time.txt" &
ingest=$!
: >"$work/rss.txt"
while kill -0 "$ingest" 2>/dev/null; do # the RSS of offgrid itself (time's child)
    pid=$(pgrep -P "$ingest" -x offgrid | head -1 || true)
    [ -n "$pid" ] && awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null >>"$work/rss.txt" || true
    timeout "$every" tail --pid="$ingest" -f /dev/null || true # returns early when offgrid ends
done
rc=0
wait "$ingest" || rc=$?
[ -s "$work/add.json" ] || { cat "$work/time.txt" >&2; die "offgrid docs add failed (exit $rc), no summary"; }
db_bytes=$(find "$work/home/docs" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
[ "$keep" = 1 ] && echo "kept: OFFGRID_HOME=$work/home"
python3 - "$work/add.json" "$work/time.txt" "$work/rss.txt" "$n_bytes" "$db_bytes" "$require" <<'P'
import json, re, sys
add, timef, rssf, n_bytes, db_bytes, require = sys.argv[1:]
a = json.load(open(add))
n_bytes, db_bytes = int(n_bytes), int(db_bytes)
peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(timef).read())
s = a["seconds"] or 1e-9
print("files %d (indexed %d, failed %d), %.1f MB, chunks %d in %.1f s: %.2f MB/s, %.0f chunks/s"
      % (a["files"], a["indexed"], len(a["failed"]), n_bytes / 1e6, a["chunks"], s, n_bytes / 1e6 / s,
         a["chunks"] / s))
print("peak RSS %s MiB; database %.1f MB (%.2f x the corpus)"
      % (int(peak.group(1)) // 1024 if peak else "?", db_bytes / 1e6, db_bytes / max(n_bytes, 1)))
for f in a["failed"]:
    print("  failed: %s: %s" % (f["path"], f["error"]))
samples = [int(x) / 1024 for x in open(rssf).read().split()]
flat = False
if len(samples) >= 10:
    n = len(samples)
    tenths = [max(samples[i * n // 10:(i + 1) * n // 10]) for i in range(10)]
    print("RSS (MiB), the most in each tenth of the run (%d samples): %s"
          % (n, " ".join("%.0f" % t for t in tenths)))
    base, last = tenths[1], tenths[9]
    flat = last <= base + max(0.10 * base, 20.0)
    print("flat: %s (last tenth %.1f MiB, second tenth %.1f MiB, allowed %.1f)"
          % ("yes" if flat else "NO", last, base, base + max(0.10 * base, 20.0)))
else:
    print("flat: unknown, %d RSS samples, 10 needed (a bigger --gb or a smaller --every)" % len(samples))
ok = flat and not a["failed"]
sys.exit(1 if require == "1" and not ok else 0)
P
