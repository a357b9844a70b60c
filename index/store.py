"""The Chroma side of the index: one collection of chunk vectors per embedding model and chunking.

Everything else (which articles and chunks the index holds, sentence vectors, the lexical
table) is in the SQLite manifest beside it (index/manifest.py), the source of truth for "what
is indexed"; the two do not import each other, and index/reindex.py orders their writes.

chromadb is imported only when vectors are read or written, so a no-op reindex never pays its
import.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import errno
import json
import logging
import os
import random
import secrets
import shutil
import socket
import tempfile
import threading
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from index import dedupe
from index.articles import Article
from index.chunking import Chunk, Embedded
from index.dates import published_epoch
from index.errors import (
    ConfigError,
    DiskFull,
    IndexBusy,
    NewsbotError,
    StoreReadOnly,
    StoreUnavailable,
)
from index.filters import source_key
from index.settings import Settings

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: embedded readers there are unguarded
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)


class _EmbeddedChroma:
    """The embedded Chroma of one store folder, shared by every ``Vectors`` of this process.

    Chroma's PersistentClient (chromadb 1.5.9) loads a collection's vector index into memory
    once and never looks at the disk again, and it is not safe against another process writing
    (measured; docs/RELIABILITY.md): a client that loaded before another process's reindex
    misses the new vectors, and its ``get`` of a chunk written meanwhile fails ("Error finding
    id"); a client that loads the index while another process writes it can crash the whole
    process (SIGSEGV, in 2 of 2 stress runs).

    So every Chroma call in embedded mode holds an ``flock`` on ``LOCK_FILE`` in the store
    folder, shared to read and exclusive to write. A writer stores a fresh token in that file,
    before writing (a writer killed mid-write still tells readers), and a call that finds a
    token its client has not seen re-opens Chroma first, which reads the disk again. In one
    process there is one client per folder and one Chroma call at a time.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.generation = 0  # bumped at each (re)open; Vectors re-fetch their collection
        self._mutex = threading.RLock()
        self._client: Any = None
        self._seen: bytes | None = None
        self._fd: int | None = None
        self.read_only = False
        self._copy: Path | None = None

    @contextlib.contextmanager
    def use(self, write: bool) -> Iterator[Any]:
        """The client, current and safe for the calls made inside the block."""
        with self._mutex:
            fd = self._lock_fd()
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX if write else fcntl.LOCK_SH)
            try:
                token = os.pread(fd, TOKEN_BYTES, 0)
                if self._client is None or token != self._seen:
                    self._reopen()
                    self._seen = token
                if write and self.read_only:
                    raise StoreReadOnly(
                        f"the store folder {self.path} cannot be written; questions are still "
                        "answered from it, but a reindex needs a writable store folder"
                    )
                if write:
                    token = secrets.token_hex(TOKEN_BYTES // 2).encode()
                    os.pwrite(fd, token, 0)
                    self._seen = None  # until the write is done: a failed write re-opens
                yield self._client
                self._seen = token
            finally:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)

    def forget(self) -> None:
        """Re-open Chroma before the next call (after an error that may mean a stale client)."""
        with self._mutex:
            self._seen = None

    def _lock_fd(self) -> int:
        if self._fd is None:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
                self._fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                    raise
                # A read-only store folder: nobody can write it, so a shared lock on the
                # file as it is (or none, when it is missing) is enough to read.
                self.read_only = True
                lock = self.path / LOCK_FILE
                self._fd = os.open(lock if lock.exists() else self.path, os.O_RDONLY)
        return self._fd

    def _readable_copy(self) -> Path:
        """Chroma cannot open a folder it cannot write (chromadb 1.5.9), so a read-only
        store is copied once per process to a temporary folder and read from there."""
        if self._copy is None:
            self._copy = Path(tempfile.mkdtemp(prefix="newsbot-readonly-"))
            skip = shutil.ignore_patterns(LOCK_FILE, "newsbot-*")  # newsbot's own files
            shutil.copytree(self.path, self._copy, dirs_exist_ok=True, ignore=skip)
            atexit.register(shutil.rmtree, self._copy, True)
            logger.info("%s is read-only: answering from a copy in %s", self.path, self._copy)
        return self._copy

    def _reopen(self) -> None:
        import chromadb
        from chromadb.api.shared_system_client import SharedSystemClient
        from chromadb.config import Settings as ChromaSettings

        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()  # stops its System when nothing else holds it
            self._client = None
        # Chroma shares one System per folder in a process; a new client must not get the old
        # one back from that cache (it would be as stale as before).
        key = str(self._readable_copy() if self.read_only else self.path)
        getattr(SharedSystemClient, "_identifier_to_system", {}).pop(key, None)
        getattr(SharedSystemClient, "_identifier_to_refcount", {}).pop(key, None)
        self._client = chromadb.PersistentClient(
            path=key, settings=ChromaSettings(anonymized_telemetry=False)
        )
        self.generation += 1
        if self.generation > 1:
            logger.debug("re-opened Chroma at %s: another process wrote to it", key)


