#!/usr/bin/env bash
# cli_docs.sh OFFGRID SHARED_MODELS MODELS_DIR - offgrid docs on real text:
# add (folders, per-file errors that do not stop the rest), unchanged
# files skipped, an edited file re-indexed alone (the other documents'
# chunks keep their ids), rm, search in the three modes with the JSON the
# issue fixes (doc, page, start, end, score, text, the text equal to the
# document's characters [start, end)), ask with checked citations on the
# real chat model, and kill -9 during ingestion at random moments, then
# the same command again: every file exactly once and integrity_check ok.
set -u
og=$1 shared=$2 models=$3
. "$(dirname "$0")/testlib/cli.sh"
emb=$models/all-MiniLM-L6-v2.f32.gguf
[ -r "$emb" ] || { echo "cli_docs: no $emb: skipped"; exit 77; }
export OFFGRID_HOME=$tmp/home
D=(--embed-model "$emb" -t 2)
corpus=$tmp/corpus
mkdir -p "$corpus/notes" "$corpus/.hidden"
cat >"$corpus/clinic.md" <<'T'
# Clinic protocols

## Fever in children

Give paracetamol at 15 mg per kilogram every six hours, at most four doses a day.
Refer to the district hospital when the fever lasts more than three days.

## Dehydration

Oral rehydration salts: dissolve one sachet in one litre of clean water.
T
cat >"$corpus/notes/plant.txt" <<'T'
The boiler pressure valve must be inspected every 500 operating hours.

Replace the gasket when the pressure drops below 8 bar during the test.
T
printf 'Les crêpes se font avec de la farine, des œufs et du lait. 日本語のテキスト。\n' >"$corpus/notes/unicode.txt"
printf 'secret' >"$corpus/.hidden/skip.txt"
printf '\x00\x01\x02binary\x00' >"$corpus/notes/binary.txt"
printf 'bad \xff\xfe utf8\n' >"$corpus/notes/latin.txt"
truncate -s 1G "$corpus/notes/huge.txt" # sparse: no disk used, but 1 GiB to read

for c in add list rm search ask watch; do
    expect "docs $c --help" 0 "usage: offgrid docs $c" -- "$og" docs "$c" --help
done
expect "docs without a command" 2 "usage: offgrid docs COMMAND" -- "$og" docs
expect "docs unknown command" 2 "unknown command 'nope'" -- "$og" docs nope
expect "add without paths" 2 "which files or folders" -- "$og" docs add "${D[@]}"
expect "search a missing collection" 1 "no collection named 'nope'" -- "$og" docs search -C nope "${D[@]}" x
expect "bad collection name" 1 "invalid collection name" -- "$og" docs add -C ../x "${D[@]}" "$corpus"

# Per-file errors: exit 1, each named, the others indexed.
expect "add: three bad files" 1 "binary.txt" -- "$og" docs add "${D[@]}" "$corpus"
cp "$tmp/err" "$tmp/add.err"
grep -qF "latin.txt" "$tmp/add.err" || { fail=$((fail + 1)); echo "FAIL: latin.txt not reported" >&2; }
grep -q "huge.txt: 1024 MiB, over the limit of 256 MiB per file" "$tmp/add.err" ||
    { fail=$((fail + 1)); echo "FAIL: the 1 GiB file not reported" >&2; }
expect "add: the summary" 0 "3 indexed" -- cat "$tmp/add.err"
"$og" docs list "${D[@]}" --json >"$tmp/list.json"
python3 - "$tmp/list.json" "$corpus" <<'P' || fail=$((fail + 1))
import json, sys
docs = {d["path"]: d for d in json.load(open(sys.argv[1]))["documents"]}
root = sys.argv[2]
assert not any(".hidden" in p for p in docs), "hidden entries skipped"
for good in ("clinic.md", "notes/plant.txt", "notes/unicode.txt"):
    d = docs[root + "/" + good]
    assert d["error"] is None and d["chunks"] >= 1, d
for bad in ("notes/binary.txt", "notes/latin.txt", "notes/huge.txt"):
    assert docs[root + "/" + bad]["error"], docs[root + "/" + bad]
P
pass=$((pass + 1))

