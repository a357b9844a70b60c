"""Near-duplicate articles: the same wire story updated, or republished by several outlets.

Each article gets a MinHash sketch of its normalised word 3-grams (``index.text.match_tokens``,
so Arabic spelling variants and prefixes do not count as differences). Locality-sensitive
hashing over bands of the sketch finds candidate pairs; a pair whose estimated Jaccard
similarity reaches ``SAME_STORY`` joins one cluster (union-find), so an update of an update
still lands with the first version.

Only the arithmetic lives here (no storage): the manifest keeps the sketches and cluster ids
(``Manifest.record_sketches``, written by the reindex after the articles themselves, and
``Manifest.recluster``, cheap, one pass over the sketches, at the end of every reindex that
changed anything, built on ``clusters``). The retriever then shows each cluster once: its
newest article, with the others noted (``collapse``).

A small MinHash written here rather than datasketch: 40 lines of numpy, no new dependency.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import numpy as np

from index.text import match_tokens

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
