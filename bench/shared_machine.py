"""The shared machine: waiting for idle cores, the CPU other processes used, and running one
measured process (wall time, peak RSS and CPU from ``os.wait4``).

Other jobs share these cores and a busy neighbour slows every figure, so each measured process
records ``foreign_busy``: the share of the machine that other processes used while it ran.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Environment for every measured process: no OpenMP spinning, no hub, no telemetry.
CHILD_ENV = {
    "OMP_WAIT_POLICY": "PASSIVE",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "PYTHONHASHSEED": "0",
}


# Seconds to wait, before each measured process, for other processes to leave the CPUs.
IDLE = {"limit": 0.0, "threshold": 0.15}
# A measurement during which other processes used more than this share of the machine is
# repeated (up to --retries times) and flagged in the report.
BUSY_LIMIT = 0.2


def _machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU-seconds of the whole machine since boot, from /proc/stat."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return 0.0, 0.0
    vals = [int(x) for x in first[1:9]]
    hz = os.sysconf("SC_CLK_TCK")
    return (sum(vals) - vals[3] - vals[4]) / hz, sum(vals) / hz


def machine_busy(seconds: float = 1.0) -> float:
    """Fraction of all cores busy over ``seconds`` (this process sleeps meanwhile)."""
    b0, t0 = _machine_cpu()
    time.sleep(seconds)
    b1, t1 = _machine_cpu()
    return (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0


def wait_idle() -> float:
    """Wait (up to IDLE['limit'] s) until other processes use under the threshold; the last
    busy fraction seen."""
    deadline = time.monotonic() + IDLE["limit"]
    while True:
        busy = machine_busy() if IDLE["limit"] > 0 else 0.0
        if busy <= IDLE["threshold"] or time.monotonic() >= deadline:
            return busy
        time.sleep(2)


def run_process(cmd: list[str], workdir: Path, tag: str) -> dict[str, Any]:
    """Run ``cmd`` alone; whole-process wall time, and peak RSS and CPU from ``os.wait4``.

    Also records how much CPU other processes used while it ran (``foreign_busy``, a fraction
    of all cores): the machine is shared, and a busy neighbour slows every figure here.
    """
    env = {**os.environ, **CHILD_ENV}
    busy_before = wait_idle()
    stdout, stderr = workdir / f"{tag}.stdout", workdir / f"{tag}.stderr"
    with open(stdout, "wb") as so, open(stderr, "wb") as se:
        b0, c0 = _machine_cpu()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=so, stderr=se, cwd=workdir, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        b1, c1 = _machine_cpu()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = stderr.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{tag} failed ({proc.returncode}): {shlex.join(cmd)}\n{err}")
    child_cpu = usage.ru_utime + usage.ru_stime
    return {
        "wall_s": wall,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # KiB on Linux
        "cpu_s": child_cpu,
        "busy_before": busy_before,
        "foreign_busy": max(0.0, (b1 - b0) - child_cpu) / (c1 - c0) if c1 > c0 else 0.0,
        "stdout_path": str(stdout),
        "stderr_path": str(stderr),
    }


def python_floor(workdir: Path, runs: int) -> float:
    """Median wall time of `python -c pass` in this venv: the floor under any process."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True, cwd=workdir)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def parse_importtime(stderr: str) -> tuple[set[str], list[tuple[str, float]]]:
    """Top-level packages imported, and the slowest top-level imports (cumulative ms)."""
    packages: set[str] = set()
    rows: list[tuple[int, str, float]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3:
            continue
        name = parts[2].rstrip()
        depth = len(name) - len(name.lstrip())
        packages.add(name.strip().split(".")[0])
        rows.append((depth, name.strip(), int(parts[1]) / 1000))
    top = min((d for d, _, _ in rows), default=0)
    slow = sorted(((n, ms) for d, n, ms in rows if d == top), key=lambda r: -r[1])
    return packages, slow[:6]


def best_of(run: Callable[[int], dict[str, Any]], tries: int) -> dict[str, Any]:
    """Run a measurement until other processes stayed under BUSY_LIMIT of the machine during
    it, at most ``tries`` times; keep the least disturbed run."""
    best: dict[str, Any] | None = None
    for attempt in range(max(1, tries)):
        res = run(attempt)
        res["attempts"] = attempt + 1
        if best is None or res["foreign_busy"] < best["foreign_busy"]:
            best = res
        if res["foreign_busy"] <= BUSY_LIMIT:
            break
        print(
            f"  disturbed: other processes used {100 * res['foreign_busy']:.0f}% of the machine",
            file=sys.stderr,
            flush=True,
        )
    assert best is not None
    return best


def cpu_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"
