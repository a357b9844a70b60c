"""What an answer is: the quoted sentences (``Citation``), the answer that cites them (``Answer``),
other versions of a cited story (``Related``), reports that differ (``Conflict``), a chat's turns
(``Turn``), the evidence chosen for a question (``Decision``) and the one refusal sentence.

A Citation keeps its passage and the index of the quoted sentence in it, so whoever needs the
sentence's vector, its article or its neighbours reads them from the link instead of finding the
passage again. The dates the quote speaks of are resolved once, when the citation is made
(``Citation.of``), against its article's date: nothing is stored, so a better resolver improves
old indexes too, and an undated article gets no invented date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from bot.retrieve import Passage
from index.dates import DateMention, article_day, published_epoch, resolve_dates
from index.manifest import StoredChunk

# The one refusal sentence: code, prompts (as $refusal) and tests all use this constant.
REFUSAL = "I couldn't find this in the indexed articles."
# Said instead of quotes when the question has no word that says what is asked ("?", an emoji,
# "hello"): quotes matched to nothing in particular would look like an answer.
NEED_QUESTION = (
    "Please ask a full question about the news, for example: "
    '"When will the US and Israeli officials meet?"'
)


@dataclass(frozen=True)
class Related:
    """Another version of a cited story (a near-duplicate that retrieval showed once)."""

    article_id: str
    title: str | None
    source: str | None
    published: str | None
    url: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "article_id": self.article_id,
            "title": self.title,
            "source": self.source,
            "published": self.published,
            "url": self.url,
        }


# eq=False: two citations are the same only if they are one object (a passage holds vectors,
# which have no equality or hash of their own to lend).
@dataclass(frozen=True, eq=False, repr=False)
class Citation:
    """One quoted sentence: sentence ``sentence`` of ``passage``. Build it with ``of``."""

    n: int
    passage: Passage
    sentence: int  # index into the chunk's sentences (0 for a chunk without sentence spans)
    score: float
    also: tuple[Related, ...] = ()  # other versions of this story (near-duplicates)
    dates: tuple[DateMention, ...] = ()  # date expressions in the quote, placed in time
    translation: str | None = None  # machine translation into the question's language (checked)

    @classmethod
    def of(
        cls, n: int, passage: Passage, sentence: int, score: float, also: Sequence[Related] = ()
    ) -> Citation:
        """A citation of sentence ``sentence`` of ``passage``, its quote's dates resolved."""
        chunk = passage.chunk
        a, b = _span(chunk, sentence)
        dates = tuple(resolve_dates(chunk.text[a:b], article_day(chunk.published)))
        return cls(n, passage, sentence, float(score), tuple(also), dates)

    @property
    def span(self) -> tuple[int, int]:
        """Where the quote sits in the chunk text (all of it when the chunk has no sentences)."""
        return _span(self.passage.chunk, self.sentence)

    @property
    def quote(self) -> str:
        a, b = self.span
        return self.passage.chunk.text[a:b]

    @property
    def text(self) -> str:
        """The whole chunk the quote comes from."""
        return self.passage.chunk.text

    @property
    def article_id(self) -> str:
        return self.passage.chunk.article_id

    @property
    def title(self) -> str | None:
        return self.passage.chunk.title

    @property
    def source(self) -> str | None:
        return self.passage.chunk.source

    @property
    def url(self) -> str | None:
        return self.passage.chunk.url

    @property
    def published(self) -> str | None:
        return self.passage.chunk.published

    @property
    def path(self) -> str | None:
        """Where the article was read from, for display when it has no title."""
        return self.passage.chunk.path

    def __repr__(self) -> str:
        return (
            f"Citation(n={self.n}, article_id={self.article_id!r}, quote={self.quote!r}, "
            f"score={self.score:.4f})"
        )

    def as_json(self, today: dt.date | None = None) -> dict[str, object]:
        return {
            "n": self.n,
            "article_id": self.article_id,
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "published": self.published,
            "quote": self.quote,
            "passage": self.text,
            "score": round(self.score, 4),
            "dates": [
                {
                    "text": m.text,
                    "first": m.first.isoformat() if m.first else None,
                    "last": m.last.isoformat() if m.last else None,
                    "status": m.status(today) if today else None,
                }
                for m in self.dates
            ],
            "also": [r.as_json() for r in self.also],
            "translation": self.translation,
        }


def by_article(citations: Iterable[Citation]) -> tuple[Citation, ...]:
    """``citations`` in their order, numbered by article: quotes from one article share one
    number, so one source is never listed as [1] and [2]."""
    numbers: dict[str, int] = {}
    out = []
    for c in citations:
        n = numbers.setdefault(c.article_id, len(numbers) + 1)
        out.append(c if c.n == n else replace(c, n=n))
    return tuple(out)


def _span(chunk: StoredChunk, sentence: int) -> tuple[int, int]:
    return chunk.sentences[sentence] if chunk.sentences else (0, len(chunk.text))


@dataclass(frozen=True)
class Conflict:
    """Two reports that differ on a figure or a date; the newer one is preferred."""

    newer: Citation
    older: Citation
    newer_says: tuple[str, ...]
    older_says: tuple[str, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "preferred": self.newer.n,
            "newer": {"n": self.newer.n, "published": self.newer.published,
                      "says": list(self.newer_says)},
            "older": {"n": self.older.n, "published": self.older.published,
                      "says": list(self.older_says)},
        }  # fmt: skip


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
    conflicts: tuple[Conflict, ...] = ()  # reports that differ; the newest leads
    filters: str | None = None  # the search filters, described ("since 2024-11-01")
    # Why it refused: "not_found" (nothing relevant enough) or "no_question" (no word to search).
    refusal: str | None = None

    @property
    def as_of(self) -> str | None:
        """Date of the newest dated article the answer cites (None: undated or none)."""
        dated = [(published_epoch(c.published), c.published) for c in self.citations]
        dated = [(e, p) for e, p in dated if e is not None]
        if not dated:
            return None
        newest = max(dated, key=lambda x: x[0] or 0)[1]
        day = article_day(newest)
        return day.isoformat() if day else None

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
            "refusal": self.refusal,
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
