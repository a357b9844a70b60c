"""Fit the fusion weights and refusal thresholds on XQuAD's tuning half; report the held-out half.

Usage (after ``python bench/xquad.py`` and one ``newsbot eval ... --index-dir DIR`` that built
the index)::

    python bench/tune_retrieval.py --index-dir bench/out/idx-xquad [--json]

It reads every chunk's vector (Chroma), sentence vectors and BM25 scores (manifest) once, scores
every question against every chunk exactly, and replays the retriever's fusion for a grid of
weights in memory, so a grid of hundreds of settings takes seconds instead of hours of queries.
The figures `newsbot eval` prints with the chosen defaults are the ones to quote; this script
only chooses them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bot.evaluate import Query, load_queries  # noqa: E402
from bot.retrieve import Weights  # noqa: E402
from index.embedding import get_embedder  # noqa: E402
from index.manifest import Manifest  # noqa: E402
from index.settings import Settings  # noqa: E402
from index.store import Vectors  # noqa: E402


def load_index(settings: Settings) -> dict[str, Any]:
    manifest = Manifest(settings.manifest_path, create=False)
    ids = sorted(manifest.all_chunk_ids())
    chunks = manifest.chunks(ids)
    got = Vectors(settings).collection().get(ids=ids, include=["embeddings"])
    vec_of = dict(zip(got["ids"], got["embeddings"], strict=True))
    return {
        "manifest": manifest,
        "ids": ids,
        "article": [chunks[c].article_id for c in ids],
        "chunk_vecs": np.vstack([np.asarray(vec_of[c], dtype=np.float32) for c in ids]),
        "sent_vecs": [chunks[c].sent_vecs for c in ids],
    }


def features(index: dict[str, Any], queries: list[Query], qvecs: np.ndarray) -> dict[str, Any]:
    """Per query x chunk: dense cosine, best sentence cosine, BM25 (0 when no match)."""
    ids = index["ids"]
    pos = {c: i for i, c in enumerate(ids)}
    dense = qvecs @ index["chunk_vecs"].T
    sent = np.zeros_like(dense)
    for j, sv in enumerate(index["sent_vecs"]):
        sent[:, j] = (qvecs @ sv.T).max(axis=1) if sv.size else dense[:, j]
    lex = np.zeros_like(dense)
    for i, q in enumerate(queries):
        for cid, score in index["manifest"].lexical(q.question, len(ids)):
            lex[i, pos[cid]] = score
    return {"dense": dense, "sent": sent, "lex": lex}


def ranks_of(scores: np.ndarray, pool: int) -> np.ndarray:
    """1-based rank of each column per row among the top ``pool``, else inf."""
    order = np.argsort(-scores, axis=1)
    ranks = np.full(scores.shape, np.inf)
    rows = np.arange(scores.shape[0])[:, None]
    ranks[rows, order[:, :pool]] = np.arange(1, pool + 1)
    return ranks


def rrf(f: dict[str, Any], w: tuple[float, float, float], k: float, pool: int = 50) -> np.ndarray:
    """The retriever's fusion: a chunk is a candidate when the dense or lexical channel finds it;
    the sentence channel ranks the candidates."""
    rd = ranks_of(f["dense"], pool)
    lex = np.where(f["lex"] > 0, f["lex"], -np.inf)
    rl = ranks_of(lex, pool)
    rl[~np.isfinite(lex)] = np.inf
    cand = np.isfinite(rd) | np.isfinite(rl)
    sent = np.where(cand, f["sent"], -np.inf)
    rs = ranks_of(sent, cand.shape[1])
    rs[~cand] = np.inf
    score = w[0] / (k + rd) + w[1] / (k + rs) + w[2] / (k + rl)
    return np.where(cand, score, -np.inf)


def candidates(f: dict[str, Any], pool: int = 50) -> np.ndarray:
    """The retriever's candidates: the top ``pool`` chunks by cosine, and BM25's top ``pool``.

    Scoring every chunk instead is not the same thing: a chunk with one very short sentence
    scores high against most questions and would top the sentence channel."""
    rd = ranks_of(f["dense"], pool)
    lex = np.where(f["lex"] > 0, f["lex"], -np.inf)
    rl = ranks_of(lex, pool)
    return np.isfinite(rd) | (np.isfinite(rl) & np.isfinite(lex))


def weighted(f: dict[str, Any], a: float, c: float) -> np.ndarray:
    """The retriever's fusion (bot.retrieve.fuse) over its candidates."""
    lex = f["lex"] / np.maximum(f["lex"].max(axis=1, keepdims=True), 1e-9)
    score = a * f["dense"] + (1 - a) * f["sent"] + c * lex
    return np.where(candidates(f), score, -np.inf)


