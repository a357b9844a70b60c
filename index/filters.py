"""Search filters: a date range and sources, for Chroma, for the lexical index, and as typed.

``Filters`` is what ``Retriever.search(..., filters=)`` and ``Answerer.filtered(...)`` take.
``parse_filters(text)`` reads them from a message, for chat front ends (Telegram)::

    /ask since:2024-11-01 until:2024-11-30 source:reuters what happened in Gaza?
    /ask source:"Al Jazeera",AFP منذ:2024-11-01 متى الاجتماع؟

Dates are YYYY-MM-DD, YYYY-MM (its first day), today, yesterday, or 7d / 2w / 3m ago; ``until``
includes its whole day. Days are UTC days, like the stored ``published_epoch``. An undated
article never passes a date filter: nothing is known of its date, so none is assumed.

Without since:/until:, the question's own time words are the date filter ("What happened
yesterday?", "since Monday", "هذا الشهر": ``index.dates.question_window``), taken out of the
question and kept in ``Filters.said`` for the answer to say what was searched.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from index.dates import day_epoch, parse_day, question_window
from index.errors import FilterError


def source_key(name: str) -> str:
    """A source name as matched by filters: case and spacing ignored."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class Filters:
    """Articles published in [since, until] (whole days, UTC) from any of ``sources``."""

    since: dt.date | None = None
    until: dt.date | None = None
    sources: tuple[str, ...] = ()
    said: str | None = None  # the question's words that set the dates ("yesterday")

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise FilterError(
                f"since ({self.since.isoformat()}) is after until ({self.until.isoformat()})"
            )

    def __bool__(self) -> bool:
        return bool(self.since or self.until or self.sources)

    @property
    def _range(self) -> tuple[int | None, int | None]:
        low = day_epoch(self.since) if self.since else None
        high = day_epoch(self.until + dt.timedelta(days=1)) if self.until else None
        return low, high

    def chroma_where(self) -> dict[str, Any] | None:
        """A Chroma ``where`` on the chunk metadata ``published_epoch`` and ``source_key``."""
        low, high = self._range
        clauses: list[dict[str, Any]] = []
        if low is not None:
            clauses.append({"published_epoch": {"$gte": low}})
        if high is not None:
            clauses.append({"published_epoch": {"$lt": high}})
        if self.sources:
            keys = sorted({source_key(s) for s in self.sources})
            clauses.append({"source_key": keys[0] if len(keys) == 1 else {"$in": keys}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def sql(self, table: str = "a") -> tuple[str, list[Any]]:
        """The same condition on the manifest's ``articles`` table (aliased ``table``)."""
        low, high = self._range
        parts: list[str] = []
        params: list[Any] = []
        if low is not None:
            parts.append(f"{table}.published_epoch >= ?")
            params.append(low)
        if high is not None:
            parts.append(f"{table}.published_epoch < ?")
            params.append(high)
        if self.sources:
            keys = sorted({source_key(s) for s in self.sources})
            parts.append(f"{table}.source_key IN ({','.join('?' * len(keys))})")
            params.extend(keys)
        return " AND ".join(parts) or "1", params

    def describe(self) -> str:
        """'since 2024-11-01, until 2024-11-30, from Reuters or AFP' (empty when no filter).

        Dates read from the question's words say them: 'of 2024-09-03 (yesterday)'.
        """
        parts = []
        if self.said and self.since and self.since == self.until:
            parts.append(f"of {self.since.isoformat()} ({self.said})")
        elif self.said and self.since and self.until:
            parts.append(f"of {self.since.isoformat()} to {self.until.isoformat()} ({self.said})")
        else:
            if self.since:
                parts.append(f"since {self.since.isoformat()}")
            if self.until:
                parts.append(f"until {self.until.isoformat()}")
        if self.sources:
            parts.append("from " + " or ".join(self.sources))
        return ", ".join(parts)


_KEYS = {
    "since": "since", "منذ": "since",
    "until": "until", "حتى": "until",
    "source": "source", "sources": "source", "مصدر": "source", "المصدر": "source",
}  # fmt: skip
_FILTER = re.compile(
    r"(?<![^\s\"”»])(?P<key>since|until|sources?|منذ|حتى|المصدر|مصدر)\s*[:：]\s*"
    r"(?P<value>(?:\"[^\"]*\"|“[^”]*”|«[^»]*»|[^\s,،]+)(?:\s*[,،]\s*(?:\"[^\"]*\"|“[^”]*”|«[^»]*»|"
    r"[^\s,،]+))*)",
    re.IGNORECASE,
)
_BEFORE_MARK = re.compile(r"\s+([?؟.!,،])(?=\s|$)")  # "What happened ?" once "yesterday" is out
_VALUE = re.compile(r"\"([^\"]*)\"|“([^”]*)”|«([^»]*)»|([^\s,،]+)")


def parse_filters(text: str, today: dt.date | None = None) -> tuple[str, Filters]:
    """``(question, filters)`` from a message with ``since:``, ``until:``, ``source:`` words.

    Raises FilterError (a message fit to show) for an unreadable date or an empty range.
    """
    since = until = None
    sources: list[str] = []
    for match in _FILTER.finditer(text):
        key = _KEYS[match.group("key").lower()]
        values = [next(v for v in m.groups() if v is not None) for m in _VALUE.finditer(
            match.group("value")
        )]  # fmt: skip
        values = [" ".join(v.split()) for v in values if v.strip()]
        if key == "source":
            sources.extend(values)
            continue
        if len(values) != 1:
            raise FilterError(f"{match.group('key')}: takes one date")
        try:
            day = parse_day(values[0], today)
        except ValueError as exc:
            raise FilterError(f"{match.group('key')}: {exc}") from None
        if key == "since":
            since = day
        else:
            until = day
    question = " ".join(_FILTER.sub(" ", text).split())
    said = None
    window = question_window(question, today or dt.date.today()) if not (since or until) else None
    if window:
        since, until, said = window.first, window.last, window.said
        rest = f"{question[: window.start]} {question[window.end :]}"
        question = _BEFORE_MARK.sub(r"\1", " ".join(rest.split()))
    return question, Filters(since, until, tuple(dict.fromkeys(sources)), said)
