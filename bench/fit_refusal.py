"""Fit the refusal model (bot/refusal.py) on the trust benchmark's tuning half; report the other.

Usage (from the repository root, after ``python bench/trust.py --rerun`` wrote the details)::

    python bench/fit_refusal.py [--details DIR] [--stores ar-1b,m1-1b,m2-1b,en-1b,news]
                                [--max-false-refusal 0.04] [--write]

Reads ``DIR/{store}.jsonl`` (one line per question: ``answerable``, ``split``, ``features``;
written by ``newsbot eval --details``), fits a logistic regression (L2, Newton's method, numpy
only) of "the store holds the answer" on the tuning rows, picks the threshold with the fewest
false answers at most ``--max-false-refusal`` false refusals on the tuning rows, and prints
false answers and false refusals per store for both halves at that threshold, beside the
relevance-only cut it replaces. ``--write`` puts the coefficients and threshold into the fitted
block of bot/refusal.py. Nothing is fitted at run time.

Each store counts alike in the fit (rows weighted by 1 / rows of their store), so the 60 news
questions weigh as much as XQuAD's thousands. The relevance floor of the answerer
(NEWSBOT_MIN_RELEVANCE_*) applies before the model, here as in bot/answer.py.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from bot.refusal import INPUTS, value  # noqa: E402
from bot.refusal import floor as refusal_floor  # noqa: E402
from index.settings import Settings  # noqa: E402

DETAILS = Path("/work/measure/trust/details")
STORES = "ar-1b,m1-1b,m2-1b,en-1b,news"
L2 = 1.0


def load(details: Path, stores: list[str]) -> list[dict[str, Any]]:
    rows = []
    for store in stores:
        path = details / f"{store}.jsonl"
        if not path.exists():
            print(f"missing {path}: skipped", file=sys.stderr)
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row.get("answerable") is None:
                continue
            row["store"] = store
            rows.append(row)
    return rows


def matrix(rows: list[dict[str, Any]]) -> np.ndarray:
    return np.array([[float(value(r["features"], f)) for f in INPUTS] for r in rows])


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, np.ndarray]:
    """Weighted L2 logistic regression by Newton's method (x standardised, intercept free)."""
    n, d = x.shape
    a = np.hstack([np.ones((n, 1)), x])
    beta = np.zeros(d + 1)
    penalty = np.full(d + 1, L2)
    penalty[0] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(a @ beta, -50, 50)))
        grad = a.T @ (w * (p - y)) + penalty * beta
        hess = (a * (w * p * (1 - p))[:, None]).T @ a + np.diag(penalty)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return float(beta[0]), beta[1:]


def floor_ok(rows: list[dict[str, Any]], settings: Settings, scale: float = 1.0) -> np.ndarray:
    """Whether each row passes the answerer's relevance floor."""
    out = []
    for r in rows:
        arabic = r.get("lang") == "ar" or bool(re.search("[\u0600-\u06ff]", r["question"]))
        floor = refusal_floor(settings, arabic, bool(r["features"].get("same_script", 1.0)))
        out.append(float(r["features"].get("relevance", 0.0)) >= floor * scale)
    return np.array(out)


