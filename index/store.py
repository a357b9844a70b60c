"""Where the index lives: Chroma for vectors, a SQLite manifest beside it for everything else.

The manifest (``Settings.manifest_path``) records which articles and chunks the index holds, their
content hashes, each chunk's sentence spans and sentence vectors, and a full-text (FTS5) table for
the lexical channel. It is the source of truth for "what is indexed": a chunk in Chroma that the
manifest does not list is an orphan of an interrupted run, never shown and swept on the next run.

Order of writes for an article: vectors into Chroma first, then one SQLite transaction that swaps
the article's rows, then the old vectors out of Chroma. A kill at any point leaves every article
either wholly old or wholly new, and the previous index answering.

chromadb is imported only when vectors are read or written, so a no-op reindex and ``status``
never pay its import.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from index.articles import Article
from index.chunking import Chunk
from index.dates import published_epoch
from index.errors import ConfigError, StoreUnavailable
from index.filters import Filters, source_key
from index.settings import Settings
from index.text import match_tokens, query_terms

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows: embedded readers there are unguarded
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS files (
    root TEXT, key TEXT, raw_hash TEXT, article_ids TEXT, PRIMARY KEY (root, key));
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, root TEXT, file_key TEXT, content_hash TEXT, title TEXT, source TEXT,
    url TEXT, published TEXT, language TEXT, path TEXT, n_chunks INTEGER, indexed_at REAL,
    published_epoch INTEGER, source_key TEXT);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, article_id TEXT, ordinal INTEGER, text TEXT, start INTEGER,
    "end" INTEGER, sentences TEXT, sent_vecs BLOB);
CREATE INDEX IF NOT EXISTS chunks_by_article ON chunks(article_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    tokens, chunk_id UNINDEXED, tokenize = 'unicode61 remove_diacritics 0');
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts_vocab USING fts5vocab(chunks_fts, 'row');
"""

# Bumped whenever match_tokens changes what is stored: opening an older manifest re-tokenises
# its chunks (2: English plurals; 3: apostrophes inside words, "Israel's" is "israel").
LEXICAL_VERSION = "3"


def fts_tokens(title: str | None, text: str) -> str:
    """What the FTS table holds for a chunk: its article title's and its own matching tokens."""
    return " ".join(match_tokens(" ".join(filter(None, [title, text]))))


# A query term found in more than this share of the chunks (and in more than COMMON_TERM_MIN of
# them) is too common to rank by; see Manifest.lexical.
COMMON_TERM_SHARE = 0.05
COMMON_TERM_MIN = 50


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as read back from the index, with its article's metadata."""

    id: str
    article_id: str
    ordinal: int
    text: str
    sentences: tuple[tuple[int, int], ...]
    sent_vecs: np.ndarray
    title: str | None
    source: str | None
    url: str | None
    published: str | None
    language: str | None
    path: str | None


@dataclass(frozen=True)
class Embedded:
    """An article ready to write: its chunks, chunk vectors and per-chunk sentence vectors."""

    article: Article
    root: str
    file_key: str
    chunks: list[Chunk]
    vectors: np.ndarray
    sentence_vectors: list[np.ndarray]


