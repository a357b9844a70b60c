"""The trust benchmark of issue 17: every target in one table, for one split.

Usage (from the repository root)::

    python bench/trust.py [--split tune|test|all] [--rerun] [--only STORE,...] [--jobs N]
                          [--sample K] [--parts xquad,news] [--out DIR]
                          [--score relevance] [--max-false-refusal 0.05]

It runs ``newsbot eval`` once per store (all queries, both splits; the per-question outcomes
and Decision.features go to ``DIR/details/{store}.jsonl``, the eval's JSON to
``DIR/eval/{store}.json``) and prints the table from those files. A store whose details file
exists is not run again unless ``--rerun`` (after a change in bot/ or index/); its index in
``DIR/idx/{store}`` is kept and reindexed incrementally. A new index starts as a copy of its
``seed`` store's index (the same store minus some files), so only the added files are embedded.
A full rerun asks about 19,000 XQuAD questions (20-30 minutes on two shared cores); ``--sample
K`` asks one paragraph's questions in K (results under ``DIR/sample-K``, same indexes) and
``--jobs 2`` runs two stores at once.

Parts (``DIR`` defaults to /work/measure/trust):

- ``xquad``: 1a (mixed-language stores m1/m2 against the single-language stores ar/en) and 1b
  (the ``*-1b`` stores: two paragraphs of each article left out, their questions unanswerable).
  Built by bench/trust_xquad.py into ``DIR/xquad`` when missing.
- ``news``: 1c, real news: ``DIR/news/corpus_ar.jsonl`` + ``corpus_en.jsonl`` (rebuilt by
  bench/trust_news.py from the fetched mirrors) + data/articles, asked
  bench/trust/news_questions.jsonl and bench/trust/sample_checks.jsonl.

The curve: a query is answered iff its ``--score`` feature (default ``relevance``, the one the
answerer's refusal uses today) is at least a threshold, one threshold per question language as
the answerer has. The operating point is chosen on the tuning half (fewest false answers with
false refusals <= ``--max-false-refusal``) and reported on the split asked for. The table also
gives the false answers and false refusals of the answerer as it is (its own refusal).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bot.evaluate import operating_point, refusal_curve  # noqa: E402

OUT = Path("/work/measure/trust")
NEWS_QUESTIONS = HERE / "trust" / "news_questions.jsonl"
SAMPLE_CHECKS = HERE / "trust" / "sample_checks.jsonl"
DIRECTIONS = ("en->ar", "ar->ar", "en->en", "ar->en")
# where each direction's single-language reference is measured
SINGLE = {"en->ar": "ar", "ar->ar": "ar", "en->en": "en", "ar->en": "en"}


def stores(out: Path, parts: Iterable[str]) -> dict[str, dict[str, Any]]:
    """store -> {corpus: [paths], queries: [paths], seed: store | None, part}."""
    found: dict[str, dict[str, Any]] = {}
    if "xquad" in parts:
        xq = out / "xquad"
        if not (xq / "stores.json").exists():
            import trust_xquad

            trust_xquad.build(trust_xquad.SHARED / "xquad", trust_xquad.SHARED / "xquad-r", xq)
        for name, spec in json.loads((xq / "stores.json").read_text("utf-8")).items():
            found[name] = {
                "corpus": [xq / c for c in spec["corpus"]],
                "queries": [xq / q for q in spec["queries"]],
                "seed": spec["seed"],
                "part": spec["part"],
            }
    if "news" in parts:
        news = out / "news"
        corpus = [news / "corpus_ar.jsonl", news / "corpus_en.jsonl", REPO / "data" / "articles"]
        missing = [str(p) for p in corpus if not p.exists()]
        if missing:
            print(
                f"skipping news: missing {', '.join(missing)} (bench/trust_news.py)",
                file=sys.stderr,
            )
        else:
            found["news"] = {
                "corpus": corpus,
                "queries": [q for q in (NEWS_QUESTIONS, SAMPLE_CHECKS) if q.exists()],
                "seed": None,
                "part": "1c",
            }
    return found


def eval_command(spec: dict[str, Any], idx: Path, details: Path) -> list[str]:
    cmd = [sys.executable, "-m", "bot.cli", "eval"]
    for c in spec["corpus"]:
        cmd += ["--corpus", str(c)]
    for q in spec["queries"]:
        cmd += ["--queries", str(q)]
    return [*cmd, "--index-dir", str(idx), "--details", str(details), "--json"]


def sampled(spec: dict[str, Any], results: Path, k: int) -> dict[str, Any]:
    """``spec`` with only the questions on one paragraph (or article) in ``k``, by SHA-1 of its
    id, in query files written under ``results``; ``k`` = 1 keeps the spec as it is."""
    if k <= 1 or spec["part"] == "1c":
        return spec
    queries = []
    for path in spec["queries"]:
        rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line]
        kept = [
            r
            for r in rows
            if r.get("set") == "sample-check"
            or int(hashlib.sha1(str(r.get("paragraph") or r["id"]).encode()).hexdigest(), 16) % k
            == 0
        ]
        target = results / "queries" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in kept), "utf-8")
        queries.append(target)
    return {**spec, "queries": queries}


def run(name: str, spec: dict[str, Any], out: Path, results: Path) -> None:
    """One store's eval: the index in ``out/idx``, details and summary under ``results``."""
    idx, details = out / "idx" / name, results / "details" / f"{name}.jsonl"
    result = results / "eval" / f"{name}.json"
    for d in (idx.parent, details.parent, result.parent):
        d.mkdir(parents=True, exist_ok=True)
    seed = spec.get("seed")
    if not idx.exists() and seed and (out / "idx" / seed).exists():
        shutil.copytree(out / "idx" / seed, idx)
    cmd = eval_command(spec, idx, details)
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-3000:])
        raise SystemExit(f"error: eval of store {name} failed ({done.returncode})")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    summary["code"] = code_version()  # bot/ and index/ change under a running benchmark
    result.write_text(json.dumps(summary, ensure_ascii=False) + "\n", encoding="utf-8")