def rates(answered: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(false answers among unanswerable, false refusals among answerable)."""
    fa = float(answered[y == 0].mean()) if (y == 0).any() else float("nan")
    fr = float((~answered[y == 1]).mean()) if (y == 1).any() else float("nan")
    return fa, fr


def choose(conf: np.ndarray, ok: np.ndarray, y: np.ndarray, budget: float) -> float:
    best = 0.0
    best_fa = 2.0
    for t in np.unique(np.round(conf, 4)):
        fa, fr = rates(ok & (conf >= t), y)
        if fr <= budget and fa < best_fa:
            best, best_fa = float(t), fa
    return best


def write(path: Path, intercept: float, coef: dict[str, float], means: dict[str, float],
          scales: dict[str, float], threshold: float, note: str) -> None:  # fmt: skip
    text = path.read_text(encoding="utf-8")
    start = text.index("# --- fitted")
    start = text.index("\n", start) + 1
    end = text.index("# --- end fitted")

    def mapping(d: dict[str, float]) -> str:
        inner = "".join(f"    {json.dumps(k)}: {v:.6g},\n" for k, v in d.items())
        return "{\n" + inner + "}"

    block = (
        f"INTERCEPT = {intercept:.6g}\n"
        f"COEFFICIENTS: dict[str, float] = {mapping(coef)}\n"
        f"MEANS: dict[str, float] = {mapping(means)}\n"
        f"SCALES: dict[str, float] = {mapping(scales)}\n"
        f"THRESHOLD = {threshold:.4g}\n"
        f"FITTED = (\n    {json.dumps(note[:60])}\n    {json.dumps(note[60:])}\n)\n"
    )
    path.write_text(text[:start] + block + text[end:], encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--details", type=Path, default=DETAILS)
    ap.add_argument("--stores", default=STORES)
    ap.add_argument("--max-false-refusal", type=float, default=0.04)
    ap.add_argument("--write", action="store_true")
    ap.add_argument(
        "--floor-scale",
        type=float,
        default=1.0,
        help="scale the relevance floors (0: the model alone decides)",
    )
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument("--threshold", type=float, help="use this threshold instead of choosing one")
    args = ap.parse_args()
    stores = [s for s in args.stores.split(",") if s]
    rows = load(args.details, stores)
    if not rows:
        print("no details rows: run bench/trust.py first", file=sys.stderr)
        return 1
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    x = matrix(rows)
    y = np.array([1.0 if r["answerable"] else 0.0 for r in rows])
    tune = np.array([r.get("split") == "tune" for r in rows])
    store = np.array([r["store"] for r in rows])
    means = x[tune].mean(axis=0)
    scales = x[tune].std(axis=0)
    scales[scales < 1e-9] = 1.0
    z = (x - means) / scales
    weight = np.array([1.0 / float((tune & (store == s)).sum() or 1) for s in store])
    intercept, beta = fit(z[tune], y[tune], weight[tune] * len(stores) * 100)
    conf = 1.0 / (1.0 + np.exp(-np.clip(intercept + z @ beta, -50, 50)))
    ok = floor_ok(rows, settings, args.floor_scale)
    threshold = choose(conf[tune], ok[tune], y[tune], args.max_false_refusal)
    if args.threshold is not None:
        threshold = args.threshold
    answered = ok & (conf >= threshold)
    figures: dict[str, Any] = {"threshold": threshold, "stores": {}}
    print(f"threshold {threshold:.4f} (false refusals <= {args.max_false_refusal} on tune)")
    print(f"{'store':<8} {'split':<5} {'n':>5} {'false answers':>14} {'false refusals':>15}"
          f" {'(relevance floor alone: FA / FR)':>34}")  # fmt: skip
    for s in [*stores, "all"]:
        for split in ("tune", "test"):
            m = (tune if split == "tune" else ~tune) & ((store == s) if s != "all" else True)
            if not m.any():
                continue
            fa, fr = rates(answered[m], y[m])
            fa0, fr0 = rates(ok[m], y[m])
            figures["stores"].setdefault(s, {})[split] = {
                "n": int(m.sum()), "false_answers": fa, "false_refusals": fr,
                "floor_false_answers": fa0, "floor_false_refusals": fr0,
            }  # fmt: skip
            print(f"{s:<8} {split:<5} {int(m.sum()):>5} {fa:>14.3f} {fr:>15.3f}"
                  f" {fa0:>20.3f} / {fr0:.3f}")  # fmt: skip
    coef = {f: float(b) for f, b in zip(INPUTS, beta, strict=True)}
    print("coefficients (standardised):")
    for f, b in sorted(coef.items(), key=lambda kv: -abs(kv[1])):
        print(f"  {f:<16} {b:+.3f}")
    if args.json:
        print(json.dumps(figures))
    if args.write:
        chosen = (
            f"--threshold {threshold}"
            if args.threshold is not None
            else (f"--max-false-refusal {args.max_false_refusal}")
        )
        note = (
            f"bench/fit_refusal.py --stores {','.join(stores)} {chosen}: "
            f"tuning half, {int(tune.sum())} questions"
        )
        write(
            REPO / "bot" / "refusal.py", intercept, coef,
            {f: float(v) for f, v in zip(INPUTS, means, strict=True)},
            {f: float(v) for f, v in zip(INPUTS, scales, strict=True)},
            threshold, note,
        )  # fmt: skip
        print("wrote bot/refusal.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
