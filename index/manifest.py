"""The SQLite side of the index: the manifest, beside Chroma, holding everything but the vectors.

The manifest (``Settings.manifest_path``) records which articles and chunks the index holds, their
content hashes, each chunk's sentence spans and sentence vectors, a full-text (FTS5) table for
the lexical channel, and each article's MinHash sketch and near-duplicate cluster
(index/dedupe.py computes them; this module stores them). It is the source of truth for "what is
indexed": a chunk in Chroma that the manifest does not list is an orphan of an interrupted run,
never shown and swept on the next run.

Order of writes for an article (index/reindex.py): vectors into Chroma first (index/store.py),
then one SQLite transaction that swaps the article's rows, then the old vectors out of Chroma. A
kill at any point leaves every article either wholly old or wholly new, and the previous index
answering.

This module is the schema's one owner: other rooms call its methods, never its connection
(``Manifest.db`` is there for tests to look inside).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index import dedupe
from index.chunking import Embedded
from index.dates import published_epoch
from index.embedding import Embedder, background_sentences
from index.errors import DiskFull, ManifestDamaged, StoreReadOnly
from index.filters import Filters, source_key
from index.settings import Settings
from index.text import match_tokens, query_terms

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
CREATE TABLE IF NOT EXISTS sketches (
    article_id TEXT PRIMARY KEY, signature BLOB, cluster TEXT);
CREATE INDEX IF NOT EXISTS sketches_by_cluster ON sketches(cluster);
CREATE TABLE IF NOT EXISTS centroids (
    language TEXT PRIMARY KEY, n_chunks INTEGER, chunk_sum BLOB, n_sents INTEGER, sent_sum BLOB);
"""

# Per-article vector sums (for the per-language centroids): added to manifests written before.
ARTICLE_SUMS = (("chunk_sum", "BLOB"), ("n_sents", "INTEGER"), ("sent_sum", "BLOB"))

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


