"""The Chroma side of the index: one collection of chunk vectors per embedding model and chunking.

Everything else (which articles and chunks the index holds, sentence vectors, the lexical
table) is in the SQLite manifest beside it (index/manifest.py), the source of truth for "what
is indexed"; the two do not import each other, and index/reindex.py orders their writes.

chromadb is imported only when vectors are read or written, so a no-op reindex never pays its
import.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from index.chunking import Embedded
from index.dates import published_epoch
from index.errors import ConfigError, StoreUnavailable
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
            self.path.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        return self._fd

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
        key = str(self.path)
        getattr(SharedSystemClient, "_identifier_to_system", {}).pop(key, None)
        getattr(SharedSystemClient, "_identifier_to_refcount", {}).pop(key, None)
        self._client = chromadb.PersistentClient(
            path=key, settings=ChromaSettings(anonymized_telemetry=False)
        )
        self.generation += 1
        if self.generation > 1:
            logger.debug("re-opened Chroma at %s: another process wrote to it", key)


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
        try:
            return chromadb.HttpClient(
                host=parsed.hostname,
                port=port,
                ssl=parsed.scheme == "https",
                settings=ChromaSettings(anonymized_telemetry=False),
            )
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
        except (ConfigError, StoreUnavailable):
            raise
        except Exception as exc:
            self._collection = None  # connect afresh next time (a restarted server, a new id)
            if embedded is not None:
                embedded.forget()
            raise StoreUnavailable(
                f"the index is unavailable ({type(exc).__name__} at {self.where}); "
                "try again shortly"
            ) from exc

    def collection(self) -> Any:
        """The Chroma collection, for one-off use (embedded: unguarded once returned)."""
        with self._use() as col:
            return col

    def upsert(self, items: Sequence[Embedded]) -> None:
        ids: list[str] = []
        vecs: list[np.ndarray] = []
        metas: list[dict[str, Any]] = []
        for item in items:
            meta: dict[str, Any] = dict(item.article.metadata())
            # Numbers and normalised keys for Chroma `where` filters (see index/filters.py).
            epoch = published_epoch(item.article.published)
            if epoch is not None:
                meta["published_epoch"] = epoch
            if item.article.source:
                meta["source_key"] = source_key(item.article.source)
            for chunk, vec in zip(item.chunks, item.vectors, strict=True):
                ids.append(chunk.id)
                vecs.append(vec)
                # "words": retrieval draws candidates among substantial chunks too, so that
                # thousands of one-line articles cannot fill every place (bot/retrieve.py).
                words = len(chunk.text.split())
                metas.append({**meta, "ordinal": chunk.ordinal, "words": words})
        step = 4000  # below Chroma's max batch (5,461 here)
        for i in range(0, len(ids), step):
            with self._use(write=True) as col:
                col.upsert(
                    ids=ids[i : i + step],
                    embeddings=np.vstack(vecs[i : i + step]),
                    metadatas=metas[i : i + step],
                )

    def delete(self, ids: Sequence[str]) -> None:
        for i in range(0, len(ids), 4000):
            with self._use(write=True) as col:
                col.delete(ids=list(ids[i : i + 4000]))

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
