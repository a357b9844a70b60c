"""Near-duplicate articles: the same wire story updated, or republished by several outlets.

Each article gets a MinHash sketch of its normalised word 3-grams (``index.text.match_tokens``,
so Arabic spelling variants and prefixes do not count as differences). Locality-sensitive
hashing over bands of the sketch finds candidate pairs; a pair whose estimated Jaccard
similarity reaches ``SAME_STORY`` joins one cluster (union-find), so an update of an update
still lands with the first version.

Sketches and cluster ids live in the manifest (table ``sketches``), written by the reindex
after the articles themselves; ``recluster`` is cheap (one pass over the sketches) and runs at
the end of every reindex that changed anything. The retriever then shows each cluster once:
its newest article, with the others noted (``collapse``).

A small MinHash written here rather than datasketch: 40 lines of numpy, no new dependency.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from index.text import match_tokens

logger = logging.getLogger(__name__)

SHINGLE = 3  # words per shingle
PERMUTATIONS = 64
BANDS = 32  # 32 bands of 2 rows: pairs above ~0.3 Jaccard become candidates almost surely
# Estimated Jaccard of 3-gram sets at or above which two articles are one story. A wire update
# that adds a paragraph and changes a figure keeps ~0.6-0.8; the same event written up
# independently by two outlets shares well under 0.1.
SAME_STORY = 0.5

_PRIME = np.uint64(4294967311)  # the first prime above 2**32: a*x+b stays below 2**64
_rng = np.random.default_rng(20241112)
_A = _rng.integers(1, 2**32 - 1, size=PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, 2**32 - 1, size=PERMUTATIONS, dtype=np.uint64)

SCHEMA = """
CREATE TABLE IF NOT EXISTS sketches (
    article_id TEXT PRIMARY KEY, signature BLOB, cluster TEXT);
CREATE INDEX IF NOT EXISTS sketches_by_cluster ON sketches(cluster);
"""


def shingles(text: str) -> set[bytes]:
    """The article's normalised word 3-grams (the whole text when it is shorter)."""
    tokens = match_tokens(text)
    if len(tokens) < SHINGLE:
        return {" ".join(tokens).encode()} if tokens else set()
    return {" ".join(tokens[i : i + SHINGLE]).encode() for i in range(len(tokens) - SHINGLE + 1)}


def sketch(text: str) -> np.ndarray:
    """MinHash signature (PERMUTATIONS uint64) of ``text``."""
    grams = shingles(text)
    if not grams:
        return np.full(PERMUTATIONS, np.iinfo(np.uint64).max, dtype=np.uint64)
    hashes = np.fromiter(
        (int.from_bytes(hashlib.blake2b(g, digest_size=4).digest(), "little") for g in grams),
        dtype=np.uint64,
        count=len(grams),
    )
    values = (hashes[:, None] * _A[None, :] + _B[None, :]) % _PRIME
    return np.asarray(values.min(axis=0), dtype=np.uint64)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of the shingle sets behind two signatures."""
    return float(np.mean(a == b))


def clusters(signatures: dict[str, np.ndarray], threshold: float = SAME_STORY) -> dict[str, str]:
    """``article id -> cluster id`` (the smallest member id); singletons map to themselves."""
    ids = sorted(signatures)
    parent = {i: i for i in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    empty = np.iinfo(np.uint64).max
    rows = PERMUTATIONS // BANDS
    checked: set[tuple[str, str]] = set()
    for band in range(BANDS):
        buckets: dict[bytes, list[str]] = {}
        for i in ids:
            part = signatures[i][band * rows : (band + 1) * rows]
            if part[0] != empty:  # an article without words is nobody's duplicate
                buckets.setdefault(part.tobytes(), []).append(i)
        for members in buckets.values():
            for x_at, x in enumerate(members):
                for y in members[x_at + 1 :]:
                    if (x, y) in checked or find(x) == find(y):
                        continue
                    checked.add((x, y))
                    if similarity(signatures[x], signatures[y]) >= threshold:
                        a, b = find(x), find(y)
                        parent[max(a, b)] = min(a, b)
    return {i: find(i) for i in ids}


# --- in the manifest ---------------------------------------------------------------------------


def ensure_schema(db: sqlite3.Connection) -> None:
    db.executescript(SCHEMA)


def record(db: sqlite3.Connection, articles: Iterable[tuple[str, str]]) -> None:
    """Store sketches of ``(article id, text)``; clusters are set by ``recluster``."""
    ensure_schema(db)
    rows = [(aid, sketch(text).tobytes(), aid) for aid, text in articles]
    db.executemany(
        "INSERT OR REPLACE INTO sketches (article_id, signature, cluster) VALUES (?, ?, ?)", rows
    )


def recluster(db: sqlite3.Connection) -> int:
    """Recompute every cluster from the stored sketches; returns how many clusters have 2+.

    Sketches of deleted articles are dropped; articles indexed before sketches existed get one
    from their stored chunks.
    """
    ensure_schema(db)
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
        record(db, [(aid, "\n".join(texts))])
    signatures = {
        aid: np.frombuffer(sig, dtype=np.uint64)
        for aid, sig in db.execute("SELECT article_id, signature FROM sketches")
    }
    found = clusters(signatures)
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


def cluster_of(db: sqlite3.Connection, article_ids: Sequence[str]) -> dict[str, str]:
    """The cluster id of each listed article (its own id when it has no near-duplicate)."""
    out = {a: a for a in article_ids}
    try:
        for i in range(0, len(article_ids), 500):
            part = list(article_ids[i : i + 500])
            marks = ",".join("?" * len(part))
            rows = db.execute(
                f"SELECT article_id, cluster FROM sketches WHERE article_id IN ({marks})", part
            )
            out.update({aid: c for aid, c in rows if c})
    except sqlite3.OperationalError:  # an index built before sketches existed
        pass
    return out


# --- retrieval ---------------------------------------------------------------------------------


def collapse(
    ranked: Sequence[str],
    article_of: Callable[[str], str],
    cluster: dict[str, str],
    newness: Callable[[str], float],
) -> tuple[list[str], dict[str, list[str]]]:
    """Ranked chunk ids with each cluster shown once, by its newest article.

    The cluster takes the rank of its best chunk; the chunk shown there is the best-ranked chunk
    of the cluster's newest article (``newness`` of an article id: larger is newer). Chunks of
    the other articles are dropped from the ranking and returned as ``hidden[shown chunk]``.
    """
    newest: dict[str, str] = {}
    for cid in ranked:
        aid = article_of(cid)
        c = cluster.get(aid, aid)
        best = newest.get(c)
        if best is None or (newness(aid), aid) > (newness(best), best):
            newest[c] = aid
    out: list[str] = []
    placed: set[str] = set()
    lead: dict[str, str] = {}  # cluster -> the chunk shown for it first
    hidden: dict[str, list[str]] = {}
    for cid in ranked:
        aid = article_of(cid)
        c = cluster.get(aid, aid)
        if aid == newest[c]:
            if cid not in placed:
                out.append(cid)
                placed.add(cid)
                lead.setdefault(c, cid)
            continue
        if c not in lead:
            rep = next(x for x in ranked if article_of(x) == newest[c] and x not in placed)
            out.append(rep)
            placed.add(rep)
            lead[c] = rep
        hidden.setdefault(lead[c], []).append(cid)
    return out, hidden