# Search: the JSON of the issue, spans exact, best hit right, every mode.
for mode in hybrid bm25 dense; do
    "$og" docs search "${D[@]}" -k 3 --json --mode $mode "how much paracetamol for a child with fever" >"$tmp/s.json" \
        || fail=$((fail + 1))
    python3 - "$tmp/s.json" "$corpus" $mode <<'P' || { fail=$((fail + 1)); echo "FAIL: search $mode" >&2; }
import json, sys
res = json.load(open(sys.argv[1]))["results"]
assert res and res[0]["doc"].endswith("clinic.md"), res
for r in res:
    assert set(("doc", "page", "start", "end", "score", "text")) <= set(r), r
    text = open(r["doc"], encoding="utf-8").read().replace("\r\n", "\n")
    assert text[r["start"]:r["end"]] == r["text"], (r["start"], r["end"], r["text"][:60])
    assert r["page"] is None
assert [r["score"] for r in res] == sorted((r["score"] for r in res), reverse=True)
P
    pass=$((pass + 1))
done
"$og" docs search "${D[@]}" -k 1 --json "crêpes farine" >"$tmp/u.json"
python3 - "$tmp/u.json" <<'P' || { fail=$((fail + 1)); echo "FAIL: unicode span" >&2; }
import json, sys
r = json.load(open(sys.argv[1]))["results"][0]
assert r["doc"].endswith("unicode.txt")
assert open(r["doc"], encoding="utf-8").read()[r["start"]:r["end"]] == r["text"]
P
pass=$((pass + 1))
expect "search: odd query syntax is text" 0 "results" -- "$og" docs search "${D[@]}" --json 'AND OR "NEAR(" -* :'

# Incremental: unchanged files skipped; an edit re-indexes that file alone.
rm "$corpus/notes/binary.txt" "$corpus/notes/latin.txt" "$corpus/notes/huge.txt"
for bad in binary latin huge; do
    "$og" docs rm "${D[@]}" "$corpus/notes/$bad.txt" >/dev/null 2>&1
