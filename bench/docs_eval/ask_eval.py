#!/usr/bin/env python3
"""Citation accuracy of `offgrid docs ask` on the set's 20 "ask" questions.

For each chat model (--model, repeatable; none: the CLI's default model)
runs `offgrid docs ask --collection C --json [-m MODEL] QUESTION`, which
prints {"answer": TEXT, "sources": [{"n", "doc", "page", "start", "end"}]},
and counts the answer correct when some source
  1. is at the question's place (document, and page when it has one),
  2. is cited in the answer text as [n] (sources the model never cited do
     not count: the issue asks for a correct *checked citation*), and
  3. has an excerpt that contains the question's answer string.
The excerpt's text is not in the ask output, so it is looked up in
`docs search --json -k K` for the same question (same collection: ask
retrieves through the same search) by (doc, page, start, end); when the
span is not among those results it is counted as "excerpt not found", a
miss, and listed. Whether the generated answer itself contains the answer
string is reported too, for information only.

The collection must be indexed already (evaluate.py does it; both default
to the collection "docs-eval"). Standard library only. `--results-from`
scores a recorded run (see --save-results); `--self-test` checks the
scoring on hand-made output.

Exit 0 after a complete run; 1 with --require when a model is under 80%;
2 on a usage error or a CLI failure.
"""

import argparse
import json
import os
import re
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evalset  # noqa: E402
from evaluate import REPO, CliError, progress, run_cli, search  # noqa: E402


def cited_numbers(answer):
    """The n of every [n] (also [n, m] and [n][m]) in the answer text."""
    nums = set()
    for group in re.findall(r"\[(\d+(?:\s*,\s*\d+)*)\]", answer or ""):
        nums.update(int(x) for x in re.split(r"\s*,\s*", group))
    return nums


def judge(question, ask, hits, require_cited=True):
    """Scores one ask output against the question. hits: the search
    results to find excerpt texts in. Returns a dict: correct, reason,
    answer_mentions (the generated text contains the answer string)."""
    answer = ask.get("answer") if isinstance(ask, dict) else None
    sources = ask.get("sources") if isinstance(ask, dict) else None
    out = {"correct": False, "reason": "", "answer_mentions": evalset.contains(answer or "", question["answer"])}
    if not isinstance(answer, str) or not isinstance(sources, list):
        out["reason"] = "ask output lacks answer/sources"
        return out
    if ask.get("nothing_relevant") is True:
        out["reason"] = "said nothing relevant was found"
        return out
    cited = cited_numbers(answer)
    at_place = [s for s in sources if isinstance(s, dict) and evalset.place_matches(s, question)]
    if not at_place:
        out["reason"] = "no source at the question's place"
        return out
    if require_cited:
        at_place = [s for s in at_place if s.get("n") in cited]
        if not at_place:
            out["reason"] = "the right source was given but never cited"
            return out
    found_excerpt = False
    for s in at_place:
        for h in hits:
            if (isinstance(h, dict) and evalset.doc_matches(h.get("doc"), s.get("doc"))
                    and h.get("page") == s.get("page") and h.get("start") == s.get("start")
                    and h.get("end") == s.get("end")):
                found_excerpt = True
                if evalset.contains(h.get("text"), question["answer"]):
                    out["correct"] = True
                    return out
    out["reason"] = ("cited excerpt lacks the answer" if found_excerpt
                     else "excerpt not found among the search results")
    return out


def score(questions, runs, require_cited=True):
    """runs: {model: {id: {"ask": ask-output, "hits": [search results]}}}.
    Returns {model: {n, correct, accuracy, answer_mentions, failures}};
    a question absent from a model's run is a failure."""
    rep = {}
    for model, by_id in runs.items():
        n = correct = mentions = 0
        failures = {}
        for q in questions:
            n += 1
            rec = by_id.get(q["id"])
            if rec is None:
                failures[q["id"]] = "not run"
                continue
            j = judge(q, rec.get("ask"), rec.get("hits") or [], require_cited)
            mentions += j["answer_mentions"]
            if j["correct"]:
                correct += 1
            else:
                failures[q["id"]] = j["reason"]
        rep[model] = {"n": n, "correct": correct, "accuracy": correct / n if n else None,
                      "answer_mentions": mentions, "failures": failures}
    return rep


def self_test():
    q = {"id": "a", "q": "?", "doc": "x.pdf", "page": 3, "answer": "the answer",
         "answerable": True}
    src = {"n": 2, "doc": "/c/x.pdf", "page": 3, "start": 10, "end": 50}
    hit = {"doc": "/c/x.pdf", "page": 3, "start": 10, "end": 50, "score": 1, "text": "so The  answer is"}
    other = dict(hit, start=60, end=90, text="no")
    cases = [
        ({"answer": "It is so [2].", "sources": [src]}, [hit], True, True, "cited right source"),
        ({"answer": "It is so [1, 2].", "sources": [src]}, [hit], True, True, "[1, 2] cites 2"),
        ({"answer": "It is so.", "sources": [src]}, [hit], True, False, "never cited"),
        ({"answer": "It is so.", "sources": [src]}, [hit], False, True, "uncited allowed"),
        ({"answer": "x [2]", "sources": [dict(src, page=4)]}, [hit], True, False, "wrong page"),
        ({"answer": "x [2]", "sources": [dict(src, doc="/c/xx.pdf")]}, [hit], True, False, "wrong doc"),
        ({"answer": "x [2]", "sources": [src]}, [other], True, False, "excerpt not in search"),
        ({"answer": "x [2]", "sources": [src]}, [dict(hit, text="nothing")], True, False, "excerpt lacks it"),
        ({"answer": "x [2]"}, [hit], True, False, "no sources field"),
        ({"answer": "x [2]", "sources": [src], "nothing_relevant": True}, [hit], True, False,
         "nothing relevant"),
    ]
    bad = []
    for ask, hits, req, want, name in cases:
        if judge(q, ask, hits, req)["correct"] != want:
            bad.append(name)
    rep = score([q, dict(q, id="b")], {"m": {"a": {"ask": cases[0][0], "hits": [hit]}}})
    if rep["m"]["correct"] != 1 or rep["m"]["accuracy"] != 0.5 or rep["m"]["failures"] != {"b": "not run"}:
        bad.append("score: 1 of 2 with b not run")
    if judge(q, {"answer": "the answer [2]", "sources": [src]}, [hit])["answer_mentions"] is not True:
        bad.append("answer_mentions")
    for name in bad:
        print(f"self-test FAIL: {name}", file=sys.stderr)
    total = len(cases) + 2
    print(f"ask_eval.py self-test: {total - len(bad)} passed, {len(bad)} failed")
    return 0 if not bad else 1


