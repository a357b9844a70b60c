"""Question -> ranked Passages: dense chunk vectors, sentence vectors and BM25, fused by score.

Each candidate chunk is scored three ways: its chunk vector's cosine (Chroma), its best sentence's
cosine (sentence vectors kept in the manifest), and BM25 over Arabic-aware normalised tokens
(SQLite FTS5). A weighted sum orders them (see ``Weights``); the best sentence's cosine is what the
relevance threshold reads, because whole-chunk cosines of e5 sit in 0.75-0.85 for related and
unrelated text alike, while a matching sentence stands out more.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from index import dedupe
from index.cache import open_index
from index.dates import published_epoch
from index.embedding import Embedder, get_embedder
from index.errors import IndexMissingError
from index.filters import Filters
from index.manifest import Manifest, StoredChunk, background_vectors
from index.names import Name, missing_names, question_names, searchable
from index.settings import Settings
from index.store import Vectors
from index.text import content_tokens, match_tokens, script_of

logger = logging.getLogger(__name__)

# Candidates taken from each channel. Fixed, not a multiple of k, so the first k passages are the
# same whether `ask` wants 5 or `eval` wants 30.
POOL = 50
# Passages of one article ranked before those of other articles; the rest come after them. An
# article that repeats itself (or was written to flood the results) cannot fill the top k alone.
MAX_PER_ARTICLE = 3
# A chunk of fewer words than this that opens its article is the whole article (chunks are
# filled up to the chunk size, so only an article's last chunk is short): a one-line "article".
# Its cosines are discounted by up to LENGTH_PRIOR, and candidates are also drawn among chunks of
# at least this many words: 400 one-line articles made of the question's words ("Israel
# meeting") took every place and the sample's December sentence was not even a candidate.
SUBSTANTIAL = 20
LENGTH_PRIOR = 0.1
# Candidates, best first, whose text is checked for the question's names.
NAME_CHECKED = 20
# The language key of chunks whose article has none (index/manifest.py centroids).
UNDETERMINED = "und"
# A follow-up's sentences are scored mostly on its own words, partly on the rewritten question.
FOLLOWUP_MIX = np.array([0.35, 0.65], dtype=np.float32)


@dataclass(frozen=True)
class Weights:
    """How the channels are fused: a weighted sum of the chunk's cosine, its best sentence's
    cosine and its BM25 score divided by the best BM25 score among this question's candidates.

    Fitted on XQuAD's tuning half (bench/tune_retrieval.py). A weighted sum of scores beat
    reciprocal rank fusion there (English questions R@1 0.81 against 0.79): ranks throw away
    how far apart two cosines are, and e5's cosines are informative at the top even though
    their absolute level is not. BM25 only breaks near-ties, because over Arabic text it
    matches an English question's digits and names and little else.
    """

    dense: float = 0.5
    sentence: float = 0.5
    lexical: float = 0.03
    # Taken off per share of the question's names (index/names.py) that a passage lacks, where
    # they can be checked: a neighbouring story in the question's language lacks the asked
    # country or person, the story itself in another language names them.
    names: float = 0.1
    # Added for a passage in another script than the question's: after centring e5 still
    # scores text in the question's own language higher. Fitted on the mixed XQuAD stores'
    # tuning half (docs/RETRIEVAL.md): English questions over Arabic articles R@1 0.70 -> 0.80
    # while each direction stays within 0.03 of its single-language figure.
    foreign: float = 0.04
    foreign_ar: float = 0.02  # the same for an Arabic-script question (English passages)
    # The bonus shrinks, down to nothing, as the best passages in the question's script hold
    # from ``foreign_from`` to ``foreign_to`` of its content words: e5's bias needs no
    # correction when a passage in the question's own language shares its words. Tuning half
    # of the mixed stores (bench/trust_weights.py): English over English R@1 0.951 -> 0.960
    # and 0.927 -> 0.930, English over Arabic 0.821 -> 0.821 and 0.773 -> 0.782.
    foreign_from: float = 0.6
    foreign_to: float = 0.9

    CHANNELS = ("dense", "sentence", "lexical")

    @classmethod
    def only(cls, channels: Sequence[str]) -> Weights:
        """Default weights for the named channels, zero for the others (for ablations).

        A channel alone ranks by its own score whatever its weight.
        """
        unknown = set(channels) - set(cls.CHANNELS)
        if unknown or not channels:
            raise ValueError(f"channels are {', '.join(cls.CHANNELS)}; got {sorted(unknown)}")
        full = cls()
        return cls(
            **{c: getattr(full, c) if c in channels else 0.0 for c in cls.CHANNELS},
            names=0.0,
            foreign=0.0,
            foreign_ar=0.0,
        )


def fuse(
    dense: dict[str, float],
    sentence: dict[str, float],
    lexical: dict[str, float],
    weights: Weights,
    group: Callable[[str], str] | None = None,
) -> dict[str, float]:
    """Fused score per candidate: weighted cosines plus weighted max-normalised BM25.

    A candidate missing from a channel scores 0 there. With ``group`` (a candidate's language),
    BM25 is normalised by the best score of the candidate's own group: an English question's
    words match English articles, and only its digits and names match Arabic ones, so one
    maximum for all would hand the lexical weight to the question's language.
    """
    key = group or (lambda _cid: "")
    top: dict[str, float] = {}
    for cid, value in lexical.items():
        top[key(cid)] = max(top.get(key(cid), 0.0), value)
    out = {}
    for cid in dict.fromkeys([*dense, *sentence, *lexical]):
        top_lex = top.get(key(cid), 0.0)
        lex = lexical.get(cid, 0.0) / top_lex if top_lex > 0 else 0.0
        out[cid] = (
            weights.dense * dense.get(cid, 0.0)
            + weights.sentence * sentence.get(cid, 0.0)
            + weights.lexical * lex
        )
    return out


# How many of the best passages in the question's script are read for the question's words.
COVERED_READ = 5


def _covered(
    question: str, chunks: Mapping[str, StoredChunk], fused: Mapping[str, float], own: list[str]
) -> float:
    """The largest share of the question's content words that one of the COVERED_READ best
    passages of ``own`` (the candidates in the question's script) holds (0 when none)."""
    asked = set(content_tokens(question))
    if not asked:
        return 0.0
    same = sorted(own, key=lambda cid: -fused[cid])
    return max(
        (
            len(asked & set(match_tokens(chunks[cid].text))) / len(asked)
            for cid in same[:COVERED_READ]
        ),
        default=0.0,
    )


def _foreign_share(weights: Weights, covered: float) -> float:
    """How much of the foreign-script bonus is given: all of it up to ``foreign_from``, none
    from ``foreign_to``, linear in between."""
    if covered <= weights.foreign_from:
        return 1.0
    if covered >= weights.foreign_to:
        return 0.0
    return (weights.foreign_to - covered) / (weights.foreign_to - weights.foreign_from)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its scores and the scores of its sentences."""

    chunk: StoredChunk
    score: float  # fused score, only for ordering
    dense: float  # cosine of the chunk vector (0 when only other channels found it)
    lexical: float  # BM25 (0 when no word matched)
    sentence_scores: tuple[float, ...] = field(default=())
    # Other versions of the same story (near-duplicates, index/dedupe.py), shown once as this.
    hidden: tuple[Passage, ...] = field(default=(), repr=False)
    # The question's mean cosine to all sentences (``centre``) and all chunks (``dense_centre``)
    # of this passage's language in the index: what a cosine is measured against when passages
    # of different languages are compared (see ``Retriever.search``). 0 when not known. Both
    # include the one-line-article discount, and ``centre`` the lacking-names one.
    centre: float = 0.0
    dense_centre: float = 0.0
    # The share of the question's names this passage lacks (0 when none could be checked).
    lacking: float = 0.0

    @property
    def best_sentence(self) -> int:
        return int(np.argmax(self.sentence_scores)) if self.sentence_scores else -1

    @property
    def best_sentence_score(self) -> float:
        return max(self.sentence_scores) if self.sentence_scores else self.dense

    def sentence(self, i: int) -> str:
        a, b = self.chunk.sentences[i]
        return self.chunk.text[a:b]

    def sentence_score(self, i: int) -> float:
        """Sentence ``i``'s cosine to the question (the chunk's when it has no sentence vectors)."""
        return self.sentence_scores[i] if i < len(self.sentence_scores) else self.dense

    def fair_score(self, i: int) -> float:
        """Sentence ``i``'s cosine above the question's mean cosine to its language's sentences:
        comparable across languages, where raw cosines favour the question's own language."""
        return self.sentence_score(i) - self.centre

    @property
    def best_fair_score(self) -> float:
        return self.best_sentence_score - self.centre


@dataclass(frozen=True)
class Retrieved:
    passages: list[Passage]
    baseline: float  # the question's mean cosine to generic background sentences

    def top(self, n: int) -> Retrieved:
        """The same result cut to its first ``n`` passages."""
        return replace(self, passages=self.passages[:n])


class Retriever:
    """Searches one index; holds the model, the manifest and the Chroma collection."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder | None = None,
        manifest: Manifest | None = None,
        weights: Weights | None = None,
        centring: bool = True,
    ) -> None:
        self.settings = settings
        self.weights = weights or Weights()
        self.embedder = embedder or get_embedder(settings.embed_model, settings.embed_url)
        manifest = manifest or open_index(settings)  # server mode: the synced cache
        if manifest is None:
            raise IndexMissingError(
                "there is no index yet: run `newsbot reindex` to build one from "
                f"{settings.articles_dir}"
            )
        self.manifest = manifest
        self.vectors = Vectors(settings)
        self.background = background_vectors(self.manifest, self.embedder)
        self.centring = centring
        self._searchable: dict[str, str] = {}  # chunk id -> its text as names are looked for

    def _cosines(self, qvec: np.ndarray, ids: list[str]) -> dict[str, float]:
        # A chunk whose vectors a concurrent reindex just removed is simply left out.
        return {cid: float(v @ qvec) for cid, v in self.vectors.embeddings(ids).items()}

    def _collapse(
        self, ranked: list[str], chunks: dict[str, StoredChunk]
    ) -> tuple[list[str], dict[str, list[str]]]:
        """Each near-duplicate cluster once, by its newest article (index/dedupe.py)."""
        articles = list(dict.fromkeys(chunks[c].article_id for c in ranked))
        cluster = self.manifest.cluster_of(articles)
        if len(set(cluster.values())) == len(articles):
            return ranked, {}
        epoch = {c.article_id: published_epoch(c.published) for c in chunks.values()}

        def newness(article_id: str) -> float:
            value = epoch.get(article_id)
            return float("-inf") if value is None else float(value)  # undated: oldest

        return dedupe.collapse(ranked, lambda cid: chunks[cid].article_id, cluster, newness)

    def _dense(
        self,
        qvec: np.ndarray,
        pool: int,
        where: dict[str, Any] | None,
        meta: dict[str, Mapping[str, Any]] | None = None,
    ) -> list[tuple[str, float]]:
        """The ``pool`` nearest chunks, plus, when a few articles fill the pool, the nearest of
        all the others: 1,000 copies of one junk line (measured: bench/hostile.py) took all 50
        places and kept the article that answers out of the candidates altogether."""
        found = self.vectors.query_meta(qvec, pool, where)
        if meta is not None:  # the pool's metadata, for the caller
            meta.update({cid: m for cid, _, m in found})
        dense = [(cid, score) for cid, score, _ in found]
        per: dict[str, int] = {}
        for cid, _ in dense:
            article = _article_of(cid)
            per[article] = per.get(article, 0) + 1
        crowding = sorted(a for a, n in per.items() if n > MAX_PER_ARTICLE)
        if len(dense) < pool or sum(per[a] for a in crowding) < pool // 2:
            return dense
        others: dict[str, Any] = {"article_id": {"$nin": crowding}}
        more = self.vectors.query(qvec, pool, {"$and": [where, others]} if where else others)
        seen = {cid for cid, _ in dense}
        return dense + [(cid, score) for cid, score in more if cid not in seen]

    def _per_language(
        self,
        qvec: np.ndarray,
        pool: int,
        where: dict[str, Any] | None,
        centres: dict[str, tuple[np.ndarray, np.ndarray, int]],
    ) -> list[tuple[str, float]]:
        """The nearest chunks overall, and the nearest substantial chunks (``SUBSTANTIAL``
        words or more) of each language: by raw cosine the question's own language takes the
        whole pool, and so do one-line articles, whose vectors sit close to any short question.
        """
        meta: dict[str, Mapping[str, Any]] = {}
        dense = self._dense(qvec, pool, where, meta)
        seen = {cid for cid, _ in dense}
        # A filtered Chroma query costs ~20 ms at 10,000 chunks, so they run only when needed:
        # when one-line articles crowd the pool, and for a language the pool hardly holds.
        tiny = sum(
            1
            for m in meta.values()
            if m.get("ordinal") == 0 and int(m.get("words", SUBSTANTIAL)) < SUBSTANTIAL
        )
        crowded = tiny >= pool // 4
        held: dict[str, int] = {}
        for m in meta.values():
            held[str(m.get("language"))] = held.get(str(m.get("language")), 0) + 1
        languages: list[str | None] = [
            lang
            for lang in sorted(centres)
            if lang != UNDETERMINED
            and len(centres) > 1
            and (crowded or held.get(lang, 0) < pool // 5)
        ]
        if not languages and crowded:
            languages = [None]
        for lang in languages:
            parts: list[dict[str, Any]] = [{"words": {"$gte": SUBSTANTIAL}}]
            if lang is not None:
                parts.append({"language": lang})
            if where:
                parts.append(where)
            more = self.vectors.query(qvec, pool, parts[0] if len(parts) == 1 else {"$and": parts})
            if not more and len(parts) > 1:  # an index written before chunks carried "words"
                rest = parts[1:]
                more = self.vectors.query(qvec, pool, rest[0] if len(rest) == 1 else {"$and": rest})
            dense += [(cid, score) for cid, score in more if cid not in seen]
            seen.update(cid for cid, _ in more)
        return dense

    def _lacking(
        self,
        names: tuple[Name, ...],
        chunks: dict[str, StoredChunk],
        fused: dict[str, float],
        checked: set[str],
    ) -> dict[str, float]:
        """The share of the question's ``names`` each of the best candidates lacks (title and
        text); the candidates read are added to ``checked``. The check costs ~0.3 ms a chunk, so
        it reads the first NAME_CHECKED, and goes on down the ranking with the penalty applied
        until the first NAME_CHECKED have all been read (or 4 times as many were): a candidate
        never read would rise above the read ones that lose for lacking the name (when no
        candidate had the name, the unread ones came first)."""
        out: dict[str, float] = {}
        while len(checked) < 4 * NAME_CHECKED:
            penalised = sorted(
                fused, key=lambda c: -(fused[c] - self.weights.names * out.get(c, 0))
            )
            todo = [c for c in penalised[:NAME_CHECKED] if c not in checked]
            if not todo:
                break
            out.update(self._missing(names, chunks, todo))
            checked.update(todo)
        return out

    def _missing(
        self, names: tuple[Name, ...], chunks: dict[str, StoredChunk], cids: Sequence[str]
    ) -> dict[str, float]:
        """The share of ``names`` each of ``cids`` lacks, for those that lack one (a name the
        table does not know, not looked for across scripts, counts as not lacking: measured
        as a share of the names that could be checked instead, English questions over the
        Arabic half of the mixed stores lost 0.017 R@1 on the tuning half)."""
        out = {}
        for cid in cids:
            chunk = chunks[cid]
            text = self._searchable.get(cid)
            if text is None:
                text = searchable(f"{chunk.title or ''}\n{chunk.text}")
                if len(self._searchable) > 4096:
                    self._searchable.clear()
                self._searchable[cid] = text
            missing, _checked = missing_names(names, text)
            if missing:
                out[cid] = missing / len(names)
        return out

    def search(
        self,
        question: str,
        k: int | None = None,
        extra_query: str | None = None,
        filters: Filters | None = None,
    ) -> Retrieved:
        """Top ``k`` passages for ``question``.

        ``extra_query`` (a follow-up's own words) also scores sentences, so the sentence chosen
        answers the follow-up while the passage search uses the rewritten question.
        ``filters`` keeps only articles of a date range and sources, in both channels. A story
        indexed in several versions (wire updates, republications) is shown once, by its newest
        version, the others in ``Passage.hidden``.
        """
        started = time.perf_counter()
        k = k or self.settings.top_k
        pool = max(2 * k, POOL)
        texts = [question] + ([extra_query] if extra_query else [])
        qvecs = self.embedder.queries(texts)
        qvec = qvecs[0]
        w = self.weights
        # BM25 alone (an ablation) ranks BM25's own candidates, nothing the vectors found.
        vectors_used = bool(w.dense or w.sentence)
        where = filters.chroma_where() if filters else None
        centres = self.manifest.centroids() if self.centring else {}
        dense = self._per_language(qvec, pool, where, centres) if vectors_used else []
        lexical = self.manifest.lexical(question, pool, filters)
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

        missing = [cid for cid in chunks if cid not in dense_score]
        if missing:  # found by BM25 alone: its chunk cosine still counts
            dense_score.update(self._cosines(qvec, missing))
        # Each cosine measured from the question's mean cosine over its language's chunks (or
        # sentences): e5 scores text in the question's own language higher across the board, so
        # raw cosines put unrelated English articles above the Arabic story an English question
        # asks about. Within one language this is a constant shift and changes no ranking.
        dense_off, sent_off = _offsets(centres, qvecs)
        lang = {cid: c.language or UNDETERMINED for cid, c in chunks.items()}
        fair_dense = {cid: v - dense_off.get(lang[cid], 0.0) for cid, v in dense_score.items()}
        fair_sent = {cid: v - sent_off.get(lang[cid], 0.0) for cid, v in best_sent.items()}
        prior = {cid: length_prior(c) for cid, c in chunks.items()}
        fair_dense = {cid: v - prior[cid] for cid, v in fair_dense.items()}
        fair_sent = {cid: v - prior[cid] for cid, v in fair_sent.items()}
        fused = fuse(fair_dense, fair_sent, lex_score, self.weights, lang.__getitem__)
        script = script_of(question)
        foreign = w.foreign_ar if script == "arabic" else w.foreign
        others = {cid for cid in fused if chunk_script(chunks[cid]) != script} if foreign else set()
        if others:  # in a one-language pool the bonus would reach no one: nothing to read
            own = [cid for cid in fused if cid not in others]
            foreign *= _foreign_share(w, _covered(question, chunks, fused, own))
            for cid in others:
                fused[cid] += foreign
        checked: set[str] = set()
        names = question_names(question) if w.names else ()
        lacking = self._lacking(names, chunks, fused, checked) if names else {}
        for cid, share in lacking.items():
            fused[cid] -= w.names * share
        # Ties (a channel alone, or no BM25 match) go to the best sentence, when it counts.
        tie = fair_sent if w.sentence else fair_dense if w.dense else {}
        ranked = sorted(fused, key=lambda c: (-fused[c], -tie.get(c, 0.0)))
        order, hidden = self._collapse(ranked, chunks)
        order = _spread(order, lambda cid: chunks[cid].article_id)
        late = [cid for cid in order[:k] if cid not in checked]
        if names and late:
            # Spread over articles, the passages shown can come from past the ones read: their
            # lacking names are read too, so what the answer is told about them is true.
            lacking.update(self._missing(names, chunks, late))

        def passage(cid: str, others: Sequence[str] = ()) -> Passage:
            return Passage(
                chunk=chunks[cid],
                score=fused[cid],
                dense=dense_score.get(cid, 0.0),
                lexical=lex_score.get(cid, 0.0),
                sentence_scores=tuple(float(x) for x in sent_scores[cid]),
                hidden=tuple(passage(h) for h in others),
                # What the fused score took off, also taken off when sentences are compared.
                centre=sent_off.get(lang[cid], 0.0) + prior[cid] + w.names * lacking.get(cid, 0),
                lacking=lacking.get(cid, 0.0),
                dense_centre=dense_off.get(lang[cid], 0.0) + prior[cid],
            )

        passages = [passage(cid, hidden.get(cid, ())) for cid in order[:k]]
        ms = (time.perf_counter() - started) * 1000
        logger.debug("retrieved %d passages in %.1f ms", len(passages), ms)
        baseline = float((self.background @ qvecs.T).mean())
        return Retrieved(passages, baseline)


def chunk_script(chunk: StoredChunk) -> str:
    """The script of a chunk's language: its stored language when known, else its text's."""
    if chunk.language in ("ar", "fa", "ur"):
        return "arabic"
    if chunk.language:
        return "latin"
    return script_of(chunk.text[:400])


def length_prior(chunk: StoredChunk) -> float:
    """How much a one-line article's cosines are discounted (0 for a chunk of a real article)."""
    if chunk.ordinal != 0:
        return 0.0
    words = len(chunk.text.split())
    return LENGTH_PRIOR * max(0.0, 1.0 - words / SUBSTANTIAL)


def _offsets(
    centres: dict[str, tuple[np.ndarray, np.ndarray, int]], qvecs: np.ndarray
) -> tuple[dict[str, float], dict[str, float]]:
    """Per language: the question's mean cosine to its chunks, and to its sentences (a
    follow-up's sentence offset mixed like its sentence scores)."""
    dense: dict[str, float] = {}
    sentence: dict[str, float] = {}
    for lang, (chunk_mean, sent_mean, _n) in centres.items():
        if chunk_mean.shape[0] != qvecs.shape[1]:
            continue  # sums of another model's vectors: never mixed
        dense[lang] = float(chunk_mean @ qvecs[0])
        both = sent_mean @ qvecs.T
        sentence[lang] = float(both @ FOLLOWUP_MIX) if both.shape[0] > 1 else float(both[0])
    return dense, sentence


def _article_of(chunk_id: str) -> str:
    """The article id inside a chunk id (``article:digest:ordinal``, index/chunking.chunk_id)."""
    return chunk_id.rsplit(":", 2)[0]


def _spread(order: Sequence[str], article_of: Callable[[str], str]) -> list[str]:
    """``order`` with each article's passages beyond ``MAX_PER_ARTICLE`` moved after the others'.

    The first k of the result do not depend on k, like the ranking they come from.
    """
    kept: list[str] = []
    later: list[str] = []
    seen: dict[str, int] = {}
    for cid in order:
        article = article_of(cid)
        seen[article] = seen.get(article, 0) + 1
        (kept if seen[article] <= MAX_PER_ARTICLE else later).append(cid)
    return kept + later
