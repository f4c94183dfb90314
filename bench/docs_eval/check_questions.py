#!/usr/bin/env python3
"""Checks that every answerable question's answer is really on its page.

Owns the reference text of each corpus document: PDFs one page at a time
with `pdftotext -enc UTF-8 -f N -l N` (the extractor the library runs),
HTML through the standard library's parser (script/style dropped, block
elements separated), Markdown both raw and with its inline markup removed
(the answer must be in both, so it matches however the reader treats
backticks and links), and the image-only PDF through the `tesseract` CLI on
a 300 dpi rendering (what the OCR fallback sees). Comparison is
evalset.contains (whitespace and NFKC forgiven, nothing else).

Exit 0 when every answer is found; 1, listing each miss, otherwise; 2 on
bad arguments or a missing corpus/tool.

Usage: check_questions.py [--corpus DIR] [--questions FILE] [--no-ocr]
"""

import argparse
import html.parser
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evalset  # noqa: E402

_BLOCK = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "tr", "td", "th",
          "pre", "br", "dt", "dd", "table", "ul", "ol", "dl", "title", "blockquote",
          "section", "hr", "caption"}


class _HtmlText(html.parser.HTMLParser):
    """Visible text of an HTML page, a line break at block boundaries."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.skip:
            self.skip -= 1
        if tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def html_text(path):
    p = _HtmlText()
    with open(path, encoding="utf-8", errors="replace") as f:
        p.feed(f.read())
    p.close()
    return "".join(p.parts)


def markdown_plain(text):
    """Markdown with inline markup removed: [text][ref] and [text](url)
    keep their text, backticks and emphasis marks go."""
    text = re.sub(r"\[([^\]]*)\]\[[^\]]*\]", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.replace("`", "")
    text = re.sub(r"(\*\*|__|(?<!\w)[*_](?=\S)|(?<=\S)[*_](?!\w))", "", text)
    return text


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.decode(errors='replace').strip()}")
    return r.stdout.decode("utf-8", errors="replace")


def pdf_page(path, page):
    return run(["pdftotext", "-enc", "UTF-8", "-f", str(page), "-l", str(page), path, "-"])


def ocr_page(path, page, tmp):
    """Text tesseract reads from one page rendered at 300 dpi (grey)."""
    root = os.path.join(tmp, "ocr")
    run(["pdftoppm", "-f", str(page), "-l", str(page), "-r", "300", "-gray", "-png", path, root])
    pngs = sorted(f for f in os.listdir(tmp) if f.startswith("ocr") and f.endswith(".png"))
    if not pngs:
        raise RuntimeError(f"pdftoppm made no image of {path} page {page}")
    img = os.path.join(tmp, pngs[-1])
    env = dict(os.environ, OMP_THREAD_LIMIT="1")  # stay within a shared 2-core budget
    r = subprocess.run(["tesseract", img, "-", "-l", "eng"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, env=env, check=False)
    os.unlink(img)
    if r.returncode != 0:
        raise RuntimeError(f"tesseract failed on {path} page {page}")
    return r.stdout.decode("utf-8", errors="replace")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=os.path.join(evalset.default_cache(), "corpus"),
                    help="corpus folder made by fetch.sh (default: CACHE/corpus)")
    ap.add_argument("--questions", default=evalset.QUESTIONS)
    ap.add_argument("--no-ocr", action="store_true",
                    help="for image-only pages, do not run tesseract (report them unchecked)")
    args = ap.parse_args(argv)

    try:
        questions = evalset.load_questions(args.questions)
    except (OSError, ValueError) as e:
        print(f"check_questions: {e}", file=sys.stderr)
        return 2
    if not os.path.isdir(args.corpus):
        print(f"check_questions: corpus folder {args.corpus} not found (run fetch.sh)", file=sys.stderr)
        return 2
    for tool in ("pdftotext", "pdftoppm") + (() if args.no_ocr else ("tesseract",)):
        if not shutil.which(tool):
            print(f"check_questions: '{tool}' not found (poppler-utils, tesseract-ocr)", file=sys.stderr)
            return 2

    cache, misses, found, unchecked = {}, [], 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        for q in questions:
            if not q["answerable"]:
                continue
            path = os.path.join(args.corpus, q["doc"])
            if not os.path.isfile(path):
                misses.append(f"{q['id']}: {q['doc']} is not in the corpus")
                continue
            key = (q["doc"], q["page"])
            try:
                if key not in cache:
                    texts = []
                    if q["doc"].endswith(".pdf"):
                        if q["page"] is None:
                            raise RuntimeError("a PDF question needs a page")
                        t = pdf_page(path, q["page"])
                        if len(evalset.norm(t)) < 20:  # image-only: OCR is the only text
                            t = None if args.no_ocr else ocr_page(path, q["page"], tmp)
                        texts.append(t)
                    elif q["doc"].endswith((".html", ".htm")):
                        texts.append(html_text(path))
                    elif q["doc"].endswith(".md"):
                        with open(path, encoding="utf-8") as f:
                            raw = f.read()
                        texts += [raw, markdown_plain(raw)]
                    else:
                        with open(path, encoding="utf-8") as f:
                            texts.append(f.read())
                    cache[key] = texts
            except (OSError, RuntimeError) as e:
                misses.append(f"{q['id']}: {e}")
                continue
            texts = cache[key]
            if any(t is None for t in texts):
                unchecked += 1
                continue
            if all(evalset.contains(t, q["answer"]) for t in texts):
                found += 1
            else:
                where = q["doc"] + (f" page {q['page']}" if q["page"] else "")
                misses.append(f"{q['id']}: answer {q['answer']!r} not found in {where}")

    for m in misses:
        print("MISS " + m)
    n_ans = sum(1 for q in questions if q["answerable"])
    print(f"check_questions: {found} of {n_ans} answers found in place"
          + (f", {unchecked} image-only pages not checked (--no-ocr)" if unchecked else "")
          + (f", {len(misses)} missing" if misses else ""))
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