def main(argv=None):
    ap = argparse.ArgumentParser(description="citation accuracy of offgrid docs ask, per chat model",
                                 epilog="OFFGRID (environment) is the binary when --offgrid is not given.")
    ap.add_argument("--offgrid", default=os.environ.get("OFFGRID", os.path.join(REPO, "build", "bin", "offgrid")))
    ap.add_argument("--collection", default="docs-eval")
    ap.add_argument("--questions", default=evalset.QUESTIONS)
    ap.add_argument("--model", "-m", action="append", default=[],
                    help="chat model for docs ask (repeatable); none: the CLI's default")
    ap.add_argument("--ids", help="comma-separated question ids (default: those marked \"ask\": true)")
    ap.add_argument("--search-k", type=int, default=20,
                    help="results fetched to find each cited excerpt's text (default 20)")
    ap.add_argument("--ask-args", default="", help="extra arguments for docs ask (one shell-quoted string)")
    ap.add_argument("--allow-uncited", action="store_true",
                    help="count a right source even when the answer never cites it")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per docs ask (default 600)")
    ap.add_argument("--save-results", metavar="FILE")
    ap.add_argument("--results-from", metavar="FILE", help="score a file written by --save-results; no CLI")
    ap.add_argument("--require", action="store_true", help="exit 1 when a model is under 80%%")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args(argv)

    if args.self_test:
        return self_test()
    try:
        allq = evalset.load_questions(args.questions)
    except (OSError, ValueError) as e:
        print(f"ask_eval: {e}", file=sys.stderr)
        return 2
    if args.ids:
        want = [x for x in args.ids.split(",") if x]
        byid = {q["id"]: q for q in allq}
        unknown = [x for x in want if x not in byid]
        if unknown:
            ap.error(f"unknown question ids: {', '.join(unknown)}")
        questions = [byid[x] for x in want]
    else:
        questions = [q for q in allq if q.get("ask")]
    questions = [q for q in questions if q["answerable"]]
    if not questions:
        ap.error("no answerable questions selected")

    if args.results_from:
        try:
            with open(args.results_from, encoding="utf-8") as f:
                runs = json.load(f)["runs"]
            if not isinstance(runs, dict):
                raise ValueError("'runs' is not an object")
        except (OSError, ValueError, KeyError, TypeError) as e:
            print(f"ask_eval: cannot read results from {args.results_from}: {e}", file=sys.stderr)
            return 2
    else:
        if not os.access(args.offgrid, os.X_OK):
            print(f"ask_eval: offgrid binary {args.offgrid} not found (build it, or set OFFGRID)", file=sys.stderr)
            return 2
        runs = {}
        try:
            for model in args.model or [None]:
                label = model or "default"
                runs[label] = {}
                for i, q in enumerate(questions, 1):
                    cmd = [args.offgrid, "docs", "ask", "--collection", args.collection, "--json"]
                    if model:
                        cmd += ["-m", model]
                    cmd += shlex.split(args.ask_args) + [q["q"]]
                    out = run_cli(cmd, args.timeout)
                    try:
                        ask = json.loads(out)
                    except json.JSONDecodeError as e:
                        raise CliError(f"docs ask printed no JSON object ({e}) for {q['q']!r}") from None
                    hits = search(args.offgrid, args.collection, args.search_k, "hybrid", q["q"], args.timeout)
                    runs[label][q["id"]] = {"ask": ask, "hits": hits}
                    progress(f"ask_eval: {label}: {i}/{len(questions)} questions", i == len(questions))
        except CliError as e:
            print(f"\nask_eval: {e}", file=sys.stderr)
            return 2
        if args.save_results:
            tmp = args.save_results + ".part"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"collection": args.collection, "runs": runs}, f, ensure_ascii=False)
            os.replace(tmp, args.save_results)

    rep = score(questions, runs, require_cited=not args.allow_uncited)
    if args.json:
        print(json.dumps({"models": rep}, indent=1))
    else:
        print(f"{'model':40} {'correct':>9} {'accuracy':>9} {'answer mentions':>16}")
        for model, r in rep.items():
            print(f"{model[-40:]:40} {r['correct']:>4}/{r['n']:<4} {r['accuracy']:>9.2f} {r['answer_mentions']:>16}")
            for qid, why in r["failures"].items():
                print(f"  {qid}: {why}")
    below = [m for m, r in rep.items() if (r["accuracy"] or 0) < 0.8]
    return 1 if (args.require and below) else 0


if __name__ == "__main__":
    sys.exit(main())
