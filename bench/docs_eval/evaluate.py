#!/usr/bin/env python3
"""Retrieval evaluation: recall@k and MRR of `offgrid docs search` per mode.

Indexes the corpus with `offgrid docs add --collection C CORPUS`, then asks
every answerable question with `offgrid docs search --collection C -k K
--json --mode MODE QUESTION` for MODE in bm25, dense, hybrid, and scores:
  - a hit: a result of the question's document and page (a null page
    matches any) whose text contains the answer (evalset.contains);
  - a place hit: the same without the text condition (the chunk is on the
    right page but may not hold the answering sentence);
recall@k = share of questions with a hit in the top k; MRR = mean of
1/rank of the first hit (0 when none). Unanswerable questions are not
scored; their top-1 scores are reported to calibrate "nothing relevant".

Owns the scoring and the report; evalset.py owns what a hit is. Standard
library only. `--results-from` scores a recorded run (see --save-results)
without the CLI; `--self-test` checks the scoring on hand-made results.

Exit 0 after a complete run (or a passing self-test); 1 when --require is
given and hybrid falls short of the issue's bar (recall@5 >= 0.9 and at
least as good as the better of bm25 and dense in recall@k and MRR); 2 on a
usage error or when the CLI fails.
"""

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evalset  # noqa: E402

MODES = ("bm25", "dense", "hybrid")
REPO = os.path.normpath(os.path.join(evalset.HERE, "..", ".."))


class CliError(Exception):
    pass


def first_rank(results, question, need_text):
    """1-based rank of the first result at the question's place (and
    holding its answer when need_text), or 0."""
    for i, r in enumerate(results, 1):
        if not isinstance(r, dict) or not evalset.place_matches(r, question):
            continue
        if need_text and not evalset.contains(r.get("text"), question["answer"]):
            continue
        return i
    return 0


def score(questions, runs, k):
    """Scores recorded runs. runs: {mode: {question id: [result, ...]}}.
    Returns {mode: summary} with recall/MRR (strict and place-only), the
    same split by question style, the ids missed, and the unanswerable
    questions' top-1 scores. A question missing from a mode's run counts
    as a miss (and is listed) so a partial run can never look better."""
    report = {}
    answerable = [q for q in questions if q["answerable"]]
    for mode, by_id in runs.items():
        per_q, missed, absent = [], [], []
        for q in answerable:
            if q["id"] not in by_id:
                absent.append(q["id"])
            results = list(by_id.get(q["id"]) or [])[:k]
            strict = first_rank(results, q, True)
            place = first_rank(results, q, False)
            per_q.append((q, strict, place))
            if not strict:
                missed.append(q["id"])

        def agg(rows):
            n = len(rows)
            if n == 0:
                return {"n": 0, "recall": None, "mrr": None, "place_recall": None, "place_mrr": None}
            return {
                "n": n,
                "recall": sum(1 for _, s, _ in rows if s) / n,
                "mrr": sum(1.0 / s for _, s, _ in rows if s) / n,
                "place_recall": sum(1 for _, _, p in rows if p) / n,
                "place_mrr": sum(1.0 / p for _, _, p in rows if p) / n,
            }

        summary = agg(per_q)
        styles = sorted({q.get("style") or "other" for q, _, _ in per_q})
        summary["by_style"] = {s: agg([r for r in per_q if (r[0].get("style") or "other") == s])
                               for s in styles}
        summary["missed"] = missed
        summary["absent"] = absent
        top = {}
        for q in questions:
            if q["answerable"]:
                continue
            res = by_id.get(q["id"]) or []
            top[q["id"]] = res[0].get("score") if res and isinstance(res[0], dict) else None
        summary["unanswerable_top_score"] = top
        report[mode] = summary
    return report


def verdict(report):
    """The issue's bar: hybrid recall@k >= 0.9 and hybrid at least as good
    as the better single mode in both recall and MRR. (ok, reasons)."""
    if not all(m in report for m in MODES):
        return False, ["needs all three modes"]
    h, b, d = report["hybrid"], report["bm25"], report["dense"]
    why = []
    if h["recall"] is None:
        return False, ["no answerable questions"]
    if h["recall"] < 0.9:
        why.append(f"hybrid recall {h['recall']:.3f} < 0.9")
    for key in ("recall", "mrr"):
        best = max(b[key], d[key])
        if h[key] + 1e-12 < best:
            why.append(f"hybrid {key} {h[key]:.3f} < best single mode {best:.3f}")
    return not why, why