class Manifest:
    """The SQLite side of the index."""

    def __init__(self, path: Path, create: bool = True) -> None:
        self.path = path
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.exists():
            raise FileNotFoundError(path)
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        if self.get_meta("lexical_version") != LEXICAL_VERSION:
            self._rebuild_lexical()
        columns = {r[1] for r in self.db.execute("PRAGMA table_info(articles)")}
        for column, kind in (("published_epoch", "INTEGER"), ("source_key", "TEXT")):
            if column not in columns:  # a manifest written before date and source filters
                self.db.execute(f"ALTER TABLE articles ADD COLUMN {column} {kind}")

    def close(self) -> None:
        self.db.close()

    def _rebuild_lexical(self) -> None:
        """Re-tokenise every chunk into the FTS table: the matching rules changed since it was
        written (``LEXICAL_VERSION``). No vectors are touched; 100,000 chunks take seconds."""
        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            if self.get_meta("lexical_version") != LEXICAL_VERSION:  # or another process did it
                rows = cur.execute(
                    "SELECT c.id, a.title, c.text FROM chunks c JOIN articles a "
                    "ON a.id = c.article_id"
                ).fetchall()
                if rows:
                    logger.info("re-tokenising %d chunks for the lexical index", len(rows))
                    cur.execute("DELETE FROM chunks_fts")
                    cur.executemany(
                        "INSERT INTO chunks_fts (tokens, chunk_id) VALUES (?, ?)",
                        [(fts_tokens(title, text), cid) for cid, title, text in rows],
                    )
                self.set_meta("lexical_version", LEXICAL_VERSION)
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    # meta
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def get_vectors(self, key: str) -> np.ndarray | None:
        row = self.db.execute("SELECT value FROM blobs WHERE key = ?", (key,)).fetchone()
        return None if row is None else np.frombuffer(row[0], dtype=np.float32)

    def set_vectors(self, key: str, value: np.ndarray) -> None:
        data = np.ascontiguousarray(value, dtype=np.float32).tobytes()
        self.db.execute("INSERT OR REPLACE INTO blobs VALUES (?, ?)", (key, data))

    # files and articles
    def file_hashes(self, root: str) -> dict[str, tuple[str, list[str]]]:
        rows = self.db.execute(
            "SELECT key, raw_hash, article_ids FROM files WHERE root = ?", (root,)
        )
        return {key: (h, json.loads(ids)) for key, h, ids in rows}

    def set_file(self, root: str, key: str, raw_hash: str, article_ids: list[str]) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?)",
            (root, key, raw_hash, json.dumps(article_ids)),
        )

    def forget_files(self, root: str, keys: Iterable[str]) -> None:
        self.db.executemany(
            "DELETE FROM files WHERE root = ? AND key = ?", [(root, k) for k in keys]
        )

    def article_hashes(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT id, content_hash FROM articles"))

    def articles_under(self, root: str) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM articles WHERE root = ?", (root,))]

    def move_article(self, article_id: str, root: str, file_key: str) -> None:
        self.db.execute(
            "UPDATE articles SET root = ?, file_key = ? WHERE id = ?", (root, file_key, article_id)
        )

    def chunk_ids_of(self, article_ids: Sequence[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {a: [] for a in article_ids}
        for i in range(0, len(article_ids), 500):
            part = list(article_ids[i : i + 500])
            marks = ",".join("?" * len(part))
            rows = self.db.execute(
                f"SELECT article_id, id FROM chunks WHERE article_id IN ({marks})", part
            )
            for article_id, chunk in rows:
                out[article_id].append(chunk)
        return out

    def all_chunk_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT id FROM chunks")}

    def counts(self) -> tuple[int, int]:
        articles = self.db.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
        chunks = self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return int(articles), int(chunks)

    def newest_article(self) -> tuple[str | None, str | None]:
        row = self.db.execute(
            "SELECT title, published FROM articles WHERE published IS NOT NULL "
            "ORDER BY published DESC LIMIT 1"
        ).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def write_articles(self, items: Sequence[Embedded]) -> None:
        """Swap the rows of each article in one transaction."""
        now = time.time()
        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            for item in items:
                a = item.article
                self._delete_rows(cur, [a.id])
                cur.execute(
                    "INSERT OR REPLACE INTO articles VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (a.id, item.root, item.file_key, a.content_hash, a.title, a.source, a.url,
                     a.published, a.language, a.path, len(item.chunks), now,
                     published_epoch(a.published), source_key(a.source) if a.source else None),
                )  # fmt: skip
                for chunk, svecs in zip(item.chunks, item.sentence_vectors, strict=True):
                    cur.execute(
                        "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?)",
                        (chunk.id, a.id, chunk.ordinal, chunk.text, chunk.start, chunk.end,
                         json.dumps(chunk.sentences),
                         np.ascontiguousarray(svecs, dtype=np.float32).tobytes()),
                    )  # fmt: skip
                    cur.execute(
                        "INSERT INTO chunks_fts (tokens, chunk_id) VALUES (?, ?)",
                        (fts_tokens(a.title, chunk.text), chunk.id),
                    )
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    def delete_articles(self, article_ids: Sequence[str]) -> None:
        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            self._delete_rows(cur, article_ids)
            for i in range(0, len(article_ids), 500):
                part = list(article_ids[i : i + 500])
                marks = ",".join("?" * len(part))
                cur.execute(f"DELETE FROM articles WHERE id IN ({marks})", part)
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    @staticmethod
    def _delete_rows(cur: sqlite3.Cursor, article_ids: Sequence[str]) -> None:
        for i in range(0, len(article_ids), 500):
            part = list(article_ids[i : i + 500])
            marks = ",".join("?" * len(part))
            cur.execute(
                f"DELETE FROM chunks_fts WHERE chunk_id IN "
                f"(SELECT id FROM chunks WHERE article_id IN ({marks}))",
                part,
            )
            cur.execute(f"DELETE FROM chunks WHERE article_id IN ({marks})", part)

    # reading
    def chunks(self, ids: Sequence[str]) -> dict[str, StoredChunk]:
        """The listed chunks that the index holds (orphans and unknown ids are left out)."""
        out: dict[str, StoredChunk] = {}
        for i in range(0, len(ids), 500):
            part = list(ids[i : i + 500])
            marks = ",".join("?" * len(part))
            rows = self.db.execute(
                "SELECT c.id, c.article_id, c.ordinal, c.text, c.sentences, c.sent_vecs, "
                "a.title, a.source, a.url, a.published, a.language, a.path "
                f"FROM chunks c JOIN articles a ON a.id = c.article_id WHERE c.id IN ({marks})",
                part,
            )
            for row in rows:
                spans = tuple((int(a), int(b)) for a, b in json.loads(row[4]))
                vecs = np.frombuffer(row[5], dtype=np.float32)
                dim = vecs.size // max(len(spans), 1)
                out[row[0]] = StoredChunk(
                    id=row[0], article_id=row[1], ordinal=row[2], text=row[3],
                    sentences=spans,
                    sent_vecs=vecs.reshape(len(spans), dim) if spans else vecs.reshape(0, 0),
                    title=row[6], source=row[7], url=row[8], published=row[9],
                    language=row[10], path=row[11],
                )  # fmt: skip
        return out

    def _selective(self, tokens: list[str]) -> list[str]:
        """``tokens`` without the very common ones (the two rarest kept if all are common)."""
        if len(tokens) <= 1:
            return tokens
        size = self.db.execute("SELECT max(rowid) FROM chunks_fts").fetchone()[0] or 0
        marks = ",".join("?" * len(tokens))
        df = dict(
            self.db.execute(
                f"SELECT term, doc FROM chunks_fts_vocab WHERE term IN ({marks})", tokens
            )
        )
        cap = max(COMMON_TERM_SHARE * size, COMMON_TERM_MIN)
        kept = [t for t in tokens if df.get(t, 0) <= cap]
        return kept or sorted(tokens, key=lambda t: df.get(t, 0))[:2]

    def lexical(
        self, question: str, limit: int, filters: Filters | None = None
    ) -> list[tuple[str, float]]:
        """Chunk ids ranked by BM25 over normalised tokens, best first, with positive scores.

        Stopwords, and any term in more than ``COMMON_TERM_SHARE`` of the chunks, are left out
        of the query: such terms barely move BM25 but make FTS5 score most of the table (at
        100,000 chunks, 215 ms a query with them against a few ms without).
        """
        tokens = self._selective(query_terms(question))
        if not tokens:
            return []
        query = " OR ".join('"' + t.replace('"', "") + '"' for t in tokens)
        if filters:
            where, params = filters.sql("a")
            rows = self.db.execute(
                "SELECT chunk_id, bm25(chunks_fts) AS score FROM chunks_fts "
                "JOIN chunks c ON c.id = chunks_fts.chunk_id "
                "JOIN articles a ON a.id = c.article_id "
                f"WHERE chunks_fts MATCH ? AND {where} ORDER BY score LIMIT ?",
                (query, *params, limit),
            )
        else:
            rows = self.db.execute(
                "SELECT chunk_id, bm25(chunks_fts) AS score FROM chunks_fts "
                "WHERE chunks_fts MATCH ? ORDER BY score LIMIT ?",
                (query, limit),
            )
        return [(cid, -float(score)) for cid, score in rows]


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
                metas.append({**meta, "ordinal": chunk.ordinal})
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


def background_vectors(manifest: Manifest, embedder: Any) -> np.ndarray:
    """The background sentences' vectors for this model, embedded once and kept in the manifest."""
    from index.embedding import background_sentences

    key = f"background:{embedder.name}"
    cached = manifest.get_vectors(key)
    if cached is not None and cached.size % embedder.dim == 0 and cached.size:
        return cached.reshape(-1, embedder.dim)
    vecs = embedder.passages(background_sentences())
    manifest.set_vectors(key, vecs)
    return vecs


def open_manifest(settings: Settings, create: bool = False) -> Manifest | None:
    """The manifest, or None when no index has been built with these settings."""
    path = settings.manifest_path
    if not create and not path.exists():
        return None
    return Manifest(path, create=True)