class Manifest:
    """The SQLite side of the index."""

    def __init__(self, path: Path, create: bool = True) -> None:
        self.path = path
        self.read_only = False
        # Called (at most every few seconds, by the caller's choice) before a read: server
        # mode refreshes this cache from the server there (index/cache.py).
        self.refresher: Callable[[], None] | None = None
        if create:
            with storage_errors(path):
                path.parent.mkdir(parents=True, exist_ok=True)
        elif not path.exists():
            raise FileNotFoundError(path)
        try:
            with storage_errors(path):
                self.db = self._connect(path)
        except sqlite3.DatabaseError as exc:
            if not _is_corrupt(exc):
                raise
            raise damaged(path, exc) from None

    def _connect(self, path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
        except sqlite3.OperationalError as exc:
            if not _is_read_only(exc) or not path.exists():
                db.close()
                raise
            db.close()
            return self._connect_read_only(path)
        self.db = db
        if self.get_meta("lexical_version") != LEXICAL_VERSION:
            self._rebuild_lexical()
        columns = {r[1] for r in db.execute("PRAGMA table_info(articles)")}
        added = (("published_epoch", "INTEGER"), ("source_key", "TEXT"), *ARTICLE_SUMS)
        for column, kind in added:
            if column not in columns:  # a manifest written before filters or centroids
                db.execute(f"ALTER TABLE articles ADD COLUMN {column} {kind}")
        if "chunk_sum" not in columns and self.counts()[0]:
            self.set_meta("centroids_pending", "1")  # the next reindex fills the sums in
        db.execute("SELECT count(*) FROM chunks_fts").fetchone()  # a damaged file fails here
        return db

    def _connect_read_only(self, path: Path) -> sqlite3.Connection:
        """A store folder (or file) that cannot be written: read it as it is. ``immutable``
        because a WAL database needs its -shm file, which a read-only folder may not have."""
        db = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True, timeout=30,
                             isolation_level=None)  # fmt: skip
        db.execute("SELECT count(*) FROM chunks").fetchone()
        self.read_only = True
        logger.info("%s cannot be written: opened read-only", path)
        return db

    def close(self) -> None:
        self.db.close()

    def ask_for_repair(self) -> None:
        """Have the next reindex compare every id with the vectors (and mend), even when it
        finds nothing to embed; quietly nothing when this manifest cannot be written."""
        if not self.read_only:
            with contextlib.suppress(sqlite3.Error):
                self.set_meta("repair", "1")

    def refresh(self) -> None:
        if self.refresher is not None:
            self.refresher()

    def clear(self) -> None:
        """Forget every article (a server-mode cache starting over); cached model vectors stay."""
        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            for table in ("files", "articles", "chunks", "chunks_fts", "sketches", "centroids"):
                cur.execute(f"DELETE FROM {table}")
            cur.execute("DELETE FROM meta WHERE key != 'lexical_version'")
            cur.execute("COMMIT")
        except BaseException:
            _rollback(cur)
            raise

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
            _rollback(cur)
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

    def articles_of_chunks(self, chunk_ids: Sequence[str]) -> set[str]:
        out: set[str] = set()
        for i in range(0, len(chunk_ids), 500):
            part = list(chunk_ids[i : i + 500])
            marks = ",".join("?" * len(part))
            rows = self.db.execute(f"SELECT article_id FROM chunks WHERE id IN ({marks})", part)
            out.update(r[0] for r in rows)
        return out

    def sample_chunk_ids(self, n: int) -> list[str]:
        """Up to ``n`` chunk ids picked at random (for a quick integrity look)."""
        rows = self.db.execute("SELECT id FROM chunks ORDER BY random() LIMIT ?", (n,))
        return [r[0] for r in rows]

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

    def list_articles(
        self, filters: Filters | None = None, limit: int = 10, oldest_first: bool = False
    ) -> list[dict[str, str | None]]:
        """Articles passing ``filters``, newest first (undated last), or oldest first: their
        id, title, source, published, url, language and first chunk id (for a lead sentence)."""
        where, params = filters.sql("a") if filters else ("1", [])
        order = "ASC" if oldest_first else "DESC"
        rows = self.db.execute(
            "SELECT a.id, a.title, a.source, a.published, a.url, a.language, "
            "(SELECT c.id FROM chunks c WHERE c.article_id = a.id ORDER BY c.ordinal LIMIT 1) "
            f"FROM articles a WHERE {where} "
            f"ORDER BY a.published_epoch IS NULL, a.published_epoch {order}, a.id LIMIT ?",
            (*params, limit),
        )
        keys = ("id", "title", "source", "published", "url", "language", "first_chunk")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def sources(self) -> list[tuple[str, int, str | None]]:
        """Each outlet (as first spelled), its article count and newest date, the biggest first."""
        rows = self.db.execute(
            "SELECT MIN(source), COUNT(*), MAX(published_epoch) FROM articles "
            "WHERE source_key IS NOT NULL GROUP BY source_key ORDER BY COUNT(*) DESC, MIN(source)"
        )
        out = []
        for name, count, epoch in rows:
            newest = self.db.execute(
                "SELECT published FROM articles WHERE published_epoch = ? LIMIT 1", (epoch,)
            ).fetchone()
            out.append((str(name), int(count), newest[0] if newest else None))
        return out

    def write_articles(self, items: Sequence[Embedded]) -> None:
        """Swap the rows of each article in one transaction."""
        now = time.time()
        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            for item in items:
                a = item.article
                self._uncount(cur, [a.id])
                self._delete_rows(cur, [a.id])
                chunk_sum, n_sents, sent_sum = _sums(item)
                cur.execute(
                    "INSERT OR REPLACE INTO articles (id, root, file_key, content_hash, title, "
                    "source, url, published, language, path, n_chunks, indexed_at, "
                    "published_epoch, source_key, chunk_sum, n_sents, sent_sum) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (a.id, item.root, item.file_key, a.content_hash, a.title, a.source, a.url,
                     a.published, a.language, a.path, len(item.chunks), now,
                     published_epoch(a.published), source_key(a.source) if a.source else None,
                     chunk_sum.tobytes(), n_sents, sent_sum.tobytes()),
                )  # fmt: skip
                _count(cur, a.language, len(item.chunks), chunk_sum, n_sents, sent_sum, +1)
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
            _rollback(cur)
            raise

    def delete_articles(self, article_ids: Sequence[str]) -> None:
        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            self._uncount(cur, article_ids)
            self._delete_rows(cur, article_ids)
            for i in range(0, len(article_ids), 500):
                part = list(article_ids[i : i + 500])
                marks = ",".join("?" * len(part))
                cur.execute(f"DELETE FROM articles WHERE id IN ({marks})", part)
            cur.execute("COMMIT")
        except BaseException:
            _rollback(cur)
            raise

    @staticmethod
    def _uncount(cur: sqlite3.Cursor, article_ids: Sequence[str]) -> None:
        """Take these articles' vectors out of their language's centroid (before deleting)."""
        for i in range(0, len(article_ids), 500):
            part = list(article_ids[i : i + 500])
            marks = ",".join("?" * len(part))
            rows = cur.execute(
                "SELECT language, n_chunks, chunk_sum, n_sents, sent_sum FROM articles "
                f"WHERE id IN ({marks}) AND chunk_sum IS NOT NULL",
                part,
            ).fetchall()
            for language, n_chunks, chunk_sum, n_sents, sent_sum in rows:
                chunk_vec = np.frombuffer(chunk_sum, dtype=np.float64)
                sent_vec = np.frombuffer(sent_sum, dtype=np.float64)
                _count(cur, language, n_chunks, chunk_vec, n_sents, sent_vec, -1)

    def centroids(self) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
        """Per article language (None is "und"): the mean chunk vector, the mean sentence
        vector, and the chunk count, so a question's mean cosine over all chunks of a language
        is ``q @ mean``. Sums are kept up to date by every write and delete: this reads a row
        per language, whatever the size of the index.

        Articles written before the sums existed count only once ``fill_centroids`` has given
        them theirs (the reindex does, from the stored vectors).
        """
        out: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
        rows = self.db.execute(
            "SELECT language, n_chunks, chunk_sum, n_sents, sent_sum FROM centroids "
            "WHERE n_chunks > 0"
        )
        for language, n_chunks, chunk_sum, n_sents, sent_sum in rows:
            chunk_mean = np.frombuffer(chunk_sum, dtype=np.float64) / n_chunks
            sent_mean = np.frombuffer(sent_sum, dtype=np.float64) / max(n_sents, 1)
            out[language] = (
                chunk_mean.astype(np.float32),
                sent_mean.astype(np.float32),
                int(n_chunks),
            )
        return out

    def articles_without_sums(self) -> dict[str, list[str]]:
        """Chunk ids of the articles indexed before vector sums were kept (see centroids)."""
        ids = [r[0] for r in self.db.execute("SELECT id FROM articles WHERE chunk_sum IS NULL")]
        return self.chunk_ids_of(ids)

    def fill_centroids(self, chunk_vectors: dict[str, np.ndarray]) -> int:
        """Give the articles without sums theirs, from their stored chunk vectors (Chroma's)
        and their sentence vectors (here). An article missing a chunk vector is left for a
        later run. Returns how many articles were filled."""
        missing = self.articles_without_sums()
        filled = 0
        cur = self.db.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            for article_id, chunk_ids in missing.items():
                if not chunk_ids or any(c not in chunk_vectors for c in chunk_ids):
                    continue
                chunk_sum = (
                    np.vstack([chunk_vectors[c] for c in chunk_ids]).astype(np.float64).sum(axis=0)
                )
                dim = chunk_sum.shape[0]
                sent_sum = np.zeros(dim, dtype=np.float64)
                n_sents = 0
                for (blob,) in cur.execute(
                    "SELECT sent_vecs FROM chunks WHERE article_id = ?", (article_id,)
                ).fetchall():
                    vecs = np.frombuffer(blob, dtype=np.float32).reshape(-1, dim)
                    sent_sum += vecs.sum(axis=0, dtype=np.float64)
                    n_sents += len(vecs)
                language = cur.execute(
                    "SELECT language FROM articles WHERE id = ?", (article_id,)
                ).fetchone()[0]
                cur.execute(
                    "UPDATE articles SET chunk_sum = ?, n_sents = ?, sent_sum = ? WHERE id = ?",
                    (chunk_sum.tobytes(), n_sents, sent_sum.tobytes(), article_id),
                )
                _count(cur, language, len(chunk_ids), chunk_sum, n_sents, sent_sum, +1)
                filled += 1
            cur.execute("COMMIT")
        except BaseException:
            _rollback(cur)
            raise
        return filled

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

    # near-duplicates (index/dedupe.py)
    def record_sketches(self, items: Iterable[tuple[str, str]]) -> None:
        """Store the sketches of ``(article id, text)``; clusters are set by ``recluster``."""
        rows = [(aid, dedupe.sketch(text).tobytes(), aid) for aid, text in items]
        self.db.executemany(
            "INSERT OR REPLACE INTO sketches (article_id, signature, cluster) VALUES (?, ?, ?)",
            rows,
        )

    def set_sketches(self, items: Iterable[tuple[str, np.ndarray]]) -> None:
        """Store sketches computed elsewhere (a server-mode cache copies the server's)."""
        rows = [(aid, np.asarray(sig, dtype=np.uint64).tobytes(), aid) for aid, sig in items]
        self.db.executemany(
            "INSERT OR REPLACE INTO sketches (article_id, signature, cluster) VALUES (?, ?, ?)",
            rows,
        )

    def recluster(self) -> int:
        """Recompute every cluster from the stored sketches; returns how many clusters have 2+.

        Sketches of deleted articles are dropped; articles indexed before sketches existed get
        one from their stored chunks.
        """
        db = self.db
        db.execute("DELETE FROM sketches WHERE article_id NOT IN (SELECT id FROM articles)")
        missing = [
            r[0]
            for r in db.execute(
                "SELECT id FROM articles WHERE id NOT IN (SELECT article_id FROM sketches)"
            )
        ]
        for aid in missing:
            texts = [
                r[0]
                for r in db.execute(
                    "SELECT text FROM chunks WHERE article_id = ? ORDER BY ordinal", (aid,)
                )
            ]
            self.record_sketches([(aid, "\n".join(texts))])
        signatures = {
            aid: np.frombuffer(sig, dtype=np.uint64)
            for aid, sig in db.execute("SELECT article_id, signature FROM sketches")
        }
        found = dedupe.clusters(signatures)
        old = dict(db.execute("SELECT article_id, cluster FROM sketches"))
        changed = [(c, aid) for aid, c in found.items() if old.get(aid) != c]
        if changed:
            db.executemany("UPDATE sketches SET cluster = ? WHERE article_id = ?", changed)
        sizes: dict[str, int] = {}
        for c in found.values():
            sizes[c] = sizes.get(c, 0) + 1
        multi = sum(1 for n in sizes.values() if n > 1)
        logger.info("dedupe: %d articles, %d clusters of 2 or more", len(found), multi)
        return multi

    def cluster_of(self, article_ids: Sequence[str]) -> dict[str, str]:
        """The cluster id of each listed article (its own id when it has no near-duplicate)."""
        out = {a: a for a in article_ids}
        for i in range(0, len(article_ids), 500):
            part = list(article_ids[i : i + 500])
            marks = ",".join("?" * len(part))
            rows = self.db.execute(
                f"SELECT article_id, cluster FROM sketches WHERE article_id IN ({marks})", part
            )
            out.update({aid: c for aid, c in rows if c})
        return out

    # reading
    def chunks(self, ids: Sequence[str]) -> dict[str, StoredChunk]:
        """The listed chunks that the index holds (orphans and unknown ids are left out)."""
        self.refresh()
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
        self.refresh()
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