def article_metrics(
    score: np.ndarray, articles: list[str], queries: list[Query]
) -> dict[str, float]:
    order = np.argsort(-score, axis=1)
    r1 = r5 = mrr = 0.0
    for i, q in enumerate(queries):
        seen: list[str] = []
        for j in order[i]:
            a = articles[j]
            if a not in seen:
                seen.append(a)
            if len(seen) >= 10:
                break
        rel = set(q.relevant)
        hit = next((n for n, a in enumerate(seen, 1) if a in rel), None)
        r1 += hit == 1
        r5 += hit is not None and hit <= 5
        mrr += 1 / hit if hit else 0
    n = len(queries)
    return {"R@1": round(r1 / n, 4), "R@5": round(r5 / n, 4), "MRR@10": round(mrr / n, 4)}


DISTRACTOR_STEPS = {
    "gold paragraphs only": ("en-", "gen-"),
    "+ 1,200 generated Arabic (5x)": ("en-", "gen-en-"),
    "+ 1,200 generated English (10x)": ("en-",),
    "+ 240 English XQuAD (11x)": (),
}


def distractor_steps(settings: Settings) -> int:
    """The fused ranking over growing subsets of the distractor store (exact scores, the
    retriever's candidates), so one built index shows what each kind of distractor costs."""
    index = load_index(settings)
    arts = np.array(index["article"])
    embedder = get_embedder(settings.embed_model)
    xq = HERE / "out" / "xquad"
    for name in ("en", "ar"):
        queries = load_queries([xq / f"queries_{name}.jsonl"])
        f_all = features(index, queries, embedder.queries([q.question for q in queries]))
        for step, left_out in DISTRACTOR_STEPS.items():
            cols = np.array([not (left_out and a.startswith(left_out)) for a in arts])
            f = {k: v[:, cols] for k, v in f_all.items()}
            score = weighted(f, Weights().dense, Weights().lexical)
            m = article_metrics(score, list(arts[cols]), queries)
            print(f"  {name} {step:<34} {m}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index-dir", type=Path, default=HERE / "out" / "idx-xquad")
    parser.add_argument(
        "--calibrate", type=Path, help="a `newsbot eval --details` file: fit the refusal instead"
    )
    parser.add_argument(
        "--distractors",
        action="store_true",
        help="with an index of corpus_distract.jsonl: R@1/R@5 as each kind of distractor joins",
    )
    args = parser.parse_args(argv)
    if args.calibrate:
        print(json.dumps(calibrate(args.calibrate), indent=1))
        return 0
    if args.distractors:
        return distractor_steps(Settings(store_dir=args.index_dir, chroma_url=None))
    settings = Settings(store_dir=args.index_dir, chroma_url=None)
    index = load_index(settings)
    embedder = get_embedder(settings.embed_model)
    xq = HERE / "out" / "xquad"
    halves: dict[str, dict[str, tuple[dict[str, Any], list[Query]]]] = {}
    for name in ("en", "ar"):
        queries = load_queries([xq / f"queries_{name}.jsonl"])
        f = features(index, queries, embedder.queries([q.question for q in queries]))
        halves[name] = {}
        for half in ("tune", "test"):
            rows = [i for i, q in enumerate(queries) if q.split == half]
            halves[name][half] = ({k: v[rows] for k, v in f.items()}, [queries[i] for i in rows])

    def measure(score_of: Any, half: str) -> dict[str, dict[str, float]]:
        return {
            name: article_metrics(score_of(halves[name][half][0]), index["article"], qs)
            for name in halves
            for qs in [halves[name][half][1]]
        }

    def both(m: dict[str, dict[str, float]]) -> float:
        return sum(v["MRR@10"] for v in m.values())

    def show(label: str, score_of: Any) -> None:
        tune, test = measure(score_of, "tune"), measure(score_of, "test")
        for name in halves:
            print(f"  {label:<34} {name} tune={tune[name]} held-out={test[name]}")

    # The retriever's fusion: a*chunk cosine + (1-a)*best sentence + c*BM25/max BM25.
    summed = []
    for a, c in itertools.product(
        (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7), (0.0, 0.01, 0.02, 0.03, 0.05, 0.08)
    ):
        summed.append((both(measure(lambda f, a=a, c=c: weighted(f, a, c), "tune")), a, c))
    summed.sort(reverse=True)
    _, a, c = summed[0]
    print("== weighted sum, chosen on the tuning half (both languages' MRR@10)")
    show(f"dense {a} sentence {1 - a:.2f} lexical {c}", lambda f: weighted(f, a, c))
    grid = (0.0, 0.5, 1.0, 1.5)
    ranked = []
    for wd, ws, wl, k in itertools.product(grid, grid, grid, (5, 20, 60)):
        if wd or ws or wl:
            w = (wd, ws, wl)
            ranked.append((both(measure(lambda f, w=w, k=k: rrf(f, w, k), "tune")), w, k))
    ranked.sort(reverse=True)
    _, w, k = ranked[0]
    print("== reciprocal rank fusion, best on the tuning half")
    show(f"weights {w} k {k}", lambda f: rrf(f, w, k))
    print("== one channel alone")
    show("dense", lambda f: f["dense"])
    show("best sentence (of the candidates)", lambda f: np.where(candidates(f), f["sent"], -9))
    show("BM25 (no match: not ranked)", lambda f: np.where(f["lex"] > 0, f["lex"], -np.inf))
    return 0


