"""The retrieval evaluation set: loading questions and matching text.

Owns the question schema (see README.md), the text normalisation every
script compares with, and the rule for "this result is the question's
place": shared by check_questions.py, evaluate.py and ask_eval.py so the
three can never disagree about what a hit is. Standard library only.
"""

import json
import os
import re
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
QUESTIONS = os.path.join(HERE, "questions.jsonl")

_REQUIRED = ("id", "q", "doc", "page", "answer", "answerable")


def default_cache():
    """The folder fetch.sh fills unless told otherwise."""
    env = os.environ.get("OFFGRID_DOCS_EVAL_CACHE")
    if env:
        return env
    return os.path.join(os.path.expanduser("~"), ".cache", "offgrid", "docs_eval")


def norm(text):
    """Text as compared: NFKC (PDF ligatures such as U+FB01 become 'fi'),
    every run of whitespace one space, ends trimmed. Extractors differ in
    line breaks and spacing, never in the words, so only spacing is
    forgiven."""
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"\s+", " ", text).strip()


def contains(haystack, needle):
    """True when needle occurs in haystack after norm() and casefold (OCR
    and renderers may change a capital; the words must still be there)."""
    if haystack is None or needle is None:
        return False
    return norm(needle).casefold() in norm(haystack).casefold()


def load_questions(path=QUESTIONS):
    """The questions as dicts, in file order. Raises ValueError naming the
    line for malformed JSON, a missing field, a duplicate id, or an
    answerable question without doc/answer."""
    out, seen = [], set()
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                q = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}:{lineno}: not JSON ({e})") from None
            if not isinstance(q, dict):
                raise ValueError(f"{path}:{lineno}: not a JSON object")
            for key in _REQUIRED:
                if key not in q:
                    raise ValueError(f"{path}:{lineno}: missing field '{key}'")
            if q["id"] in seen:
                raise ValueError(f"{path}:{lineno}: duplicate id '{q['id']}'")
            seen.add(q["id"])
            if q["answerable"]:
                if not isinstance(q["doc"], str) or not q["doc"]:
                    raise ValueError(f"{path}:{lineno}: answerable question without a doc")
                if not isinstance(q["answer"], str) or not norm(q["answer"]):
                    raise ValueError(f"{path}:{lineno}: answerable question without an answer")
                if q["page"] is not None and (not isinstance(q["page"], int) or q["page"] < 1):
                    raise ValueError(f"{path}:{lineno}: page must be null or an integer >= 1")
            out.append(q)
    return out


def doc_matches(result_doc, question_doc):
    """True when a result's document (an absolute path, as the CLI prints
    it, or a corpus-relative one) is the question's corpus-relative path.
    Compared by path suffix on a component boundary, so the corpus may live
    anywhere."""
    if not result_doc or not question_doc:
        return False
    a = os.path.normpath(result_doc).replace(os.sep, "/")
    b = os.path.normpath(question_doc).replace(os.sep, "/")
    return a == b or a.endswith("/" + b)


def place_matches(result, question):
    """Same document and, when the question has a page, the same page (a
    question's null page matches any)."""
    if not doc_matches(result.get("doc"), question["doc"]):
        return False
    return question["page"] is None or result.get("page") == question["page"]