def _rollback(cur: sqlite3.Cursor) -> None:
    """Roll back if a transaction is still open: SQLite ends it by itself on some errors (a
    full disk), and a second error from ROLLBACK would hide the first."""
    if cur.connection.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            cur.execute("ROLLBACK")


def _is_corrupt(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text


def _is_read_only(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return "readonly" in text or "read-only" in text or "unable to open" in text


def _is_full(exc: BaseException) -> bool:
    return (isinstance(exc, sqlite3.OperationalError) and "full" in str(exc).lower()) or (
        isinstance(exc, OSError) and exc.errno == errno.ENOSPC
    )


def damaged(path: Path, exc: BaseException) -> ManifestDamaged:
    """Move a manifest SQLite cannot read aside (beside it, with the time), and say so."""
    aside = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
    try:
        for suffix in ("", "-wal", "-shm"):
            part = Path(f"{path}{suffix}")
            if part.exists():
                part.rename(Path(f"{aside}{suffix}"))
        where = f"moved aside to {aside.name}"
    except OSError:
        where = "left in place (it cannot be moved)"
    return ManifestDamaged(
        f"the index manifest {path} is damaged ({exc}); {where}; `newsbot reindex` rebuilds it"
    )


@contextlib.contextmanager
def storage_errors(path: Path) -> Iterator[None]:
    """A full disk or a read-only folder while writing the index, as one line for a person."""
    try:
        yield
    except (sqlite3.OperationalError, OSError) as exc:
        if _is_full(exc):
            raise DiskFull(
                f"the disk holding {path} is full: nothing of this write was kept and the "
                "previous index still answers; free some space and run `newsbot reindex`"
            ) from None
        if (isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM)) or (
            isinstance(exc, sqlite3.OperationalError) and _is_read_only(exc)
        ):
            raise StoreReadOnly(
                f"the index at {path} cannot be written ({exc}); questions are still answered "
                "from it, but a reindex needs a writable store folder"
            ) from None
        raise


def _sums(item: Embedded) -> tuple[np.ndarray, int, np.ndarray]:
    """An article's chunk-vector sum, sentence count and sentence-vector sum (float64)."""
    dim = item.vectors.shape[1] if item.vectors.ndim == 2 else 0
    chunk_sum = np.asarray(item.vectors, dtype=np.float64).reshape(-1, dim).sum(axis=0)
    sent_sum = np.zeros(dim, dtype=np.float64)
    n_sents = 0
    for vecs in item.sentence_vectors:
        if len(vecs):
            sent_sum += np.asarray(vecs, dtype=np.float64).reshape(-1, dim).sum(axis=0)
            n_sents += len(vecs)
    return chunk_sum, n_sents, sent_sum


def _count(
    cur: sqlite3.Cursor,
    language: str | None,
    n_chunks: int,
    chunk_sum: np.ndarray,
    n_sents: int,
    sent_sum: np.ndarray,
    sign: int,
) -> None:
    """Add (sign +1) or take out (-1) an article's sums from its language's centroid row."""
    if not n_chunks:
        return
    language = language or "und"
    row = cur.execute(
        "SELECT n_chunks, chunk_sum, n_sents, sent_sum FROM centroids WHERE language = ?",
        (language,),
    ).fetchone()
    if row is None or np.frombuffer(row[1], dtype=np.float64).shape != chunk_sum.shape:
        total = (0, np.zeros_like(chunk_sum), 0, np.zeros_like(sent_sum))
    else:
        total = (
            row[0],
            np.frombuffer(row[1], dtype=np.float64),
            row[2],
            np.frombuffer(row[3], dtype=np.float64),
        )
    n = total[0] + sign * n_chunks
    ns = total[2] + sign * n_sents
    if n <= 0:  # the language's last chunks went: start again from zero (no float residue)
        cur.execute("DELETE FROM centroids WHERE language = ?", (language,))
        return
    cur.execute(
        "INSERT OR REPLACE INTO centroids VALUES (?, ?, ?, ?, ?)",
        (language, n, (total[1] + sign * chunk_sum).tobytes(), max(ns, 0),
         (total[3] + sign * sent_sum).tobytes()),
    )  # fmt: skip


def background_vectors(manifest: Manifest, embedder: Embedder) -> np.ndarray:
    """The background sentences' vectors for this model, embedded once and kept in the manifest."""
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
