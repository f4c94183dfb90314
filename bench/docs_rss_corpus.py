#!/usr/bin/env python3
"""docs_rss_corpus.py [--gb N] [--file-kb K] [--seed S] [--source DIR]... OUT_DIR

Writes a corpus of Markdown files of real-looking English text for
bench/docs_rss.sh: N GB in all (10^9 bytes; default 1; 0.05 is a quick
run), files of about K KB (default 500), 100 to a folder (the folder
walk is part of what is measured). Text comes from what the machine
has: this repository's docs/*.md, the Markdown, text, HTML, READMEs,
copyright files and changelogs (gzipped or not) under /usr/share/doc,
and the docs_eval corpus when present (HTML is stripped to its text);
--source adds folders. The paragraphs are cut into sentences and
recombined - half the paragraphs as found, half made of 2 to 6
sentences from anywhere - under headings of varied levels made from the
same words, with a number here and there, so chunking and FTS5 see
realistic, varied text rather than one string repeated.

Deterministic: the same sources, options and seed give the same bytes.
OUT_DIR/.done records the options; a run whose options match it is
skipped (the corpus is cached). Standard library only.
"""
import argparse
import gzip
import html
import os
import random
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TEXT_NAMES = re.compile(r"(\.(md|markdown|txt|rst|html?)|^README[^/]*|^copyright|^changelog[^/]*|^NEWS[^/]*)(\.gz)?$",
                        re.I)
MAX_SOURCE_BYTES = 2 << 20  # per file: a few huge changelogs must not crowd out the rest
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\"'])")


def default_sources():
    dirs = [os.path.normpath(os.path.join(HERE, "..", "docs")), "/usr/share/doc"]
    ev = os.environ.get("OFFGRID_DOCS_EVAL", os.path.expanduser("~/.cache/offgrid/docs_eval"))
    dirs.append(os.path.join(ev, "corpus"))
    return [d for d in dirs if os.path.isdir(d)]


def read_text(path):
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read(MAX_SOURCE_BYTES)
    except (OSError, EOFError):
        return ""
    text = raw.decode("utf-8", "replace")
    if re.search(r"\.html?(\.gz)?$", path, re.I):
        text = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", text)
        text = re.sub(r"(?i)</?(p|div|h\d|li|pre|br|tr|table|section)\b[^>]*>", "\n\n", text)
        text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return text


def paragraphs(text):
    """Blank-line separated blocks with mostly letters and some length."""
    for block in re.split(r"\n\s*\n", text):
        block = re.sub(r"[ \t]+", " ", block.strip())
        if len(block) < 60 or len(block) > 4000:
            continue
        letters = sum(c.isalpha() for c in block)
        if letters < 0.6 * len(block):
            continue
        yield block


def collect(sources):
    paras = []
    for top in sources:
        for root, dirs, files in os.walk(top):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(root, name)
                if TEXT_NAMES.search(name) and os.path.isfile(path):
                    paras.extend(paragraphs(read_text(path)))
    # Duplicates (the same licence text in hundreds of copyright files)
    # would make the corpus more repetitive than real documents are.
    seen, unique = set(), []
    for p in paras:
        if p not in seen:
            seen.add(p)
            unique.append(p)
    return unique


def heading(rng, sentences, n):
    words = re.findall(r"[A-Za-z][A-Za-z'-]+", rng.choice(sentences))[:rng.randint(2, 7)] or ["Notes"]
    title = " ".join(words).capitalize()
    if rng.random() < 0.3:
        title += " %d" % n
    return "#" * rng.choice((1, 2, 2, 3, 3, 3, 4)) + " " + title


def write_file(path, size, rng, paras, sentences, number):
    out, total, n = [heading(rng, sentences, number).replace("#" * 4, "#", 1)], 0, 0
    while total < size:
        if rng.random() < 0.12:
            block = heading(rng, sentences, n)
            n += 1
        elif rng.random() < 0.5:
            block = rng.choice(paras)
        else:
            block = " ".join(rng.choice(sentences) for _ in range(rng.randint(2, 6)))
        out.append(block)
        total += len(block.encode("utf-8")) + 2
    with open(path + ".partial", "w", encoding="utf-8") as f:
        f.write("\n\n".join(out) + "\n")
    os.replace(path + ".partial", path)
    return os.path.getsize(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[1], usage=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--gb", type=float, default=1.0)
    ap.add_argument("--file-kb", type=int, default=500)
    ap.add_argument("--seed", type=int, default=19)
    ap.add_argument("--source", action="append", default=[])
    a = ap.parse_args()
    if a.gb <= 0 or a.file_kb <= 0:
        ap.error("--gb and --file-kb must be positive")
    sources = a.source or default_sources()
    stamp = "gb=%g file_kb=%d seed=%d sources=%s\n" % (a.gb, a.file_kb, a.seed, ":".join(sources))
    done = os.path.join(a.out, ".done")
    if os.path.exists(done) and open(done).read() == stamp:
        print("docs_rss_corpus.py: %s is already built (%s)" % (a.out, stamp.strip()), file=sys.stderr)
        return 0
    if os.path.exists(a.out):
        shutil.rmtree(a.out)  # another size or seed: start over, never a mix
    paras = collect(sources)
    sentences = [s for p in paras for s in SENTENCE_END.split(p) if 20 <= len(s) <= 600]
    if len(paras) < 200 or len(sentences) < 1000:
        print("docs_rss_corpus.py: only %d paragraphs of text in %s: too little to recombine"
              % (len(paras), ", ".join(sources)), file=sys.stderr)
        return 1
    print("docs_rss_corpus.py: %d paragraphs, %d sentences (%.1f MB) from %s"
          % (len(paras), len(sentences), sum(map(len, paras)) / 1e6, ", ".join(sources)), file=sys.stderr)
    rng = random.Random(a.seed)
    target, written, i = int(a.gb * 1e9), 0, 0
    while written < target:
        folder = os.path.join(a.out, "part%03d" % (i // 100))
        os.makedirs(folder, exist_ok=True)
        size = min(target - written, int(a.file_kb * 1000 * rng.uniform(0.6, 1.4)))
        written += write_file(os.path.join(folder, "doc%05d.md" % i), size, rng, paras, sentences, i)
        i += 1
    with open(done, "w") as f:
        f.write(stamp)
    print("docs_rss_corpus.py: wrote %d files, %d bytes to %s" % (i, written, a.out), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