def code_version() -> dict[str, Any]:
    """The commit measured, and the files of bot/ and index/ that differ from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout

    changed = git("status", "--porcelain", "--", "bot", "index").splitlines()
    return {
        "commit": git("rev-parse", "HEAD").strip(),
        "changed": [line[3:] for line in changed if line.strip()],
    }


def load(results: Path, name: str) -> list[dict[str, Any]]:
    path = results / "details" / f"{name}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


# --- figures -----------------------------------------------------------------------------------


def _share(flags: Iterable[bool]) -> float | None:
    vals = list(flags)
    return round(sum(vals) / len(vals), 4) if vals else None


def r_at(rows: list[dict[str, Any]], k: int) -> float | None:
    ans = [r for r in rows if r["answerable"]]
    return _share(any(a in r["relevant"] for a in r["ranked"][:k]) for r in ans)


def refusals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The answerer's own outcome: false answers, false refusals, wrong answers."""
    ans = [r for r in rows if r["answerable"]]
    off = [r for r in rows if not r["answerable"]]
    return {
        "n": len(ans),
        "n_unanswerable": len(off),
        "false_answer": _share(not r["refused"] for r in off),
        "false_refusal": _share(r["refused"] for r in ans),
        "wrong_answer": _share(bool(r.get("wrong_answer")) for r in ans),
        "quote_holds_answer": _share(
            bool(r.get("quote_holds_answer"))
            for r in ans
            if r.get("quote_holds_answer") is not None
        ),
    }