# --- refusal calibration --------------------------------------------------------------------

SUPPORT_FEATURES = ("margin", "overlap")


def calibrate(details: Path, max_false_refusal: float = 0.02) -> dict[str, Any]:
    """Per question language: a support score ``relevance + a*margin + b*overlap`` (a, b fitted
    by logistic regression on the tuning half), and the highest threshold that refuses at most
    ``max_false_refusal`` of the tuning half's answerable questions. Reported on both halves."""
    rows = [json.loads(line) for line in details.read_text("utf-8").splitlines() if line]
    out: dict[str, Any] = {}
    for lang in ("en", "ar"):
        mine = [r for r in rows if r.get("lang") == lang and "relevance" in r]

        def x(r: dict[str, Any]) -> list[float]:
            return [r["relevance"], *(r.get(f, 0.0) for f in SUPPORT_FEATURES)]

        tune = [r for r in mine if r.get("split") == "tune"]
        X = np.array([x(r) for r in tune])
        y = np.array([1.0 if r["relevant"] else 0.0 for r in tune])
        w = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))  # balance the classes
        mu, sd = X.mean(0), X.std(0) + 1e-9
        Z = (X - mu) / sd
        coef, bias = np.zeros(Z.shape[1]), 0.0
        for _ in range(3000):
            p = 1 / (1 + np.exp(-(Z @ coef + bias)))
            g = w * (p - y)
            coef -= 0.1 * (Z.T @ g / len(y) + 0.01 * coef)
            bias -= 0.1 * g.mean()
        raw = coef / sd  # in feature units
        weights = {f: round(float(raw[i + 1] / raw[0]), 3) for i, f in enumerate(SUPPORT_FEATURES)}

        def support(r: dict[str, Any], weights: dict[str, float] = weights) -> float:
            return float(r["relevance"] + sum(weights[f] * r.get(f, 0.0) for f in weights))

        pos = sorted(support(r) for r in tune if r["relevant"])
        threshold = pos[int(max_false_refusal * len(pos))]
        threshold = float(np.floor(threshold * 1000) / 1000)
        report = {}
        for split in ("tune", "test", None):
            part = [r for r in mine if r.get("split") == split]
            ans = [r for r in part if r["relevant"]]
            off = [r for r in part if not r["relevant"]]
            report[split or "no split (golden)"] = {
                "false_refusal": round(np.mean([support(r) < threshold for r in ans]), 4)
                if ans
                else None,
                "false_answer": round(np.mean([support(r) >= threshold for r in off]), 4)
                if off
                else None,
                "n": len(ans),
                "n_offtopic": len(off),
            }
        out[lang] = {"weights": weights, "threshold": threshold, "report": report}
    return out


if __name__ == "__main__":
    sys.exit(main())
