"""The news as a reader browses it: the latest articles, the outlets, what a filter that finds
nothing says instead of a refusal, and broad questions answered story by story.

``respond(settings, question, filters, answer)`` is what every face (CLI ask and chat, Telegram)
calls around its Answerer: a filter naming an unknown outlet raises ``FilterError`` listing the
known ones; a filter that leaves no article answers so, with the nearest date that exists; a
broad question ("What happened in Yemen?", "ماذا يحدث في ليبيا؟", "What happened yesterday?")
becomes up to ``STORIES`` stories, newest first, each its title, date and best quote, instead
of quotes from several unrelated stories. Story answers are ordinary ``Answer``s (mode
"stories") whose citations are the stories' quotes, so every renderer and /sources show them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from bot import timeline
from bot.answer import quotable
from bot.citations import REFUSAL, Answer, Citation
from bot.retrieve import Passage
from index.dates import article_day, published_epoch
from index.errors import FilterError
from index.filters import Filters, source_key
from index.manifest import Manifest, open_manifest
from index.names import Name, missing_names, question_names, searchable
from index.settings import Settings
from index.text import content_tokens, match_tokens, script_of

STORIES = 3  # stories in an answer to a broad question

# "What happened (in X)?", "what's new", "news about X", "ماذا يحدث في ليبيا", "آخر أخبار غزة".
_BROAD = re.compile(
    r"^\W*(?:(?:so|and|ok|okay)\W+)?(?:"
    r"what(?:'s|’s|\s+is|\s+has|\s+was)?\s+(?:happened|happening|going\s+on|new|the\s+latest|"
    r"the\s+news|up)|what\s+are\s+the\s+(?:latest\s+)?news|(?:any\s+)?(?:the\s+)?(?:latest\s+|"
    r"recent\s+|top\s+)?(?:news|headlines|updates?|stories)|the\s+latest|latest|"
    r"(?:ما|ماذا)\s+(?:الذي\s+)?(?:حدث|يحدث|جرى|يجري)|ماذا\s+هناك|ما\s+(?:هي\s+)?(?:آخر\s+)?"
    r"(?:أخبار|الأخبار|المستجدات|مستجدات|الجديد)|(?:آخر\s+)?(?:الأخبار|أخبار|مستجدات)"
    r")(?=\W|$)",
    re.IGNORECASE,
)
_TOPIC_LEAD = re.compile(
    r"^\W*(?:(?:in|on|about|with|from|of|at|for|regarding|concerning)\s+(?:the\s+)?|"
    r"(?:في|عن|من|حول|مع|ب)\s+)?",
    re.IGNORECASE,
)
_NOT_TOPIC = re.compile(r"(?i)^(?:today|lately|recently|now|so\s+far|there|then|اليوم|الآن)$")


@dataclass(frozen=True)
class Outlet:
    name: str
    articles: int
    newest: str | None  # the newest article's date as stored

    def as_json(self) -> dict[str, object]:
        return {"source": self.name, "articles": self.articles, "newest": self.newest}


def broad_topic(question: str) -> str | None:
    """The topic of a broad question ("Yemen"), "" for no topic ("What happened?"), None when
    the question asks something particular. An empty question (the filter was all) is broad."""
    if not question.strip():
        return ""
    m = _BROAD.match(question)
    if not m:
        return None
    rest = question[m.end() :]
    rest = _TOPIC_LEAD.sub("", rest, count=1)
    rest = rest.strip(" \t?؟.!،,:;")
    return "" if not rest or _NOT_TOPIC.match(rest) else rest


def _open(settings: Settings) -> Manifest | None:
    return open_manifest(settings)


def latest(
    settings: Settings, filters: Filters | None = None, n: int = 10
) -> list[dict[str, str | None]]:
    """The newest articles passing ``filters``, newest first (undated last)."""
    manifest = _open(settings)
    if manifest is None:
        return []
    try:
        rows = manifest.list_articles(filters, n)
    finally:
        manifest.close()
    for row in rows:
        row.pop("first_chunk", None)
    return rows


def outlets(settings: Settings) -> list[Outlet]:
    """Every outlet with its article count and newest date, most articles first."""
    manifest = _open(settings)
    if manifest is None:
        return []
    try:
        return [Outlet(name, count, newest) for name, count, newest in manifest.sources()]
    finally:
        manifest.close()


def suggestions(settings: Settings, n: int = 2) -> list[str]:
    """Questions to try, from the user's own articles: recent headlines, and the week's news."""
    rows = latest(settings, None, n)
    tries = [str(r["title"]) for r in rows if r.get("title")]
    return [*tries, "What happened this week?"] if rows else []


def check_sources(settings: Settings, filters: Filters | None) -> None:
    """FilterError naming the known outlets when ``filters`` asks for one the index lacks."""
    if not filters or not filters.sources:
        return
    known = outlets(settings)
    keys = {source_key(o.name) for o in known}
    missing = [s for s in filters.sources if source_key(s) not in keys]
    if not missing:
        return
    names = ", ".join(f"{o.name} ({o.articles})" for o in known) or "none (no article names one)"
    raise FilterError(f"no source named {', '.join(missing)}; the sources are: {names}")


def _day(published: str | None) -> str:
    day = article_day(published)
    return day.isoformat() if day else "undated"


def nothing_left(settings: Settings, filters: Filters | None) -> str | None:
    """What to say when ``filters`` leave no article: that, and the nearest date that exists."""
    if not filters:
        return None
    manifest = _open(settings)
    if manifest is None:
        return None
    try:
        if manifest.list_articles(filters, 1):
            return None
        sources = filters.sources
        before = after = None
        if filters.since:
            earlier = Filters(None, filters.since - dt.timedelta(days=1), sources)
            rows = manifest.list_articles(earlier, 1)
            before = rows[0]["published"] if rows else None
        if filters.until:
            later = Filters(filters.until + dt.timedelta(days=1), None, sources)
            rows = manifest.list_articles(later, 1, oldest_first=True)
            after = rows[0]["published"] if rows else None
    finally:
        manifest.close()
    said = f"No articles {filters.describe()}"
    if before:
        return f"{said}; the newest before is of {_day(before)}."
    if after:
        return f"{said}; the next after is of {_day(after)}."
    return f"{said}; the index holds no dated article near it."


# --- answers by story ---------------------------------------------------------------------------


def _newest_first(published: str | None) -> tuple[bool, float]:
    epoch = published_epoch(published)
    return (epoch is None, -float(epoch or 0))


def _story_answer(base: Answer, citations: list[Citation], topic: str) -> Answer:
    lines = []
    for c in citations:
        title = c.title or c.source or f"article {c.article_id}"
        lines.append(f"{title} ({_day(c.published)}): {c.quote} [{c.n}]")
    return dataclasses.replace(
        base,
        text="\n".join(lines),
        refused=False,
        mode="stories",
        citations=tuple(citations),
        conflicts=(),
        notice=None,
    )


def _names_it(topic: _Topic, text: str) -> bool | None:
    """Whether ``text`` names the topic: True/False by its names (either script), True when it
    has all the topic's words, else None (cannot be told: a topic without a known name is no
    ground for a refusal, "news agencies reported what?" is not a place)."""
    if topic.names:
        missing, checked = missing_names(topic.names, searchable(text))
        if checked:
            return missing == 0
    if script_of(text) == script_of(topic.text) and topic.tokens <= set(match_tokens(text)):
        return True
    return None


@dataclass(frozen=True)
class _Topic:
    text: str
    names: tuple[Name, ...]
    tokens: frozenset[str]


def by_story(answer: Answer, topic: str) -> Answer | None:
    """``answer``'s passages that name ``topic`` (in either script: index/names.py), as up to
    STORIES stories, newest first, each article's best sentence quoted. The refusal when the
    passages could be checked and none names it (no unrelated stories); None when it could not
    be told, so the answer stands."""
    wanted = _Topic(topic, question_names(f"about {topic}"), frozenset(content_tokens(topic)))
    if not wanted.tokens and not wanted.names:
        return None
    best: dict[str, tuple[float, Passage, int]] = {}
    told = False
    for p in answer.passages:
        named = _names_it(wanted, f"{p.chunk.title or ''}\n{p.chunk.text}")
        told = told or named is not None
        if not named:
            continue
        for i in quotable(p):  # never a planted instruction or its chunk
            score = p.fair_score(i)  # comparable across languages
            sentence = p.sentence(i) if p.chunk.sentences else p.chunk.text
            if _names_it(wanted, sentence):
                score += 1.0  # a sentence that names the topic beats one that does not
            held = best.get(p.chunk.article_id)
            if held is None or score > held[0]:
                best[p.chunk.article_id] = (score, p, i)
    if not best:
        if not told:
            return None
        return dataclasses.replace(
            answer, text=REFUSAL, refused=True, citations=(), conflicts=(), mode="stories"
        )
    chosen = sorted(best.values(), key=lambda s: _newest_first(s[1].chunk.published))[:STORIES]
    citations = [Citation.of(n, p, i, score) for n, (score, p, i) in enumerate(chosen, 1)]
    return _story_answer(answer, citations, topic)


def headlines(settings: Settings, question: str, filters: Filters | None) -> Answer:
    """The newest STORIES articles passing ``filters``, each with its lead sentence."""
    today = timeline.today_of(settings.today).isoformat()
    described = filters.describe() if filters else None
    base = Answer(question, REFUSAL, True, "stories", today=today, filters=described)
    manifest = _open(settings)
    if manifest is None:
        return base
    try:
        rows = manifest.list_articles(filters, STORIES)
        ids = [str(r["first_chunk"]) for r in rows if r["first_chunk"]]
        chunks = manifest.chunks(ids)
    finally:
        manifest.close()
    citations: list[Citation] = []
    for row in rows:
        chunk = chunks.get(str(row["first_chunk"]))
        if chunk is None:
            continue
        passage = Passage(chunk, 0.0, 0.0, 0.0)
        citations.append(Citation.of(len(citations) + 1, passage, 0, 0.0))
    if not citations:
        return base
    return _story_answer(dataclasses.replace(base, passages=()), citations, "")


def respond(
    settings: Settings,
    question: str,
    filters: Filters | None,
    answer: Callable[[], Answer],
) -> Answer:
    """The answer a face shows for ``question`` under ``filters``; ``answer()`` runs the
    (filtered) Answerer, only when the question needs it.

    Raises FilterError for an outlet the index does not have.
    """
    check_sources(settings, filters)
    empty = nothing_left(settings, filters)
    if empty is not None:
        today = timeline.today_of(settings.today).isoformat()
        described = filters.describe() if filters else None
        return Answer(
            question, REFUSAL, True, "extractive", notice=empty, today=today, filters=described
        )
    topic = broad_topic(question)
    if topic == "" and (filters or not question.strip() or _BROAD.match(question)):
        return headlines(settings, question, filters)
    got = answer()
    if topic:
        return by_story(got, topic) or got
    return got
