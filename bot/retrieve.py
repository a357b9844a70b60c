"""Question -> ranked Passages: dense chunk vectors, sentence vectors and BM25, fused by rank.

Each candidate chunk is scored three ways: its chunk vector's cosine (Chroma), its best sentence's
cosine (sentence vectors kept in the manifest), and BM25 over Arabic-aware normalised tokens
(SQLite FTS5). Reciprocal rank fusion orders them; the best sentence's cosine is what the
relevance threshold reads, because whole-chunk cosines of e5 sit in 0.75-0.85 for related and
unrelated text alike, while a matching sentence stands out more.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from index.embedding import Embedder, get_embedder
from index.errors import IndexMissingError
from index.settings import Settings
from index.store import Manifest, StoredChunk, Vectors, background_vectors, open_manifest

logger = logging.getLogger(__name__)

# Reciprocal rank fusion constant (Cormack et al. use 60; small candidate lists favour less).
RRF_K = 20
# Channel weights in the fusion, tuned on the golden set and XQuAD's tuning half.
W_DENSE, W_SENTENCE, W_LEXICAL = 1.0, 1.0, 0.5
# A follow-up's sentences are scored mostly on its own words, partly on the rewritten question.
FOLLOWUP_MIX = np.array([0.35, 0.65], dtype=np.float32)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its scores and the scores of its sentences."""

    chunk: StoredChunk
    score: float  # fused score, only for ordering
    dense: float  # cosine of the chunk vector (0 when only other channels found it)
    lexical: float  # BM25 (0 when no word matched)
    sentence_scores: tuple[float, ...] = field(default=())

    @property
    def best_sentence(self) -> int:
        return int(np.argmax(self.sentence_scores)) if self.sentence_scores else -1

    @property
    def best_sentence_score(self) -> float:
        return max(self.sentence_scores) if self.sentence_scores else self.dense

    def sentence(self, i: int) -> str:
        a, b = self.chunk.sentences[i]
        return self.chunk.text[a:b]


@dataclass(frozen=True)
class Retrieved:
    passages: list[Passage]
    query_vector: np.ndarray
    baseline: float  # the question's mean cosine to generic background sentences
    milliseconds: float


class Retriever:
    """Searches one index; holds the model, the manifest and the Chroma collection."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        manifest: Manifest | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder or get_embedder(settings.embed_model)
        manifest = manifest or open_manifest(settings)
        if manifest is None:
            raise IndexMissingError(
                "there is no index yet: run `newsbot reindex` to build one from "
                f"{settings.articles_dir}"
            )
        self.manifest = manifest
        self.vectors = Vectors(settings)
        self.background = background_vectors(self.manifest, self.embedder)

    def article_count(self) -> int:
        return self.manifest.counts()[0]

    def search(
        self, question: str, k: int | None = None, extra_query: str | None = None
    ) -> Retrieved:
        """Top ``k`` passages for ``question``.

        ``extra_query`` (a follow-up's own words) also scores sentences, so the sentence chosen
        answers the follow-up while the passage search uses the rewritten question.
        """
        started = time.perf_counter()
        k = k or self.settings.top_k
        pool = max(4 * k, 20)
        texts = [question] + ([extra_query] if extra_query else [])
        qvecs = self.embedder.queries(texts)
        qvec = qvecs[0]
        dense = self.vectors.query(qvec, pool)
        lexical = self.manifest.lexical(question, pool)
        ids = list(dict.fromkeys([cid for cid, _ in dense] + [cid for cid, _ in lexical]))
        chunks = self.manifest.chunks(ids)  # drops orphans of an interrupted reindex
        dense_score = {cid: s for cid, s in dense if cid in chunks}
        lex_score = {cid: s for cid, s in lexical if cid in chunks}
        sent_scores: dict[str, np.ndarray] = {}
        for cid, chunk in chunks.items():
            if chunk.sent_vecs.size:
                scores = chunk.sent_vecs @ qvecs.T  # (sentences, queries)
                sent_scores[cid] = scores @ FOLLOWUP_MIX if scores.shape[1] > 1 else scores[:, 0]
            else:
                sent_scores[cid] = np.zeros(0)
        best_sent = {cid: float(s.max()) if s.size else 0.0 for cid, s in sent_scores.items()}

        fused: dict[str, float] = dict.fromkeys(chunks, 0.0)
        for weight, ranking in (
            (W_DENSE, sorted(dense_score, key=lambda c: -dense_score[c])),
            (W_SENTENCE, sorted(best_sent, key=lambda c: -best_sent[c])),
            (W_LEXICAL, sorted(lex_score, key=lambda c: -lex_score[c])),
        ):
            for rank, cid in enumerate(ranking):
                fused[cid] += weight / (RRF_K + rank + 1)
        order = sorted(fused, key=lambda c: (-fused[c], -best_sent.get(c, 0.0)))[:k]
        passages = [
            Passage(
                chunk=chunks[cid],
                score=fused[cid],
                dense=dense_score.get(cid, 0.0),
                lexical=lex_score.get(cid, 0.0),
                sentence_scores=tuple(float(x) for x in sent_scores[cid]),
            )
            for cid in order
        ]
        ms = (time.perf_counter() - started) * 1000
        logger.debug("retrieved %d passages in %.1f ms", len(passages), ms)
        baseline = float((self.background @ qvecs.T).mean())
        return Retrieved(passages, qvec, baseline, ms)