def run_cli(cmd, timeout):
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise CliError(f"timed out after {timeout} s: {shlex.join(cmd)}") from None
    except OSError as e:
        raise CliError(f"cannot run {cmd[0]}: {e}") from None
    if r.returncode != 0:
        err = r.stderr.decode("utf-8", errors="replace").strip()
        raise CliError(f"exit {r.returncode}: {shlex.join(cmd)}\n{err}")
    return r.stdout.decode("utf-8", errors="replace")


def progress(line, last):
    """One progress line on stderr: rewritten in place on a terminal, else
    every tenth step and the last, so logs stay readable."""
    if sys.stderr.isatty():
        print("\r" + line, end="\n" if last else "", file=sys.stderr, flush=True)
    elif last or line.split("/")[0].endswith("0"):
        print(line, file=sys.stderr)


def search(offgrid, collection, k, mode, query, timeout):
    out = run_cli([offgrid, "docs", "search", "--collection", collection, "-k", str(k),
                   "--json", "--mode", mode, query], timeout)
    try:
        obj = json.loads(out)
    except json.JSONDecodeError as e:
        raise CliError(f"docs search --mode {mode} printed no JSON object ({e}) for {query!r}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("results"), list):
        raise CliError(f"docs search --mode {mode}: JSON has no 'results' list for {query!r}")
    return obj["results"]


def collection_dir(collection):
    """<home>/docs/<collection>, home as the library picks it."""
    home = os.environ.get("OFFGRID_HOME")
    if not home:
        data = os.environ.get("XDG_DATA_HOME")
        home = os.path.join(data, "offgrid") if data else \
            os.path.join(os.path.expanduser("~"), ".local", "share", "offgrid")
    return os.path.join(home, "docs", collection)


def print_table(report, k, out=sys.stdout):
    print(f"{'mode':8} {'n':>3} {'recall@' + str(k):>9} {'MRR':>6}   {'place R@' + str(k):>10} "
          f"{'place MRR':>9}   by style (recall@{k})", file=out)
    for mode in [m for m in MODES if m in report] + [m for m in report if m not in MODES]:
        s = report[mode]
        styles = "  ".join(f"{st} {v['recall']:.2f} ({v['n']})"
                           for st, v in s["by_style"].items() if v["n"])
        print(f"{mode:8} {s['n']:>3} {s['recall']:>9.3f} {s['mrr']:>6.3f}   "
              f"{s['place_recall']:>10.3f} {s['place_mrr']:>9.3f}   {styles}", file=out)
    for mode, s in report.items():
        if s["missed"]:
            print(f"  {mode} missed: {' '.join(s['missed'])}", file=out)
        if s["absent"]:
            print(f"  {mode} not run: {' '.join(s['absent'])}", file=out)
        tops = [v for v in s["unanswerable_top_score"].values() if isinstance(v, (int, float))]
        if tops:
            print(f"  {mode} unanswerable top-1 score: max {max(tops):.4f}, "
                  f"min {min(tops):.4f} ({len(tops)} questions)", file=out)


def self_test():
    """The scoring on hand-made results: every branch of a hit and a miss."""
    qs = [
        {"id": "a", "q": "?", "doc": "x.pdf", "page": 3, "answer": "the  answer\nhere",
         "answerable": True, "style": "keyword"},
        {"id": "b", "q": "?", "doc": "sub/y.md", "page": None, "answer": "ﬁle mode",
         "answerable": True, "style": "paraphrase"},
        {"id": "c", "q": "?", "doc": "x.pdf", "page": 4, "answer": "gone",
         "answerable": True, "style": "keyword"},
        {"id": "n", "q": "?", "doc": None, "page": None, "answer": None, "answerable": False},
    ]

    def hit(doc, page, text, s=0.5):
        return {"doc": doc, "page": page, "start": 0, "end": len(text), "score": s, "text": text}

    runs = {
        # a: wrong page at 1, right place without the answer at 2, hit at 3.
        # b: hit at 1 (absolute path; NFKC ligature, case, spacing forgiven).
        # c: only a result whose doc merely ends with the same letters.
        "bm25": {
            "a": [hit("/c/x.pdf", 2, "the answer here"), hit("/c/x.pdf", 3, "nothing"),
                  hit("/c/x.pdf", 3, "... The answer  here ...")],
            "b": [hit("/corpus/sub/y.md", None, "the FILE  mode bits")],
            "c": [hit("/c/xx.pdf", 4, "gone")],
            "n": [hit("/c/x.pdf", 1, "z", 0.25)],
        },
        # a: hit only at rank 6 (outside k=5); b absent from the run; c hit at 2.
        "dense": {
            "a": [hit("/c/x.pdf", 1, "-")] * 5 + [hit("/c/x.pdf", 3, "the answer here")],
            "c": [hit("/c/y.pdf", 4, "gone"), hit("/c/x.pdf", 4, "all gone")],
        },
    }
    rep = score(qs, runs, 5)
    b, d = rep["bm25"], rep["dense"]
    checks = [
        (abs(b["recall"] - 2 / 3) < 1e-9, "bm25 recall 2/3"),
        (abs(b["mrr"] - (1 / 3 + 1) / 3) < 1e-9, "bm25 MRR (1/3 + 1 + 0)/3"),
        (abs(b["place_recall"] - 2 / 3) < 1e-9, "bm25 place recall 2/3"),
        (abs(b["place_mrr"] - (1 / 2 + 1) / 3) < 1e-9, "bm25 place MRR (1/2 + 1 + 0)/3"),
        (b["missed"] == ["c"], "bm25 misses only c (xx.pdf is not x.pdf)"),
        (b["by_style"]["keyword"]["recall"] == 0.5, "bm25 keyword recall 1/2"),
        (b["by_style"]["paraphrase"]["recall"] == 1.0, "bm25 paraphrase recall 1"),
        (b["unanswerable_top_score"] == {"n": 0.25}, "unanswerable top score recorded"),
        (abs(d["recall"] - 1 / 3) < 1e-9, "dense recall 1/3 (rank 6 is outside k)"),
        (abs(d["mrr"] - (1 / 2) / 3) < 1e-9, "dense MRR (0 + 0 + 1/2)/3"),
        (d["absent"] == ["b"], "dense lists b as not run"),
        (d["missed"] == ["a", "b"], "dense misses a and b"),
    ]
    # verdict: hybrid equal to the best single mode passes the comparison
    # but not the 0.9 bar; above both and >= 0.9 passes.
    rep["hybrid"] = dict(rep["bm25"])
    ok, why = verdict(rep)
    checks.append((not ok and len(why) == 1 and "0.9" in why[0], "verdict: 0.667 < 0.9 only"))
    rep["hybrid"] = dict(rep["bm25"], recall=0.95, mrr=0.9)
    checks.append((verdict(rep)[0], "verdict passes at 0.95/0.9"))
    rep["hybrid"] = dict(rep["bm25"], recall=0.95, mrr=0.4)
    checks.append((not verdict(rep)[0], "verdict fails when hybrid MRR < bm25 MRR"))
    bad = [name for good, name in checks if not good]
    for name in bad:
        print(f"self-test FAIL: {name}", file=sys.stderr)
    print(f"evaluate.py self-test: {len(checks) - len(bad)} passed, {len(bad)} failed")
    return 0 if not bad else 1


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="recall@k and MRR of offgrid docs search for bm25, dense and hybrid",
        epilog="OFFGRID (environment) is the binary when --offgrid is not given.")
    ap.add_argument("--offgrid", default=os.environ.get("OFFGRID",
                                                        os.path.join(REPO, "build", "bin", "offgrid")))
    ap.add_argument("--corpus", default=os.path.join(evalset.default_cache(), "corpus"))
    ap.add_argument("--collection", default="docs-eval")
    ap.add_argument("--questions", default=evalset.QUESTIONS)
    ap.add_argument("-k", type=int, default=None, help="results per search (default 5, or a recorded run's)")
    ap.add_argument("--modes", default=",".join(MODES), help="comma-separated subset of bm25,dense,hybrid")
    ap.add_argument("--add-args", default="", help="extra arguments for docs add (one shell-quoted string)")
    ap.add_argument("--skip-add", action="store_true", help="search an already indexed collection")
    ap.add_argument("--strict-add", action="store_true",
                    help="stop when docs add reports a failed file (default: warn and score the rest)")
    ap.add_argument("--fresh", action="store_true",
                    help="delete the collection's folder first (<home>/docs/<collection>)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per search (default 120)")
    ap.add_argument("--add-timeout", type=float, default=7200.0, help="seconds for docs add (default 7200)")
    ap.add_argument("--save-results", metavar="FILE", help="write the raw results of every search as JSON")
    ap.add_argument("--results-from", metavar="FILE", help="score a file written by --save-results; no CLI")
    ap.add_argument("--require", action="store_true", help="exit 1 unless hybrid meets the issue's bar")
    ap.add_argument("--json", action="store_true", help="print the report as one JSON object")
    ap.add_argument("--self-test", action="store_true", help="check the scoring on hand-made results")
    args = ap.parse_args(argv)

    if args.self_test:
        return self_test()
    if args.k is not None and args.k < 1:
        ap.error("-k must be at least 1")
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in MODES:
            ap.error(f"unknown mode '{m}' (bm25, dense, hybrid)")
    try:
        questions = evalset.load_questions(args.questions)
    except (OSError, ValueError) as e:
        print(f"evaluate: {e}", file=sys.stderr)
        return 2

    add_error = None
    if args.results_from:
        try:
            with open(args.results_from, encoding="utf-8") as f:
                recorded = json.load(f)
            runs = {m: recorded["runs"][m] for m in modes if m in recorded["runs"]}
            k = args.k or int(recorded.get("k", 5))
            if k > int(recorded.get("k", k)):
                raise ValueError(f"-k {k} is more than the {recorded['k']} results recorded")
        except (OSError, ValueError, KeyError, TypeError) as e:
            print(f"evaluate: cannot read results from {args.results_from}: {e}", file=sys.stderr)
            return 2
        if not runs:
            print(f"evaluate: {args.results_from} has none of the modes {','.join(modes)}", file=sys.stderr)
            return 2
    else:
        k = args.k or 5
        if not (os.path.isfile(args.offgrid) and os.access(args.offgrid, os.X_OK)) \
                and not shutil.which(args.offgrid):
            print(f"evaluate: offgrid binary {args.offgrid} not found (build it, or set OFFGRID)",
                  file=sys.stderr)
            return 2
        if not args.skip_add and not os.path.isdir(args.corpus):
            print(f"evaluate: corpus {args.corpus} not found (run bench/docs_eval/fetch.sh)", file=sys.stderr)
            return 2
        try:
            add_error = None
            if args.fresh:
                shutil.rmtree(collection_dir(args.collection), ignore_errors=True)
            if not args.skip_add:
                print(f"evaluate: indexing {args.corpus} into collection {args.collection}", file=sys.stderr)
                try:
                    run_cli([args.offgrid, "docs", "add", "--collection", args.collection]
                            + shlex.split(args.add_args) + [args.corpus], args.add_timeout)
                except CliError as e:
                    # docs add indexes every file it can and exits non-zero
                    # when one failed: score what was indexed (that file's
                    # questions miss), unless the caller wants it strict.
                    if args.strict_add:
                        raise
                    add_error = str(e)
                    print(f"evaluate: warning: docs add reported failures; their questions will miss:\n{e}",
                          file=sys.stderr)
            runs = {m: {} for m in modes}
            for i, q in enumerate(questions, 1):
                for m in modes:
                    runs[m][q["id"]] = search(args.offgrid, args.collection, k, m, q["q"], args.timeout)
                progress(f"evaluate: {i}/{len(questions)} questions", i == len(questions))
        except CliError as e:
            print(f"\nevaluate: {e}", file=sys.stderr)
            return 2
        if args.save_results:
            tmp = args.save_results + ".part"
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"k": k, "collection": args.collection, "runs": runs}, f, ensure_ascii=False)
            os.replace(tmp, args.save_results)

    report = score(questions, runs, k)
    ok, why = verdict(report)
    if args.json:
        print(json.dumps({"k": k, "modes": report, "meets_bar": ok, "shortfalls": why,
                          "add_error": add_error}, indent=1))
    else:
        print_table(report, k)
        if all(m in report for m in MODES):
            print("hybrid meets the bar (recall@5 >= 0.9, >= best single mode)" if ok
                  else "hybrid short of the bar: " + "; ".join(why))
    return 1 if (args.require and not ok) else 0


if __name__ == "__main__":
    sys.exit(main())
