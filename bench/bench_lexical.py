"""Lexical channel at scale: BM25 query latency over 100,000 synthetic chunks.

Usage (from the repository root)::

    python bench/bench_lexical.py [--chunks 100000] [--queries 500] [--json]

The chunks are written straight into a fresh manifest's FTS5 table (no vectors: this measures
the lexical channel alone, ``Manifest.lexical``, exactly as the retriever calls it). Their words
are drawn from the word frequencies of the XQuAD paragraphs, Arabic and English (Zipf-shaped, as
real text is), 120 words each, so common words have long posting lists as they would in a real
news store. The queries are XQuAD's questions (both languages), asked with the retriever's limit.
Without ../shared/eval/xquad, a built-in word list stands in.

Prints p50/p95 latency (ms) and the build time; with ``--json`` the last line of stdout is JSON.
Target: p50 <= 50 ms at 100,000 chunks.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bot.retrieve import POOL  # noqa: E402
from index.manifest import Manifest, fts_tokens  # noqa: E402

XQUAD = HERE.parent.parent / "shared" / "eval" / "xquad"
WORDS_PER_CHUNK = 120


def vocabulary_and_questions() -> tuple[list[str], list[int], list[str]]:
    counts: Counter[str] = Counter()
    questions: list[str] = []
    for name in ("xquad.ar.json", "xquad.en.json"):
        path = XQUAD / name
        if not path.exists():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        for article in data["data"]:
            for para in article["paragraphs"]:
                counts.update(para["context"].split())
                questions += [qa["question"] for qa in para["qas"]]
    if not counts:  # a stand-in so the script runs anywhere
        words = "الحرب غزة وزارة الخارجية الاجتماع the meeting war ministry state health".split()
        counts.update({w: 100 // (i + 1) for i, w in enumerate(words)})
        questions = ["متى الاجتماع؟", "When is the meeting?"]
    words, weights = zip(*counts.most_common(), strict=True)
    return list(words), list(weights), questions


def build(manifest: Manifest, n: int, words: list[str], weights: list[int]) -> float:
    rng = random.Random(0)
    started = time.perf_counter()
    cur = manifest.db.cursor()
    cur.execute("BEGIN")
    for i in range(n):
        text = " ".join(rng.choices(words, weights, k=WORDS_PER_CHUNK))
        cur.execute(
            "INSERT INTO chunks_fts (tokens, chunk_id) VALUES (?, ?)",
            (fts_tokens(None, text), f"c{i}"),
        )
    cur.execute("COMMIT")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument(
        "--db", type=Path, help="keep the built manifest here and reuse it when it exists"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    words, weights, questions = vocabulary_and_questions()
    rng = random.Random(1)
    asked = rng.sample(questions, min(args.queries, len(questions)))
    with tempfile.TemporaryDirectory(prefix="newsbot-lexical-") as tmp:
        path = args.db or Path(tmp) / "m.sqlite3"
        reuse = path.exists()
        manifest = Manifest(path)
        build_s = 0.0 if reuse else build(manifest, args.chunks, words, weights)
        manifest.lexical(asked[0], POOL)  # warm the page cache
        ms = []
        for q in asked:
            started = time.perf_counter()
            manifest.lexical(q, POOL)
            ms.append((time.perf_counter() - started) * 1000)
        manifest.close()
    ms.sort()
    result = {
        "chunks": args.chunks,
        "queries": len(asked),
        "build_s": round(build_s, 1),
        "lexical_ms_p50": round(statistics.median(ms), 2),
        "lexical_ms_p95": round(ms[int(0.95 * (len(ms) - 1))], 2),
        "lexical_ms_max": round(ms[-1], 2),
    }
    print(
        f"{result['chunks']} chunks (built in {result['build_s']} s), {result['queries']} "
        f"queries: p50 {result['lexical_ms_p50']} ms, p95 {result['lexical_ms_p95']} ms, "
        f"max {result['lexical_ms_max']} ms",
        file=sys.stderr if args.json else sys.stdout,
    )
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
