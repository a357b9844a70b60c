"""Answerer: retrieve -> evidence sentences -> (generate) -> Answer with citations.

The default answer is extractive: it quotes, verbatim, the sentences of the retrieved passages
that best answer the question, each with an [n] marker and a citation. A generator (a language
model, later) slots in through the ``Generator`` protocol; whatever it writes, citations come from
the same evidence, and any failure falls back to the extractive answer.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot import timeline
from bot.retrieve import Passage, Retrieved, Retriever
from index.filters import Filters
from index.settings import Settings
from index.text import match_tokens, script_of, valid_text

logger = logging.getLogger(__name__)

# The one refusal sentence: code, prompts (as $refusal) and tests all use this constant.
REFUSAL = "I couldn't find this in the indexed articles."

# Word-overlap bonus, when question and sentence share a script. Cosines of e5 are compressed
# into a narrow band, so a small weight already reorders sentences that name the asked thing.
OVERLAP_WEIGHT = 0.06
# A second quote must come close to the best one, from a different sentence.
SECOND_QUOTE_MARGIN = 0.015

_STOPWORDS = set(
    """a an the is are was were be been of in on at to for from by with and or but what when
    where who whom which why how did does do will would can could should about into than that
    this these those it its they them their there as not no yes please tell me i you he she we
    في من على الى إلى عن ما ماذا متى اين أين من هل كيف لماذا كم التي الذي الذين هذا هذه ذلك تلك
    هو هي هم ان أن إن او أو ثم قد لا لم لن كان كانت مع عند""".split()
)
_STOP_NORMALISED = {t for w in _STOPWORDS for t in match_tokens(w)}

# A sentence that talks to a language model instead of reporting news (a prompt injection planted
# in an article) is never quoted: the quote would hand the instruction on to the reader, and its
# instruction-like wording ("reply that the meeting was cancelled") can outscore the real answer.
_ADDRESSES_MODEL = re.compile(
    r"\b(ignore|disregard|forget)\s+(all\s+|any\s+)?(the\s+|your\s+)?"
    r"(previous|prior|above|earlier|preceding)\s+(instructions|prompts?|messages|rules)|"
    r"^\W*(system|assistant|developer)\s*:|<\|im_(start|end)\|>|\[/?INST\]|<</?SYS>>|"
    r"\byou are now (in )?\w+ mode\b|\bdeveloper mode\b|</?excerpts?>|"
    r"(تجاهل|تجاهلي|انس|انسى)\s+(كل\s+|جميع\s+)?(التعليمات|الأوامر|التوجيهات)",
    re.IGNORECASE | re.MULTILINE,
)

# A long sentence made of a few words said over and over ("word word word ...") is no evidence;
# its vector sits close to every question (measured: bench/hostile.py, a 1 MB single line).
REPEATED_MIN_TOKENS = 12
REPEATED_MAX_DISTINCT = 0.25


def _wordless(sentence: str) -> bool:
    """Numbers and marks only ("2018."): it cannot answer anything, yet it matched "when"."""
    return not any(ch.isalpha() for ch in sentence)


def _repetitive(sentence: str) -> bool:
    tokens = match_tokens(sentence)
    return len(tokens) >= REPEATED_MIN_TOKENS and len(set(tokens)) < REPEATED_MAX_DISTINCT * len(
        tokens
    )


def _not_evidence(sentence: str) -> bool:
    """Never quoted: planted instructions, a few words said over and over, no words at all."""
    return bool(_ADDRESSES_MODEL.search(sentence)) or _repetitive(sentence) or _wordless(sentence)


_FOLLOWUP_START = re.compile(
    r"^\s*(and|but|so|also|what about|how about|and what|then|"
    r"و|ف|ماذا عن|وماذا|و?ما هو|وأين|ومتى|وكيف|ومن)\b",
    re.IGNORECASE,
)
_PRONOUN = re.compile(
    r"\b(it|its|they|them|their|he|she|him|her|that|this|those|these|there|then)\b|"
    r"(^|\s)(هو|هي|هم|ذلك|هذا|هذه|تلك|هناك|عنه|عنها|فيه|فيها)(\s|$|[؟?])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Citation:
    """One quoted sentence and where it comes from."""

    n: int
    article_id: str
    title: str | None
    source: str | None
    url: str | None
    published: str | None
    quote: str
    passage: str
    score: float
    path: str | None = None  # where the article was read from, for display when untitled
    also: tuple[timeline.Related, ...] = ()  # other versions of this story (near-duplicates)

    def as_json(self, today: dt.date | None = None) -> dict[str, object]:
        return {
            "n": self.n,
            "article_id": self.article_id,
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "published": self.published,
            "quote": self.quote,
            "passage": self.passage,
            "score": round(self.score, 4),
            # Added by the time-aware answers (issue 7): dates in the quote, other versions.
            "dates": timeline.dates_json(self, today),
            "also": [r.as_json() for r in self.also],
        }


@dataclass(frozen=True)
class Answer:
    """What the bot says: the text with [n] markers, its citations, and whether it refused."""

    question: str
    text: str
    refused: bool
    mode: str  # "extractive" or "llm"
    citations: tuple[Citation, ...] = ()
    passages: tuple[Passage, ...] = field(default=(), repr=False)
    rewritten: str | None = None  # the standalone question a follow-up became
    notice: str | None = None  # e.g. why generation fell back to extractive
    today: str | None = None  # the day "upcoming" and "past" are relative to
    conflicts: tuple[timeline.Conflict, ...] = ()  # reports that differ; the newest leads
    filters: str | None = None  # the search filters, described ("since 2024-11-01")

    @property
    def as_of(self) -> str | None:
        """Date of the newest dated article the answer cites (None: undated or none)."""
        return timeline.as_of(self.citations)

    def as_json(self) -> dict[str, object]:
        today = dt.date.fromisoformat(self.today) if self.today else None
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "mode": self.mode,
            "citations": [c.as_json(today) for c in self.citations],
            "as_of": self.as_of,
            "today": self.today,
            "conflicts": [c.as_json() for c in self.conflicts],
            "filters": self.filters,
        }


@dataclass(frozen=True)
class Decision:
    """The evidence chosen for a question (empty: refuse) and the signals behind the choice."""

    citations: tuple[Citation, ...]
    features: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Turn:
    question: str
    answer: Answer


class Generator(Protocol):
    """A language model that writes an answer from numbered evidence (see bot/llm.py)."""

    def generate(self, question: str, citations: Sequence[Citation]) -> str: ...


def is_followup(question: str) -> bool:
    """A short question that leans on the previous turn ("and where will it be held?")."""
    words = question.split()
    if len(words) > 14:
        return False
    return bool(_FOLLOWUP_START.search(question) or _PRONOUN.search(question))


def rewrite_followup(question: str, history: Sequence[Turn]) -> str | None:
    """The follow-up made standalone with the previous question, or None if not a follow-up."""
    if not history or not is_followup(question):
        return None
    previous = history[-1].answer.rewritten or history[-1].question
    return f"{previous} {question}"


def _overlap(question_tokens: set[str], sentence: str) -> float:
    if not question_tokens:
        return 0.0
    tokens = set(match_tokens(sentence))
    return len(question_tokens & tokens) / len(question_tokens)


def _margin(passages: Sequence[Passage], score: Callable[[Passage], float]) -> float:
    """How far the best article's score is above the best other article's."""
    best: dict[str, float] = {}
    for p in passages:
        best[p.chunk.article_id] = max(best.get(p.chunk.article_id, -1.0), score(p))
    ranked = sorted(best.values(), reverse=True)
    return ranked[0] - ranked[1] if len(ranked) > 1 else ranked[0] if ranked else 0.0


class Answerer:
    """Answers questions over one index."""

    def __init__(
        self,
        settings: Settings,
        retriever: Retriever | None = None,
        generator: Generator | None = None,
    ) -> None:
        self.settings = settings
        self.retriever = retriever or Retriever(settings)
        self.generator = generator
        self.filters: Filters | None = None

    def filtered(self, filters: Filters | None) -> Answerer:
        """This answerer (same model, index, generator) searching only what ``filters`` allow."""
        other = copy.copy(self)
        other.filters = filters or None
        return other

    def answer(self, question: str, history: Sequence[Turn] = (), k: int | None = None) -> Answer:
        question = valid_text(question).strip()  # a command-line argument need not be UTF-8
        rewritten = rewrite_followup(question, history)
        found = self.retriever.search(
            rewritten or question,
            k,
            extra_query=question if rewritten else None,
            filters=self.filters,
        )
        citations = self.decide(question, found).citations
        today = timeline.today_of(self.settings.today).isoformat()
        filters = self.filters.describe() if self.filters else None
        if not citations:
            return Answer(
                question, REFUSAL, True, "extractive", (), tuple(found.passages), rewritten,
                today=today, filters=filters,
            )  # fmt: skip
        # Other versions noted; when reports differ, the newest leads and both are cited.
        citations, conflicts = timeline.reconcile(
            citations, found.passages, self.settings.max_quotes
        )
        text = "\n".join(f"{c.quote} [{c.n}]" for c in citations)
        return Answer(
            question, text, False, "extractive", citations, tuple(found.passages), rewritten,
            today=today, conflicts=conflicts, filters=filters,
        )  # fmt: skip

    def threshold(self, question: str) -> float:
        """How far above its background baseline a question's best sentence must score."""
        if script_of(question) == "arabic":
            return self.settings.min_relevance_ar
        return self.settings.min_relevance_en

    def decide(self, question: str, found: Retrieved) -> Decision:
        """Whether the retrieved passages answer ``question``, and the sentences to quote."""
        features = {"relevance": 0.0}
        if found.passages:
            top = found.passages[0]
            q_tokens = {t for t in match_tokens(question) if t not in _STOP_NORMALISED}
            features.update(
                dense=max(p.dense for p in found.passages) - found.baseline,
                overlap=max(_overlap(q_tokens, p.chunk.text) for p in found.passages),
                same_script=float(script_of(top.chunk.text) == script_of(question)),
                lexical=max(p.lexical for p in found.passages),
                margin=_margin(found.passages, lambda p: p.best_sentence_score),
                dense_margin=_margin(found.passages, lambda p: p.dense),
                agree=float(
                    top.chunk.article_id
                    == max(found.passages, key=lambda p: p.best_sentence_score).chunk.article_id
                    == max(found.passages, key=lambda p: p.dense).chunk.article_id
                ),
            )
        citations = self.evidence(question, found.passages, found.baseline, features)
        return Decision(citations, features)

    def evidence(
        self,
        question: str,
        passages: Sequence[Passage],
        baseline: float,
        features: dict[str, float] | None = None,
    ) -> tuple[Citation, ...]:
        """The sentences to quote, best first; empty when nothing is relevant enough."""
        if not passages:
            return ()
        q_script = script_of(question)
        q_tokens = {t for t in match_tokens(question) if t not in _STOP_NORMALISED}
        scored: list[tuple[float, float, Passage, int]] = []
        for p in passages:
            same_script = script_of(p.chunk.text) == q_script
            for i, cos in enumerate(p.sentence_scores):
                if _not_evidence(p.sentence(i)):
                    continue
                bonus = OVERLAP_WEIGHT * _overlap(q_tokens, p.sentence(i)) if same_script else 0.0
                scored.append((cos + bonus, cos, p, i))
        if not scored:
            return ()
        scored.sort(key=lambda s: -s[0])
        best_total = scored[0][0]
        relevance = max(s[1] for s in scored) - baseline
        if features is not None:
            features["relevance"] = relevance
        if relevance < self.threshold(question):
            logger.info("refusing: relevance %.3f < %.3f", relevance, self.threshold(question))
            return ()
        chosen: list[tuple[float, Passage, int]] = []
        for total, _cos, p, i in scored:
            if len(chosen) >= self.settings.max_quotes:
                break
            if chosen and total < best_total - SECOND_QUOTE_MARGIN:
                break
            quote = p.sentence(i)
            if any(q.sentence(j) == quote for _, q, j in chosen):
                continue
            chosen.append((total, p, i))
        return tuple(
            Citation(
                n=n,
                article_id=p.chunk.article_id,
                title=p.chunk.title,
                source=p.chunk.source,
                url=p.chunk.url,
                published=p.chunk.published,
                quote=p.sentence(i),
                passage=p.chunk.text,
                score=total,
                path=p.chunk.path,
            )
            for n, (total, p, i) in enumerate(chosen, 1)
        )
