#!/usr/bin/env python3
"""A stand-in for `offgrid docs` so the evaluation scripts can be tested
without the engine: same command lines and JSON as the real CLI, naive
retrieval behind them. Not a baseline worth quoting.

  docs add --collection C PATH...            index .txt/.md/.html/.pdf
  docs search --collection C -k K --json [--mode bm25|dense|hybrid] QUERY
  docs ask --collection C --json [-m MODEL] QUERY

"bm25" scores shared words, "dense" shared character trigrams, "hybrid"
fuses both by reciprocal rank. Chunks are 80-word windows of a page (PDFs
through pdftotext, one page at a time; HTML through check_questions'
parser) with code-point start/end. ask cites the best three chunks and
quotes the first. State: one JSON file per collection in
$FAKE_OFFGRID_DIR (required). Owns nothing the real CLI uses.
"""

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_questions import html_text  # noqa: E402


def die(msg, code=2):
    print(f"offgrid (fake): {msg}", file=sys.stderr)
    sys.exit(code)


def state_path(collection):
    d = os.environ.get("FAKE_OFFGRID_DIR")
    if not d:
        die("FAKE_OFFGRID_DIR is not set")
    os.makedirs(d, exist_ok=True)
    return os.path.join(d, collection + ".json")


def pages_of(path):
    """[(page or None, text)] for one file."""
    if path.endswith(".pdf"):
        out = subprocess.run(["pdftotext", "-enc", "UTF-8", path, "-"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, check=True).stdout.decode("utf-8", "replace")
        parts = out.split("\f")
        if parts and not parts[-1].strip():
            parts.pop()
        return [(i, t) for i, t in enumerate(parts, 1)]
    if path.endswith((".html", ".htm")):
        return [(None, html_text(path))]
    with open(path, encoding="utf-8", errors="replace") as f:
        return [(None, f.read())]


def chunks_of(text, size=80, step=60):
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    for i in range(0, max(len(words), 1), step):
        w = words[i:i + size]
        if not w:
            break
        yield w[0][0], w[-1][1]


def add(collection, paths):
    """Indexes every file; exit status 1 when one failed (the rest are in)."""
    docs, failed = [], 0
    for root in paths:
        files = [root] if os.path.isfile(root) else sorted(
            os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)
        if not files:
            die(f"{root}: no such file or folder", 1)
        for f in files:
            try:
                pages = pages_of(f)
            except (OSError, subprocess.CalledProcessError) as e:
                failed += 1  # like the real CLI: report the file, index the rest
                print(f"offgrid (fake): {f}: cannot read ({e})", file=sys.stderr)
                continue
            for page, text in pages:
                for s, e in chunks_of(text):
                    docs.append({"doc": os.path.abspath(f), "page": page, "start": s, "end": e,
                                 "text": text[s:e]})
    with open(state_path(collection), "w", encoding="utf-8") as fh:
        json.dump(docs, fh)
    return 1 if failed else 0


def ranked(chunks, query, mode):
    words = set(re.findall(r"\w{3,}", query.lower()))
    grams = {query.lower()[i:i + 3] for i in range(len(query) - 2)}

    def bm25(c):
        return len(words & set(re.findall(r"\w{3,}", c["text"].lower())))

    def dense(c):
        t = c["text"].lower()
        g = {t[i:i + 3] for i in range(len(t) - 2)}
        return len(grams & g) / (len(grams | g) or 1)

    if mode in ("bm25", "dense"):
        fn = bm25 if mode == "bm25" else dense
        scored = [(fn(c), c) for c in chunks]
        return [dict(c, score=float(s)) for s, c in sorted(scored, key=lambda x: -x[0]) if s > 0]
    fused = {}
    for sub in ("bm25", "dense"):
        for r, c in enumerate(ranked(chunks, query, sub)[:50], 1):
            key = (c["doc"], c["page"], c["start"])
            fused[key] = (fused.get(key, (0.0, c))[0] + 1.0 / (60 + r), c)
    return [dict(c, score=s) for s, c in sorted(fused.values(), key=lambda x: -x[0])]


def main(argv):
    if len(argv) < 2 or argv[0] != "docs":
        die("usage: docs add|search|ask ...")
    sub, rest = argv[1], argv[2:]
    opts, pos = {"-k": "5", "--mode": "hybrid"}, []
    i = 0
    while i < len(rest):
        a = rest[i]
        if a in ("--collection", "-k", "--mode", "-m", "--model"):
            if i + 1 >= len(rest):
                die(f"{a} needs a value")
            opts[a] = rest[i + 1]
            i += 2
        elif a == "--json":
            i += 1
        else:
            pos.append(a)
            i += 1
    collection = opts.get("--collection", "default")
    if sub == "add":
        return add(collection, pos)
    if sub not in ("search", "ask") or len(pos) != 1:
        die(f"unknown command or missing query: docs {sub}")
    try:
        with open(state_path(collection), encoding="utf-8") as fh:
            chunks = json.load(fh)
    except OSError:
        die(f"collection '{collection}' does not exist", 1)
    if sub == "search":
        res = ranked(chunks, pos[0], opts["--mode"])[:int(opts["-k"])]
        print(json.dumps({"results": res}))
        return 0
    top = ranked(chunks, pos[0], "hybrid")[:3]
    first = top[0]["text"].split(". ")[0] if top else "Nothing relevant was found."
    print(json.dumps({"answer": first + (" [1]" if top else ""),
                      "sources": [{"n": n, "doc": c["doc"], "page": c["page"], "start": c["start"],
                                   "end": c["end"]} for n, c in enumerate(top, 1)]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