done
expect "add again: all unchanged" 0 "3 unchanged" -- "$og" docs add "${D[@]}" "$corpus"
before=$(sqlite3 "$OFFGRID_HOME/docs/default/docs.db" "SELECT group_concat(id) FROM chunks WHERE doc_id IN (SELECT id FROM documents WHERE path LIKE '%clinic.md')")
echo "The gasket is made of graphite." >>"$corpus/notes/plant.txt"
expect "add after an edit" 0 "1 indexed, 2 unchanged" -- "$og" docs add "${D[@]}" "$corpus"
after=$(sqlite3 "$OFFGRID_HOME/docs/default/docs.db" "SELECT group_concat(id) FROM chunks WHERE doc_id IN (SELECT id FROM documents WHERE path LIKE '%clinic.md')")
[ -n "$before" ] && [ "$before" = "$after" ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: clinic.md re-indexed ($before / $after)" >&2; }
expect "the edit is searchable" 0 "graphite" -- "$og" docs search "${D[@]}" -k 1 "what is the gasket made of"
touch "$corpus/clinic.md"
expect "a touched file with the same content is skipped" 0 "3 unchanged" -- "$og" docs add "${D[@]}" "$corpus"
expect "rm a document" 0 "removed 1 document" -- "$og" docs rm "${D[@]}" "$corpus/notes/unicode.txt"
expect "rm it again" 1 "is not in collection" -- "$og" docs rm "${D[@]}" "$corpus/notes/unicode.txt"
expect "rm a folder" 0 "removed 1 document" -- "$og" docs rm "${D[@]}" "$corpus/notes"
expect "list after rm" 0 "clinic.md" -- "$og" docs list "${D[@]}"

# Ask: a checked citation of the right document; nothing relevant -> says so.
# (the smallest chat model: this checks the plumbing; bench/docs_eval measures answers)
chat=$models/SmolLM2-135M-Instruct.Q4_1.gguf
if [ -r "$chat" ]; then
    "$og" docs add "${D[@]}" "$corpus" >/dev/null 2>&1
    "$og" docs ask "${D[@]}" -m "$chat" --json --max-tokens 96 "How much paracetamol can a child with fever get?" >"$tmp/a.json" 2>"$tmp/a.err"
    python3 - "$tmp/a.json" <<'P' || { fail=$((fail + 1)); echo "FAIL: ask" >&2; cat "$tmp/a.json" "$tmp/a.err" >&2; }
import json, sys
a = json.load(open(sys.argv[1]))
assert not a["nothing_relevant"] and a["answer"].strip(), a
for s in a["sources"]:
    assert {"n", "doc", "page", "start", "end"} <= set(s), s
    assert "[%d]" % s["n"] in a["answer"] or ("%d]" % s["n"]) in a["answer"] or ("%d," % s["n"]) in a["answer"], a
P
    pass=$((pass + 1))
    expect "ask: nothing relevant" 0 '"nothing_relevant": true' -- "$og" docs ask "${D[@]}" -m "$chat" --json \
        "What is the orbital period of Neptune's moon Triton?"
fi

# watch: a new file is indexed, a deleted one removed.
echo "Malaria: test with a rapid diagnostic kit before treating." >"$corpus/malaria.txt"
expect "watch --once indexes a new file" 0 '"indexed": 1, "removed": 0' -- "$og" docs watch "${D[@]}" --once --json "$corpus"
rm "$corpus/malaria.txt"
expect "watch --once removes a deleted file" 0 '"indexed": 0, "removed": 1' -- "$og" docs watch "${D[@]}" --once --json "$corpus"

# Encrypted at rest: nothing readable on disk, the wrong passphrase refused.
export OFFGRID_DOCS_KDF=fast
mkdir -p "$tmp/secret"
echo "The zyxwvutqplonk protocol needs two signatures before release." >"$tmp/secret/memo.txt"
echo "correct horse battery" >"$tmp/pass"
echo "wrong horse" >"$tmp/wrong"
expect "add --encrypt" 0 "1 indexed" -- "$og" docs add "${D[@]}" -C sealed --encrypt --passphrase-file "$tmp/pass" "$tmp/secret"
expect "search an encrypted collection" 0 "zyxwvutqplonk" -- "$og" docs search "${D[@]}" -C sealed --passphrase-file "$tmp/pass" "signatures before release"
expect "wrong passphrase" 1 "wrong passphrase" -- "$og" docs search "${D[@]}" -C sealed --passphrase-file "$tmp/wrong" x
expect "no passphrase" 1 "is encrypted" -- "$og" docs list "${D[@]}" -C sealed </dev/null
if grep -rqa "zyxwvutqplonk" "$OFFGRID_HOME/docs/sealed"; then fail=$((fail + 1)); echo "FAIL: marker on disk" >&2; else pass=$((pass + 1)); fi
expect "--encrypt on a plain collection" 1 "exists unencrypted" -- "$og" docs add "${D[@]}" --encrypt --passphrase-file "$tmp/pass" "$tmp/secret"

# kill -9 during ingestion at random moments, then again: every file once.
big=$tmp/big
mkdir -p "$big"
for i in $(seq 1 40); do
    for j in $(seq 1 30); do echo "Section $i.$j of the field manual: check valve $j on pump $i, torque $((i * j)) Nm."; echo; done >"$big/manual_$i.txt"
done
export OFFGRID_HOME=$tmp/home_kill
for round in $(seq 1 20); do
    "$og" docs add "${D[@]}" -q "$big" >/dev/null 2>&1 &
    pid=$!
    sleep "0.$((RANDOM % 9 + 1))"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
done
expect "add after 20 kills" 0 "40 files" -- "$og" docs add "${D[@]}" "$big"
db=$OFFGRID_HOME/docs/default/docs.db
expect "integrity_check" 0 "ok" -- sqlite3 "$db" "PRAGMA integrity_check"
expect "every file once" 0 "40|40" -- sqlite3 "$db" "SELECT count(*), count(DISTINCT path) FROM documents WHERE error IS NULL"
expect "fts matches the chunks" 0 "ok" -- sqlite3 "$db" "INSERT INTO chunks_fts(chunks_fts) VALUES('integrity-check'); SELECT 'ok'"
clean=$tmp/home_clean
OFFGRID_HOME=$clean "$og" docs add "${D[@]}" -q "$big" >/dev/null 2>&1
n_clean=$(sqlite3 "$clean/docs/default/docs.db" "SELECT count(*) FROM chunks")
n_killed=$(sqlite3 "$db" "SELECT count(*) FROM chunks")
[ "$n_clean" = "$n_killed" ] && pass=$((pass + 1)) || { fail=$((fail + 1)); echo "FAIL: $n_killed chunks after kills, $n_clean clean" >&2; }
finish cli_docs