# Chroma's defaults: how many records it writes before it saves its vector index to disk, and
# how many it keeps in a list searched by brute force before it adds them to its graph.
CHROMA_SYNC_THRESHOLD = 1000
CHROMA_BATCH_SIZE = 100
# Vectors.settle leaves smaller collections as they are: Chroma replays them from its
# brute-force list (no graph insertion), faster than a settle (two client opens, ~0.3 s).
SETTLE_FROM = CHROMA_BATCH_SIZE
_EMBEDDED: dict[Path, _EmbeddedChroma] = {}
_EMBEDDED_LOCK = threading.Lock()
LOCK_FILE = "newsbot-chroma.lock"
TOKEN_BYTES = 32


def _embedded(store_dir: Path) -> _EmbeddedChroma:
    path = store_dir.expanduser().resolve()
    with _EMBEDDED_LOCK:
        if path not in _EMBEDDED:
            _EMBEDDED[path] = _EmbeddedChroma(path)
        return _EMBEDDED[path]


class Vectors:
    """The Chroma side: one collection per embedding model and chunking setting.

    Every Chroma error comes out as ``StoreUnavailable`` (server down or restarting, store
    locked or damaged), and the next call connects afresh: a bot that keeps one ``Vectors``
    recovers by itself when the server is back. Embedded mode is safe with one process
    writing while others read (see ``_EmbeddedChroma``).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._collection: Any = None
        self._generation = 0
        self._http: Any = None  # the server's client: making one costs ~1 s (chromadb 1.5.9)

    @property
    def where(self) -> str:
        return self.settings.chroma_url or str(self.settings.store_dir)

    def client(self) -> Any:
        try:
            import chromadb
            from chromadb.config import Settings as ChromaSettings
        except ImportError as exc:  # pragma: no cover - a dependency
            raise StoreUnavailable("chromadb is not installed") from exc
        url = self.settings.chroma_url
        if not url:
            with _embedded(self.settings.store_dir).use(write=False) as client:
                return client
        parsed = urlparse(url if "://" in url else f"http://{url}")
        if not parsed.hostname:
            raise ConfigError(f"NEWSBOT_CHROMA_URL is not a URL: {url!r}")
        port = parsed.port or (443 if parsed.scheme == "https" else 8000)
        if self._http is not None:
            return self._http
        try:
            self._http = chromadb.HttpClient(
                host=parsed.hostname,
                port=port,
                ssl=parsed.scheme == "https",
                settings=ChromaSettings(anonymized_telemetry=False),
            )
            return self._http
        except Exception as exc:
            raise StoreUnavailable(
                f"the index is unavailable: cannot reach the Chroma server at {url} "
                "(try again shortly)"
            ) from exc

    def _open(self, client: Any) -> Any:
        return client.get_or_create_collection(
            self.settings.collection_name,
            configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,  # we always pass vectors; see NOTES on Chroma
            metadata={"embed_model": self.settings.embed_model},
        )

    @contextlib.contextmanager
    def _use(self, write: bool = False) -> Iterator[Any]:
        """The collection for the Chroma calls inside the block; their errors translated."""
        embedded = None if self.settings.chroma_url else _embedded(self.settings.store_dir)
        try:
            if embedded is None:
                if self._collection is None:
                    self._collection = self._open(self.client())
                yield self._collection
                return
            with embedded.use(write) as client:
                if self._collection is None or self._generation != embedded.generation:
                    self._collection = self._open(client)
                    self._generation = embedded.generation
                yield self._collection
        except NewsbotError:
            raise
        except Exception as exc:
            self._collection = None  # connect afresh next time (a restarted server, a new id)
            self._http = None
            if embedded is not None:
                embedded.forget()
            text = str(exc).lower()
            if "disk is full" in text or "no space left" in text:
                raise DiskFull(
                    f"the disk holding the vectors at {self.where} is full: nothing of this "
                    "write was kept and the previous index still answers; free some space"
                ) from exc
            raise StoreUnavailable(
                f"the index is unavailable ({type(exc).__name__} at {self.where}); "
                "try again shortly"
            ) from exc

    def collection(self) -> Any:
        """The Chroma collection, for one-off use (embedded: unguarded once returned)."""
        with self._use() as col:
            return col

    def upsert(self, items: Sequence[Embedded], generation: int | None = None) -> None:
        """Write the chunks' vectors; with ``generation`` (server mode) each record also
        carries everything a cache needs (see ``ServerIndex``), stamped with that generation."""
        ids: list[str] = []
        vecs: list[np.ndarray] = []
        metas: list[dict[str, Any]] = []
        docs: list[str] = []
        for item in items:
            meta: dict[str, Any] = dict(item.article.metadata())
            # Numbers and normalised keys for Chroma `where` filters (see index/filters.py).
            epoch = published_epoch(item.article.published)
            if epoch is not None:
                meta["published_epoch"] = epoch
            if item.article.source:
                meta["source_key"] = source_key(item.article.source)
            if generation is not None:
                meta.update(
                    content_hash=item.article.content_hash,
                    root=item.root,
                    file_key=item.file_key,
                    n_chunks=len(item.chunks),
                    gen=generation,
                )
            for n, (chunk, vec) in enumerate(zip(item.chunks, item.vectors, strict=True)):
                ids.append(chunk.id)
                vecs.append(vec)
                # "words": retrieval draws candidates among substantial chunks too, so that
                # thousands of one-line articles cannot fill every place (bot/retrieve.py).
                words = len(chunk.text.split())
                extra: dict[str, Any] = {"ordinal": chunk.ordinal, "words": words}
                if generation is not None:
                    svecs = np.ascontiguousarray(item.sentence_vectors[n], dtype=np.float32)
                    extra.update(
                        start=chunk.start,
                        end=chunk.end,
                        sentences=json.dumps(chunk.sentences),
                        sent_vecs=base64.b64encode(svecs.tobytes()).decode("ascii"),
                    )
                    if n == 0:
                        sig = dedupe.sketch(item.article.text)
                        extra["sketch"] = base64.b64encode(sig.tobytes()).decode("ascii")
                metas.append({**meta, **extra})
                docs.append(chunk.text)
        step = 4000  # below Chroma's max batch (5,461 here)
        for i in range(0, len(ids), step):
            with self._use(write=True) as col:
                col.upsert(
                    ids=ids[i : i + step],
                    embeddings=np.vstack(vecs[i : i + step]),
                    metadatas=metas[i : i + step],
                    documents=docs[i : i + step] if generation is not None else None,
                )

    def delete(self, ids: Sequence[str]) -> None:
        for i in range(0, len(ids), 4000):
            with self._use(write=True) as col:
                col.delete(ids=list(ids[i : i + 4000]))

    def settle(self) -> None:
        """Embedded mode: have Chroma write its whole vector index to disk now, so that the
        next process to load it has nothing to replay.

        Chroma (1.5.9) writes its HNSW graph to disk every ``sync_threshold`` (1,000) records;
        the records since are only in its log, and every process that loads the collection
        inserts them into the graph again before its first query (up to 999 insertions: most
        of a cold ``ask``'s first query at 10,000 articles, docs/SCALING.md). So: a threshold
        of 2, Chroma re-opened (it reads the configuration when it loads the graph), one
        record written again as it is, which makes it write the graph; then Chroma's defaults
        again, and re-opened once more so this process's later writes use them. Not for a
        collection of fewer than SETTLE_FROM records.
        """
        if self.settings.chroma_url:
            return  # a server keeps the graph in its memory; nothing is reloaded per question
        embedded = _embedded(self.settings.store_dir)
        restore = {"sync_threshold": CHROMA_SYNC_THRESHOLD, "batch_size": CHROMA_BATCH_SIZE}
        with warnings.catch_warnings():
            # modify() re-reads the configuration, whose embedding_function None Chroma calls
            # "legacy" (a DeprecationWarning per call); the vectors are always ours.
            warnings.filterwarnings("ignore", "legacy embedding function", DeprecationWarning)
            with self._use(write=True) as col:
                if col.count() < SETTLE_FROM:
                    return
                got = col.get(limit=1, include=["embeddings", "metadatas", "documents"])
                col.modify(configuration={"hnsw": {"sync_threshold": 2, "batch_size": 1}})
            embedded.forget()
            try:
                with self._use(write=True) as col:
                    col.upsert(
                        ids=got["ids"],
                        embeddings=got["embeddings"],
                        metadatas=got["metadatas"],
                        documents=got["documents"],
                    )
            finally:
                with self._use(write=True) as col:
                    col.modify(configuration={"hnsw": restore})
                embedded.forget()

    def all_ids(self) -> set[str]:
        out: set[str] = set()
        offset = 0
        while True:
            with self._use() as col:
                got = col.get(include=[], limit=5000, offset=offset)
            if not got["ids"]:
                return out
            out.update(got["ids"])
            offset += len(got["ids"])

    def sample_ids(self, n: int) -> list[str]:
        """Up to ``n`` ids from a random place in the collection."""
        total = self.count()
        if not total:
            return []
        with self._use() as col:
            got = col.get(include=[], limit=n, offset=random.randrange(max(total - n, 0) + 1))
        return list(got["ids"])

    def existing(self, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` that Chroma holds."""
        if not ids:
            return set()
        with self._use() as col:
            return set(col.get(ids=list(ids), include=[])["ids"])

    def count(self) -> int:
        with self._use() as col:
            return int(col.count())

    def query(
        self, vector: np.ndarray, n: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """Chunk ids nearest to ``vector`` (among those matching ``where``), best first."""
        with self._use() as col:
            res = col.query(
                query_embeddings=[vector], n_results=n, include=["distances"], where=where
            )
        ids = res["ids"][0]
        dists = res["distances"][0] if res.get("distances") else [1.0] * len(ids)
        return [(cid, 1.0 - float(d)) for cid, d in zip(ids, dists, strict=True)]

    def query_meta(
        self, vector: np.ndarray, n: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float, Mapping[str, Any]]]:
        """``query`` with each chunk's metadata (its language, word count, ...)."""
        with self._use() as col:
            res = col.query(
                query_embeddings=[vector],
                n_results=n,
                include=["distances", "metadatas"],
                where=where,
            )
        ids = res["ids"][0]
        dists = res["distances"][0] if res.get("distances") else [1.0] * len(ids)
        metas = (res.get("metadatas") or [[{}] * len(ids)])[0]
        return [(cid, 1.0 - float(d), m or {}) for cid, d, m in zip(ids, dists, metas, strict=True)]

    def embeddings(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those of ``ids`` that Chroma holds (others are left out)."""
        if not ids:
            return {}
        with self._use() as col:
            got = col.get(ids=list(ids), include=["embeddings"])
        found = got["ids"]
        if not found:
            return {}
        vecs = np.asarray(got["embeddings"], dtype=np.float32).reshape(len(found), -1)
        return dict(zip(found, vecs, strict=True))


# --- server mode: the server is the index ------------------------------------------------------


@dataclass(frozen=True)
class StoredArticle(Article):
    """An article read back from the server: its text is not there, its content hash is."""

    stored_hash: str = ""

    @property
    def content_hash(self) -> str:
        return self.stored_hash


@dataclass(frozen=True)
class ServerVersion:
    """One complete version of an article on the server (every chunk present)."""

    generation: int
    item: Embedded
    sketch: np.ndarray | None


@dataclass(frozen=True)
class IndexState:
    """The collection's identity and its metadata: the published generation and the lease."""

    collection_id: str
    generation: int
    lease_owner: str | None
    lease_until: float


def lease_owner_id() -> str:
    """Who holds a lease: host, process and a token unique to this run."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


class ServerIndex:
    """Server mode's view of the collection as the index itself.

    Every chunk record carries its text (the document), its sentence spans and vectors, its
    article's metadata and content hash, and the generation it was written in. The collection's
    metadata holds the last *published* generation: a reindex upserts a batch stamped with
    ``published + 1``, then publishes it, then deletes what the batch superseded. Readers copy
    records of generations they have not seen into their local cache; records of an
    unpublished generation (a reindex killed before publishing) are never read, and the next
    reindex sweeps them. Two reindexes of one index are kept apart by a lease in the same
    metadata (``acquire``): the second is refused.
    """

    def __init__(self, vectors: Vectors) -> None:
        self.vectors = vectors
        self.settings = vectors.settings

    def state(self) -> IndexState:
        """The collection's metadata as the server has it now (one request)."""
        with self.vectors._use() as col:
            fresh = self.vectors.client().get_collection(col.name)
        meta = fresh.metadata or {}
        return IndexState(
            collection_id=str(fresh.id),
            generation=int(meta.get("generation", 0)),
            lease_owner=meta.get("lease_owner") or None,
            lease_until=float(meta.get("lease_until", 0.0)),
        )

    def _set(self, generation: int, owner: str | None, until: float) -> None:
        meta: dict[str, Any] = {
            "embed_model": self.settings.embed_model,
            "generation": generation,
            "lease_owner": owner or "",
            "lease_until": until,
        }
        with self.vectors._use(write=True) as col:
            col.modify(metadata=meta)  # replaces the whole metadata (chromadb 1.5.9)

    def acquire(self, owner: str, settle: float = 0.5) -> IndexState:
        """Take the index's lease or raise ``IndexBusy``. Chroma has no compare-and-set, so the
        lease is written, then read back after ``settle`` seconds: of two runs racing, both
        read the last writer's name and only it goes on."""
        state = self.state()
        now = time.time()
        held = state.lease_owner and state.lease_owner != owner and state.lease_until > now
        if held and not _died_here(state.lease_owner or ""):
            raise IndexBusy(_busy_message(self.settings.index_name, state, now))
        self._set(state.generation, owner, now + self.settings.lease_seconds)
        time.sleep(settle)
        after = self.state()
        if after.lease_owner != owner:
            raise IndexBusy(_busy_message(self.settings.index_name, after, time.time()))
        return after

    def publish(self, generation: int, owner: str) -> None:
        """Make ``generation`` visible to readers and renew the lease; refuses (``IndexBusy``)
        when another run took the lease meanwhile (this one stalled past its lease)."""
        state = self.state()
        if state.lease_owner and state.lease_owner != owner:
            raise IndexBusy(_busy_message(self.settings.index_name, state, time.time()))
        until = time.time() + self.settings.lease_seconds
        self._set(max(generation, state.generation), owner, until)

    def release(self, owner: str) -> None:
        state = self.state()
        if state.lease_owner == owner:
            self._set(state.generation, None, 0.0)

    def versions(self, after: int, upto: int) -> list[ServerVersion]:
        """Complete article versions written in generations ``after < gen <= upto``; per
        article, the newest (a version missing a chunk is left out)."""
        where = {"$and": [{"gen": {"$gt": after}}, {"gen": {"$lte": upto}}]}
        rows: list[tuple[str, str, dict[str, Any], np.ndarray]] = []
        offset = 0
        while True:
            with self.vectors._use() as col:
                got = col.get(
                    where=where,
                    include=["documents", "metadatas", "embeddings"],
                    limit=2000,
                    offset=offset,
                )
            if not got["ids"]:
                break
            embs = np.asarray(got["embeddings"], dtype=np.float32).reshape(len(got["ids"]), -1)
            rows.extend(zip(got["ids"], got["documents"], got["metadatas"], embs, strict=True))
            offset += len(got["ids"])
        groups: dict[tuple[str, str], list[tuple[str, str, dict[str, Any], np.ndarray]]] = {}
        for row in rows:
            meta = row[2]
            if "content_hash" not in meta:  # written before the server was the index
                continue
            groups.setdefault((meta["article_id"], meta["content_hash"]), []).append(row)
        newest: dict[str, ServerVersion] = {}
        for (article_id, _), parts in groups.items():
            parts.sort(key=lambda r: int(r[2]["ordinal"]))
            meta0 = parts[0][2]
            if [int(r[2]["ordinal"]) for r in parts] != list(range(int(meta0["n_chunks"]))):
                continue
            version = _version(parts)
            if article_id not in newest or version.generation > newest[article_id].generation:
                newest[article_id] = version
        return list(newest.values())


def _version(parts: list[tuple[str, str, dict[str, Any], np.ndarray]]) -> ServerVersion:
    meta0 = parts[0][2]
    article = StoredArticle(
        id=meta0["article_id"], text="", title=meta0.get("title"), source=meta0.get("source"),
        url=meta0.get("url"), published=meta0.get("published"), language=meta0.get("language"),
        path=meta0.get("path"), stored_hash=meta0["content_hash"],
    )  # fmt: skip
    chunks: list[Chunk] = []
    sent_vecs: list[np.ndarray] = []
    dim = parts[0][3].shape[0]
    for cid, doc, meta, _ in parts:
        spans = tuple((int(a), int(b)) for a, b in json.loads(meta["sentences"]))
        chunks.append(
            Chunk(cid, article.id, int(meta["ordinal"]), doc or "", int(meta["start"]),
                  int(meta["end"]), spans)
        )  # fmt: skip
        raw = np.frombuffer(base64.b64decode(meta["sent_vecs"]), dtype=np.float32)
        sent_vecs.append(raw.reshape(len(spans), dim) if spans else np.zeros((0, dim), np.float32))
    sketch = meta0.get("sketch")
    return ServerVersion(
        generation=max(int(r[2]["gen"]) for r in parts),
        item=Embedded(
            article=article,
            root=meta0.get("root", ""),
            file_key=meta0.get("file_key", ""),
            chunks=chunks,
            vectors=np.vstack([r[3] for r in parts]),
            sentence_vectors=sent_vecs,
        ),
        sketch=np.frombuffer(base64.b64decode(sketch), dtype=np.uint64) if sketch else None,
    )


def _died_here(owner: str) -> bool:
    """Whether a lease's owner was a process of this machine that is gone (killed): its lease
    need not be waited out."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _busy_message(name: str, state: IndexState, now: float) -> str:
    left = max(0, round(state.lease_until - now))
    return (
        f"another reindex of index {name!r} is running ({state.lease_owner}); "
        f"try again when it ends (its lease lapses in {left} s if it died)"
    )