def curve_point(
    rows: list[dict[str, Any]], split: str, score: str, max_fr: float
) -> dict[str, Any]:
    """Per question language: the threshold chosen on the tuning half, applied to ``split``."""
    out: dict[str, Any] = {}
    pooled: list[tuple[bool, bool]] = []  # (answerable, answered) at the chosen thresholds
    for lang in ("en", "ar"):
        mine = [r for r in rows if r["lang"] == lang]
        tune = [
            (r["answerable"], float(r["features"].get(score, 0.0)))
            for r in mine
            if r["split"] == "tune"
        ]
        if not tune or all(a for a, _ in tune) or not any(a for a, _ in tune):
            continue
        point = operating_point(refusal_curve(tune), max_fr)
        if point is None:
            continue
        t = point["threshold"]
        part = [r for r in mine if split == "all" or r["split"] == split]
        flags = [(r["answerable"], float(r["features"].get(score, 0.0)) >= t) for r in part]
        pooled += flags
        out[lang] = {"threshold": round(t, 4), **_rates(flags)}
    out["all"] = _rates(pooled)
    return out


BUDGETS = (0.01, 0.02, 0.05, 0.10, 0.20)  # false-refusal budgets on the tuning half


def curve(rows: list[dict[str, Any]], split: str, score: str) -> dict[str, Any]:
    """The trade-off as a curve: per false-refusal budget, thresholds chosen on the tuning half
    and the rates they give on ``split``; and the raw curve of ``split`` itself per language
    (at most 60 points)."""
    by_budget = {}
    for budget in BUDGETS:
        point = curve_point(rows, split, score, budget)
        by_budget[f"{budget:.2f}"] = {
            **point["all"],
            **{f"threshold_{k}": v["threshold"] for k, v in point.items() if k != "all"},
        }
    raw = {}
    for lang in ("en", "ar"):
        part = [
            (r["answerable"], float(r["features"].get(score, 0.0)))
            for r in rows
            if r["lang"] == lang and (split == "all" or r["split"] == split)
        ]
        if part:
            points = refusal_curve(part)
            step = max(1, len(points) // 60)
            raw[lang] = [
                {k: round(v, 4) for k, v in p.items()} for p in points[::step] + points[-1:]
            ]
    return {"by_budget": by_budget, "raw": raw}


def _rates(flags: list[tuple[bool, bool]]) -> dict[str, Any]:
    return {
        "false_answer": _share(answered for a, answered in flags if not a),
        "false_refusal": _share(not answered for a, answered in flags if a),
    }


def figures(
    out: Path, split: str, score: str, max_fr: float, names: Iterable[str]
) -> dict[str, Any]:
    data = {name: load(out, name) for name in names}
    pick = (
        (lambda rows: rows)
        if split == "all"
        else (lambda rows: [r for r in rows if r["split"] == split])
    )
    fig: dict[str, Any] = {"split": split, "score": score, "code": {}}
    for name in names:
        path = out / "eval" / f"{name}.json"
        if path.exists():
            fig["code"][name] = json.loads(path.read_text("utf-8")).get("code")
    if data.get("m1") or data.get("m2"):
        mixed = pick(data.get("m1", []) + data.get("m2", []))
        fig["1a"] = {}
        for d in DIRECTIONS:
            m = [r for r in mixed if r["direction"] == d]
            s = [r for r in pick(data.get(SINGLE[d], [])) if r["direction"] == d]
            fig["1a"][d] = {
                "n": len(m),
                "mixed_r1": r_at(m, 1),
                "mixed_r5": r_at(m, 5),
                "single_r1": r_at(s, 1),
                "single_r5": r_at(s, 5),
            }
    fig["1b"] = {}
    for label, members in (("ar", ["ar-1b"]), ("mixed", ["m1-1b", "m2-1b"]), ("en", ["en-1b"])):
        rows_all = [r for m in members for r in data.get(m, [])]
        if not rows_all:
            continue
        fig["1b"][label] = {
            "answerer": refusals(pick(rows_all)),
            "curve": curve_point(rows_all, split, score, max_fr),
            "trade_off": curve(rows_all, split, score),
        }
    news = data.get("news", [])
    if news:
        questions = [r for r in news if r["set"] != "sample-check"]
        fig["1c"] = {
            "answerer": refusals(pick(questions)),
            "curve": curve_point(questions, split, score, max_fr),
            "trade_off": curve(questions, split, score),
            "by_direction": {
                d: refusals([r for r in pick(questions) if r["direction"] == d])
                for d in DIRECTIONS
                if any(r["direction"] == d for r in questions)
            },
            "by_language": {
                lang: refusals([r for r in pick(questions) if r["lang"] == lang])
                for lang in ("en", "ar")
            },
        }
        checks = [r for r in news if r["set"] == "sample-check"]
        fig["sample"] = [
            {
                "id": r["id"],
                "question": r["question"],
                "answerable": r["answerable"],
                "ok": (not r["refused"] and bool(r["quote_is_gold"]))
                if r["answerable"]
                else r["refused"],
                "quote": r["quote"],
            }
            for r in checks
        ]
    return fig


def _f(v: Any) -> str:
    return "-" if v is None else f"{v:.3f}"


def table(fig: dict[str, Any], max_fr: float) -> str:
    lines = [f"# trust benchmark, split {fig['split']} (score for the curve: {fig['score']})", ""]
    if "1a" in fig:
        lines += [
            "## 1a mixed-language store (m1+m2) vs single-language store",
            "target: en->ar R@1 >= 0.80 mixed; each direction within 0.03 of single",
            "",
            "| direction | n | R@1 mixed | R@1 single | diff | R@5 mixed | R@5 single | target |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for d, r in fig["1a"].items():
            diff = (
                None
                if r["mixed_r1"] is None or r["single_r1"] is None
                else round(r["mixed_r1"] - r["single_r1"], 4)
            )
            ok = diff is not None and diff >= -0.03 and (d != "en->ar" or r["mixed_r1"] >= 0.80)
            lines.append(
                f"| {d} | {r['n']} | {_f(r['mixed_r1'])} | {_f(r['single_r1'])} | {_f(diff)} | "
                f"{_f(r['mixed_r5'])} | {_f(r['single_r5'])} | {'ok' if ok else 'MISS'} |"
            )
        lines.append("")
    blocks = [(f"1b {k} store", v) for k, v in fig.get("1b", {}).items()]
    if "1c" in fig:
        blocks.append(("1c real news", fig["1c"]))
    if blocks:
        lines += [
            "## unanswerable questions: false answers vs false refusals",
            f"target: false answers <= 0.10 with false refusals <= {max_fr:.2f}",
            "",
            "| store | n ans | n unans | answerer: false ans | false ref | wrong ans "
            "| quote holds ans | curve (tune thr): false ans | false ref | thr en / ar | target |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name, b in blocks:
            a, c = b["answerer"], b["curve"]
            ok = (
                a["false_answer"] is not None
                and a["false_answer"] <= 0.10
                and (a["false_refusal"] or 0) <= max_fr
            )
            thr = " / ".join(_f(c.get(lang, {}).get("threshold")) for lang in ("en", "ar"))
            lines.append(
                f"| {name} | {a['n']} | {a['n_unanswerable']} | {_f(a['false_answer'])} | "
                f"{_f(a['false_refusal'])} | {_f(a['wrong_answer'])} | "
                f"{_f(a['quote_holds_answer'])} | {_f(c['all']['false_answer'])} | "
                f"{_f(c['all']['false_refusal'])} | {thr} | "
                f"{'ok' if ok else 'MISS'} |"
            )
        lines.append("")
    if blocks:
        lines += [
            f"curve over the {fig['score']} threshold (chosen on tune per question language for "
            "each false-refusal budget, applied to this split): false answers / false refusals",
            "",
            "| store | " + " | ".join(f"budget {b:.2f}" for b in BUDGETS) + " |",
            "|---|" + "---|" * len(BUDGETS),
        ]
        for name, b in blocks:
            cells = [
                f"{_f(p['false_answer'])} / {_f(p['false_refusal'])}"
                for p in b["trade_off"]["by_budget"].values()
            ]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        lines.append("")
    if "1c" in fig:
        q = fig["1c"]["answerer"]["quote_holds_answer"]
        lines += [
            f"1c first quote holds the answer (answerable): {_f(q)} (target >= 0.85: "
            f"{'ok' if q is not None and q >= 0.85 else 'MISS'})",
            "",
            "| 1c direction | n ans | n unans | false ans | false ref | wrong ans "
            "| quote holds ans |",
            "|---|---|---|---|---|---|---|",
        ]
        by_language = {f"{lang} questions": a for lang, a in fig["1c"]["by_language"].items()}
        for d, a in {**fig["1c"]["by_direction"], **by_language}.items():
            lines.append(
                f"| {d} | {a['n']} | {a['n_unanswerable']} | {_f(a['false_answer'])} | "
                f"{_f(a['false_refusal'])} | {_f(a['wrong_answer'])} | "
                f"{_f(a['quote_holds_answer'])} |"
            )
        lines.append("")
    code = fig.get("code", {})
    if code:
        versions = [
            f"{name} {c['commit'][:10]}" + (f"+{len(c['changed'])} changed" if c["changed"] else "")
            if c
            else f"{name} ?"
            for name, c in code.items()
        ]
        lines += [
            "measured on (store commit+files changed in bot/, index/): " + ", ".join(versions),
            "",
        ]
    if fig.get("sample"):
        lines += ["## sample checks (all splits)", ""]
        for s in fig["sample"]:
            quote = (s["quote"] or "(refused)")[:90]
            lines.append(f"- {'ok  ' if s['ok'] else 'FAIL'} {s['question']} -> {quote}")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", choices=("tune", "test", "all"), default="test")
    parser.add_argument("--rerun", action="store_true", help="run every store's eval again")
    parser.add_argument("--parts", default="xquad,news", help="comma-separated: xquad, news")
    parser.add_argument("--only", help="comma-separated stores to (re)run, e.g. ar,m1")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--score", default="relevance", help="feature the curve thresholds")
    parser.add_argument("--max-false-refusal", type=float, default=0.05)
    parser.add_argument("--json", action="store_true", help="also print the figures as JSON")
    parser.add_argument(
        "--sample", type=int, default=1, metavar="K",
        help="quick run: only the XQuAD questions on one paragraph in K (news: all); "
        "results under OUT/sample-K, indexes shared",
    )  # fmt: skip
    parser.add_argument("--jobs", type=int, default=1, help="stores evaluated at once")
    args = parser.parse_args(argv)

    specs = stores(args.out, [p.strip() for p in args.parts.split(",")])
    results = args.out if args.sample <= 1 else args.out / f"sample-{args.sample}"
    only = {s.strip() for s in args.only.split(",")} if args.only else None
    todo = [
        name
        for name in specs
        if (only is None and (args.rerun or not (results / "details" / f"{name}.jsonl").exists()))
        or (only is not None and name in only)
    ]
    # A store whose index does not exist yet waits for its seed's (copied, then completed).
    first = [n for n in todo if (args.out / "idx" / n).exists() or not specs[n]["seed"]]
    second = [n for n in todo if n not in first]
    for wave in (first, second):
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            for job in [
                pool.submit(run, n, sampled(specs[n], results, args.sample), args.out, results)
                for n in wave
            ]:
                job.result()
    results.mkdir(parents=True, exist_ok=True)
    for split in ("tune", "test", "all"):
        fig = figures(results, split, args.score, args.max_false_refusal, specs)
        (results / f"figures-{split}.json").write_text(
            json.dumps(fig, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
    fig = figures(results, args.split, args.score, args.max_false_refusal, specs)
    print(table(fig, args.max_false_refusal))
    if args.json:
        print(json.dumps(fig, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
