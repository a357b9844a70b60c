"""Dates: when an article was published, and the dates that its sentences speak of.

``published_epoch`` turns an article's ISO date into whole seconds since 1970 (UTC), the number
Chroma's range filters need. ``resolve_dates(text, anchor)`` finds date expressions in a sentence
and places them against the article's own date (the anchor):

- explicit dates: "7 أكتوبر 2023", "December 3, 2024", "2024-12-03";
- months in both Arabic systems (كانون الثاني ... كانون الأول and يناير ... ديسمبر, also the
  Maghrebi جانفي ... and paired forms "كانون الأول/ديسمبر"), with or without a year;
- parts of a month: "early December", "أوائل كانون الأول", "mid-October", "أواخر الشهر" ...;
- weekdays: "on Tuesday", "يوم الثلاثاء", "next Monday", "الخميس المقبل";
- relative expressions: "next week", "الأسبوع المقبل", "last month", "العام الماضي", "tomorrow".

Nothing is invented: without an anchor (an undated article) an expression that needs one
(a weekday, "next week", a month without a year) is returned unresolved (``first is None``).

Written by hand rather than with dateparser: dateparser's ``search_dates`` reads single common
words as dates and does not place a bare weekday the way news style uses it (the most recent
one, unless the sentence speaks of the future).
"""

from __future__ import annotations

import calendar
import datetime as dt
import email.utils
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from index.text import ascii_digits, normalize_arabic

# --- publication dates -------------------------------------------------------------------------


def parse_published(value: str | None) -> dt.datetime | dt.date | None:
    """An ISO 8601 date or datetime string as a date or datetime; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.date() if len(text) <= 10 else parsed


def iso_date(value: Any) -> str | None:
    """A loaded date as stored: an ISO 8601 date or datetime string, from a date, a datetime, an
    ISO string or an RFC 2822 one (feeds, e-mail); None when ``value`` is not a recognisable date.
    """
    if isinstance(value, dt.date):  # a datetime too
        return value.isoformat()
    if value is None or value == "":
        return None
    text = str(value).strip()
    parsed = parse_published(text)
    if parsed is None:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return parsed.isoformat()


def article_day(published: str | None) -> dt.date | None:
    """The calendar day the article gives as its date (its own time zone, not shifted to UTC)."""
    value = parse_published(published)
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def published_epoch(published: str | None) -> int | None:
    """Seconds since 1970 (UTC); a bare date counts from its midnight UTC, a naive time as UTC."""
    value = parse_published(published)
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp())


def day_epoch(day: dt.date) -> int:
    """Seconds since 1970 at the start (00:00 UTC) of ``day``."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def parse_day(text: str, today: dt.date | None = None) -> dt.date:
    """A day typed by a person: 2024-11-01, 2024-11 (its first day), today, yesterday, 7d (ago).

    Raises ValueError with a message fit to show.
    """
    value = text.strip().lower()
    today = today or dt.date.today()
    if value == "today":
        return today
    if value == "yesterday":
        return today - dt.timedelta(days=1)
    relative = re.fullmatch(r"(\d{1,4})\s*([dwm])", value)
    if relative:
        n, unit = int(relative.group(1)), relative.group(2)
        days = n * {"d": 1, "w": 7, "m": 30}[unit]
        return today - dt.timedelta(days=days)
    month = re.fullmatch(r"(\d{4})-(\d{1,2})", value)
    try:
        if month:
            return dt.date(int(month.group(1)), int(month.group(2)), 1)
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        raise ValueError(
            f"not a date: {text!r} (use YYYY-MM-DD, YYYY-MM, today, yesterday or 7d)"
        ) from None


# --- dates inside text -------------------------------------------------------------------------


@dataclass(frozen=True)
class DateMention:
    """A date expression in a text, and the days it covers (None: it cannot be placed)."""

    text: str
    start: int
    end: int
    kind: str  # day, weekday, part (of a month/week/year), week, month, year
    first: dt.date | None = None
    last: dt.date | None = None

    @property
    def resolved(self) -> bool:
        return self.first is not None

    def span_label(self) -> str:
        """'2024-12-03', '2024-12-01 to 2024-12-10', or 'undated'."""
        if self.first is None or self.last is None:
            return "undated"
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()} to {self.last.isoformat()}"

    def status(self, today: dt.date) -> str | None:
        """'past', 'upcoming' or 'current' relative to ``today``; None when unresolved."""
        if self.first is None or self.last is None:
            return None
        if self.last < today:
            return "past"
        if self.first > today:
            return "upcoming"
        return "current"


def normalize_word(text: str) -> str:
    """A matched word as compared: ``normalize_arabic``, lower case, single spaces.

    The patterns find words in their spelling variants (``_ar``); what they found is compared
    with a word list after both went through this one function.
    """
    return " ".join(normalize_arabic(text).lower().split())


def _ar(word: str) -> str:
    """A regex for an Arabic word that tolerates the usual spelling variants of alef, ya, ta."""
    out = []
    for ch in word:
        if ch in "اأإآ":
            out.append("[اأإآ]")
        elif ch == "ة":
            out.append("[ةه]")
        elif ch in "ىي":
            out.append("[يى]")
        elif ch == " ":
            out.append(r"\s+")
        else:
            out.append(re.escape(ch))
    return "".join(out)


_LEVANTINE = {
    1: r"كانون\s+(?:ال)?ثاني",
    2: r"شباط",
    3: _ar("آذار"),
    4: r"نيسان",
    5: _ar("أيار"),
    6: r"حزيران",
    7: r"تموز",
    8: r"[آا]ب",  # not أب (father)
    9: _ar("أيلول"),
    10: r"تشرين\s+(?:ال)?" + _ar("أول"),
    11: r"تشرين\s+(?:ال)?ثاني",
    12: r"كانون\s+(?:ال)?" + _ar("أول"),
}
_ARABIC_MONTHS = {
    1: ("يناير", "جانفي"),
    2: ("فبراير", "فيفري", "فبرایر"),
    3: ("مارس",),
    4: ("أبريل", "ابريل", "إبريل", "أفريل"),
    5: ("مايو", "ماي"),
    6: ("يونيو", "يونيه", "جوان"),
    7: ("يوليو", "يوليه", "جويلية"),
    8: ("أغسطس", "أوت"),
    9: ("سبتمبر",),
    10: ("أكتوبر",),
    11: ("نوفمبر",),
    12: ("ديسمبر",),
}
_ENGLISH_MONTHS = {
    i: (calendar.month_name[i], calendar.month_abbr[i] + r"\.?") for i in range(1, 13)
}
_ENGLISH_MONTHS[9] = ("September", r"Sept?\.?")

_MONTH_RX: dict[int, re.Pattern[str]] = {}
for _n in range(1, 13):
    _alts = [_LEVANTINE[_n], *(_ar(w) for w in _ARABIC_MONTHS[_n]), *_ENGLISH_MONTHS[_n]]
    _MONTH_RX[_n] = re.compile("(?:" + "|".join(_alts) + ")")
# Longest first, so "كانون الثاني" is not read as a shorter name.
_MONTH = "(?:" + "|".join(sorted((p.pattern for p in _MONTH_RX.values()), key=len)[::-1]) + ")"


def _month_pair(group: str) -> str:
    """A month name, optionally followed by the same month in the other system."""
    return rf"(?P<{group}>{_MONTH})(?:\s*/\s*{_MONTH}|\s*\(\s*{_MONTH}\s*\))?"


def _month_number(text: str) -> int:
    for n, rx in _MONTH_RX.items():
        if rx.fullmatch(text):
            return n
    raise ValueError(text)  # pragma: no cover - the pattern only matches month names


_B = r"(?<!\w)"  # word start (Arabic letters are \w too)
_E = r"(?!\w)"
# ", 2024", " 2024م", " من العام 2024"
_YEAR = (
    r"(?:\s*[,،]?\s*(?:من\s+)?(?:(?:" + _ar("العام") + "|" + _ar("عام") + r"|سنة)\s+)?"
    r"(?P<y>\d{4})(?:\s*م(?!\w))?)"
)
_AR_PREFIX = "[وبفل]?"

_PART_WORDS = {
    "early": ("أوائل", "مطلع", "بداية", "بدايات", "مستهل", "أول", "early", "the start of",
              "the beginning of", "start of", "beginning of", "earlier"),
    "mid": ("منتصف", "أواسط", "وسط", "mid", "the middle of", "middle of"),
    "late": ("أواخر", "نهاية", "ختام", "آخر", "late", "the end of", "end of", "later"),
}  # fmt: skip


def _part_regex() -> str:
    alts = []
    for words in _PART_WORDS.values():
        for w in words:
            alts.append(_ar(w) if w[0] > "\u0600" else w.replace(" ", r"\s+"))
    return "(?:" + "|".join(sorted(alts, key=len, reverse=True)) + ")"


_PART = _part_regex()


_PART_OF = {normalize_word(w): part for part, words in _PART_WORDS.items() for w in words}


def _part_of(word: str) -> str:
    return _PART_OF.get(normalize_word(word), "early")


_WEEKDAYS_EN = [calendar.day_name[i] for i in range(7)]  # Monday first, as date.weekday()
_WEEKDAYS_AR = ["اثنين", "ثلاثاء", "أربعاء", "خميس", "جمعة", "سبت", "أحد"]
_WEEKDAY_AR_RX = [re.compile(_ar(w) if w != "اثنين" else "[اإ]ثنين") for w in _WEEKDAYS_AR]

# The words that make "next" / "last" of a weekday, week, month or year.
_NEXT_WORDS = (
    "next", "coming", "the coming", "this coming", "المقبل", "القادم", "المقبلة", "القادمة",
)  # fmt: skip
_LAST_WORDS = (
    "last", "past", "the past", "الماضي", "المنصرم", "الفائت", "الماضية", "المنصرمة",
)  # fmt: skip
_THIS_AR_WORDS = ("الجاري", "الحالي", "الجارية", "الحالية")
_NEXT_AR = "|".join(_ar(w) for w in _NEXT_WORDS if not w.isascii())
_LAST_AR = "|".join(_ar(w) for w in _LAST_WORDS if not w.isascii())
_THIS_AR = "|".join(_ar(w) for w in _THIS_AR_WORDS)
_NEXT = frozenset(normalize_word(w) for w in _NEXT_WORDS)
_LAST = frozenset(normalize_word(w) for w in _LAST_WORDS)

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("iso", re.compile(r"(?<!\d)(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?![\d:])")),
    (
        "dmy",
        re.compile(
            rf"{_B}(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{_AR_PREFIX}{_month_pair('m')}"
            rf"{_YEAR}?{_E}"
        ),
    ),
    (
        "mdy",
        re.compile(rf"{_B}{_month_pair('m')}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?{_YEAR}?{_E}"),
    ),
    (
        "part_month",
        re.compile(
            rf"{_B}{_AR_PREFIX}(?P<part>(?i:{_PART}))[\s-]+(?:(?:{_ar('شهر')})\s+)?"
            rf"{_month_pair('m')}{_YEAR}?{_E}"
        ),
    ),
    (
        "month",
        re.compile(
            rf"{_B}(?P<prep>(?i:in|during|since|until|till|by|from|before|after|through|for|"
            rf"of|this|last|next)|{_AR_PREFIX}(?:في|خلال|منذ|حتى|قبل|بعد|من|مع|"
            rf"{_ar('إلى')}|{_ar('حلول')}|{_ar('شهر')}|{_ar('الشهر')}))\s+"
            rf"(?:(?:{_ar('شهر')})\s+)?(?P<x>{_month_pair('m')}{_YEAR}?){_E}"
        ),
    ),
    ("month_year", re.compile(rf"{_B}{_month_pair('m')}{_YEAR}{_E}")),
    ("month_paired", re.compile(rf"{_B}(?P<m>{_MONTH})\s*/\s*{_MONTH}{_E}")),
    (
        "relative",
        re.compile(
            rf"{_B}(?:(?P<part>(?i:early|mid|late|earlier|later))[\s-]+)?"
            r"(?P<which>(?i:next|last|this|the\s+coming|the\s+past|coming|past))\s+"
            rf"(?P<unit>(?i:week|month|year)){_E}"
        ),
    ),
    (
        "relative_ar",
        re.compile(
            rf"{_B}(?:{_AR_PREFIX}(?P<part>{_PART})\s+)?{_AR_PREFIX}"
            rf"(?P<unit>{_ar('الأسبوع')}|{_ar('الشهر')}|{_ar('العام')}|{_ar('السنة')})\s+"
            rf"(?P<which>{_NEXT_AR}|{_LAST_AR}|{_THIS_AR}){_E}"
        ),
    ),
    (
        "this_ar",
        re.compile(
            rf"{_B}(?:{_AR_PREFIX}(?P<part>{_PART})\s+)?{_AR_PREFIX}(?:هذا|هذه)\s+"
            rf"(?P<unit>{_ar('الأسبوع')}|{_ar('الشهر')}|{_ar('العام')}|{_ar('السنة')}){_E}"
        ),
    ),
    (
        "day_word",
        re.compile(
            rf"{_B}(?P<w>(?i:today|tonight|tomorrow|yesterday)|{_AR_PREFIX}(?:غد[اًًا]*|"
            rf"{_ar('بعد غد')}|{_ar('أمس الأول')}|{_ar('أمس')}|{_ar('الأمس')})){_E}"
        ),
    ),
    (
        "weekday",
        re.compile(
            rf"{_B}(?:(?P<mod>(?i:next|last|this|this\s+coming|coming|past|on|early\s+on|"
            rf"late\s+on))\s+)?(?P<wd>{'|'.join(_WEEKDAYS_EN)})(?:\s+(?P<mod2>(?i:next\s+week|"
            rf"last\s+week)))?{_E}"
        ),
    ),
    (
        "weekday_ar",
        re.compile(
            rf"{_B}(?:(?P<pre>{_AR_PREFIX}(?:يوم|صباح|مساء|ليلة|نهار|فجر|ظهر|{_ar('اليوم')}))\s+)?"
            rf"(?P<wd>{_AR_PREFIX}ال(?:{'|'.join(p.pattern for p in _WEEKDAY_AR_RX)}))"
            rf"(?:\s+(?P<mod>{_NEXT_AR}|{_LAST_AR}))?{_E}"
        ),
    ),
]

# Words just before a weekday that put it in the future ("will meet on Tuesday", "سيجتمعون").
_FUTURE_EN = re.compile(
    r"\b(will|shall|'ll|to be held|is due|are due|due to|scheduled|set to|expected to|plans? to|"
    r"planned|is to|are to|upcoming)\b",
    re.IGNORECASE,
)
_FUTURE_AR = re.compile(
    rf"(?<!\w)(?:سوف|{_ar('المقرر')}|{_ar('المتوقع')}|{_ar('يعتزم')}|{_ar('تعتزم')}|"
    rf"{_ar('المزمع')})(?!\w)"
)
# Arabic future verbs start with س + a present-tense prefix; these nouns look the same.
_FUTURE_VERB = re.compile(r"(?<!\w)[وف]?س[يتنأ]\w{3,}")
_NOT_FUTURE = {
    "سياسة", "سياسي", "سياسية", "سياسيا", "سيارة", "سيارات", "سيدة", "سيطرة", "سيناء", "ستة",
    "ستين", "سنة", "سنوات", "سنوي", "سنوية", "سيول", "سيادة", "سياق", "سيف", "ستار",
    "سنين", "سيرة", "سيما", "سياسات", "سياسيين", "سيناريو", "ستون", "سيؤول", "سنغافورة",
}  # fmt: skip


def _future_context(text: str, start: int) -> bool:
    before = text[max(0, start - 80) : start]
    words = before.split()[-5:]
    window = " ".join(words)
    if _FUTURE_EN.search(window) or _FUTURE_AR.search(window):
        return True
    for w in words:
        bare = w.strip("،,.\"'“”«»()")
        if _FUTURE_VERB.fullmatch(bare) and bare.lstrip("وف") not in _NOT_FUTURE:
            return True
    return False


def _month_range(year: int, month: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def _part_range(first: dt.date, last: dt.date, part: str | None) -> tuple[dt.date, dt.date]:
    """Early/mid/late thirds of a range (days 1-10, 11-20, 21-end of a month)."""
    if part is None:
        return first, last
    days = (last - first).days + 1
    if days >= 28 and days <= 31:  # a month: news style means days 1-10, 11-20, 21-end
        if part == "early":
            return first, first + dt.timedelta(days=9)
        if part == "mid":
            return first + dt.timedelta(days=10), first + dt.timedelta(days=19)
        return first + dt.timedelta(days=20), last
    third = days // 3
    if part == "early":
        return first, first + dt.timedelta(days=third - 1)
    if part == "mid":
        return first + dt.timedelta(days=third), last - dt.timedelta(days=third)
    return last - dt.timedelta(days=third - 1), last


def _nearest_year(anchor: dt.date, month: int, day: int | None) -> int | None:
    """The year that puts ``month``/``day`` nearest the anchor (a year-less date in an article)."""
    best: tuple[int, int] | None = None
    for year in (anchor.year - 1, anchor.year, anchor.year + 1):
        try:
            when = dt.date(year, month, day or 15)
        except ValueError:
            continue
        distance = abs((when - anchor).days)
        if best is None or distance < best[0]:
            best = (distance, year)
    return best[1] if best else None


def _year(match: re.Match[str]) -> int | None:
    y = match.groupdict().get("y")
    if y is None:
        return None
    value = int(y)
    return value if 1900 <= value <= 2200 else None


Resolver = Callable[[re.Match[str], str, dt.date | None], DateMention | None]


def _mention(
    match: re.Match[str],
    kind: str,
    span: tuple[dt.date, dt.date] | None,
    group: str | int = 0,
) -> DateMention:
    a, b = match.span(group)
    text = match.string[a:b]
    first, last = span if span else (None, None)
    return DateMention(text, a, b, kind, first, last)


def _resolve_day(match: re.Match[str], pattern: str, anchor: dt.date | None) -> DateMention | None:
    month = int(match.group("m")) if pattern == "iso" else _month_number(match.group("m"))
    day = int(match.group("d"))
    year = _year(match)
    if year is None and match.groupdict().get("y"):
        return None
    if year is None:
        if anchor is None:
            return _mention(match, "day", None)
        year = _nearest_year(anchor, month, day)
        if year is None:
            return None
    try:
        when = dt.date(year, month, day)
    except ValueError:
        return None
    return _mention(match, "day", (when, when))


def _resolve_month(
    match: re.Match[str], pattern: str, anchor: dt.date | None
) -> DateMention | None:
    month = _month_number(match.group("m"))
    year = _year(match)
    groups = match.groupdict()
    part = _part_of(groups["part"]) if groups.get("part") else None
    prep = (groups.get("prep") or "").lower()
    group: str | int = "x" if pattern == "month" else 0
    kind = "part" if part else "month"
    if year is None:
        if anchor is None:
            return _mention(match, kind, None, group)
        if prep == "last":
            year = anchor.year if month < anchor.month else anchor.year - 1
            group = 0
        elif prep == "next":
            year = anchor.year if month > anchor.month else anchor.year + 1
            group = 0
        elif prep == "this":
            year = anchor.year
            group = 0
        else:
            year = _nearest_year(anchor, month, None) or anchor.year
    first, last = _month_range(year, month)
    return _mention(match, kind, _part_range(first, last, part), group)


def _unit_range(anchor: dt.date, unit: str, offset: int) -> tuple[dt.date, dt.date]:
    if unit == "week":
        start = anchor - dt.timedelta(days=anchor.weekday()) + dt.timedelta(weeks=offset)
        return start, start + dt.timedelta(days=6)
    if unit == "month":
        index = anchor.year * 12 + anchor.month - 1 + offset
        return _month_range(index // 12, index % 12 + 1)
    year = anchor.year + offset
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


_UNIT_OF = {
    normalize_word(w): unit
    for w, unit in (("week", "week"), ("month", "month"), ("year", "year"),
                    ("الأسبوع", "week"), ("الشهر", "month"), ("العام", "year"), ("السنة", "year"))
}  # fmt: skip


def _unit_of(word: str) -> str:
    return _UNIT_OF.get(normalize_word(word), "year")


def _offset_of(word: str) -> int:
    word = normalize_word(word)
    return 1 if word in _NEXT else -1 if word in _LAST else 0


def _resolve_relative(
    match: re.Match[str], pattern: str, anchor: dt.date | None
) -> DateMention | None:
    groups = match.groupdict()
    unit = _unit_of(groups["unit"])
    offset = _offset_of(groups.get("which") or "this")
    part_word = (groups.get("part") or "").lower()
    if anchor is None:
        return _mention(match, unit, None)
    first, last = _unit_range(anchor, unit, offset)
    if part_word == "earlier" and offset == 0:
        return _mention(match, "part", (first, max(first, anchor)))
    if part_word == "later" and offset == 0:
        return _mention(match, "part", (min(anchor, last), last))
    part = _part_of(part_word) if part_word else None
    return _mention(match, "part" if part else unit, _part_range(first, last, part))


# Parts of the Arabic day words, normalised as the matched words are.
_TOMORROW = (normalize_word("غد"), normalize_word("غدًا"))
_AFTER = normalize_word("بعد")
_YESTERDAY = normalize_word("أمس")
_BEFORE_YESTERDAY = normalize_word("الأول")


def _resolve_day_word(
    match: re.Match[str], pattern: str, anchor: dt.date | None
) -> DateMention | None:
    word = normalize_word(match.group("w"))
    if word in ("today", "tonight"):
        delta = 0
    elif word == "tomorrow" or word.endswith(_TOMORROW):
        delta = 2 if _AFTER in word else 1
    elif word == "yesterday" or _YESTERDAY in word:
        delta = -2 if _BEFORE_YESTERDAY in word else -1
    else:  # pragma: no cover - the pattern lists every word
        return None
    if anchor is None:
        return _mention(match, "day", None)
    when = anchor + dt.timedelta(days=delta)
    return _mention(match, "day", (when, when))


def _weekday_number(word: str) -> int:
    for i, name in enumerate(_WEEKDAYS_EN):
        if word.lower() == name.lower():
            return i
    bare = re.sub(r"^[وبفل]?ال", "", word)
    for i, rx in enumerate(_WEEKDAY_AR_RX):
        if rx.fullmatch(bare):
            return i
    raise ValueError(word)  # pragma: no cover


def _resolve_weekday(
    match: re.Match[str], pattern: str, anchor: dt.date | None
) -> DateMention | None:
    groups = match.groupdict()
    weekday = _weekday_number(groups["wd"])
    mod = normalize_word(groups.get("mod") or "")
    mod2 = normalize_word(groups.get("mod2") or "")
    if anchor is None:
        return _mention(match, "weekday", None)
    explicit_next = mod in _NEXT
    if explicit_next:
        direction = 1
    elif mod in _LAST:
        direction = -1
    elif mod2:
        direction = 0
    else:
        direction = 1 if _future_context(match.string, match.start()) else 0
    if mod2:  # "Tuesday next week": that weekday in the named week
        start = anchor - dt.timedelta(days=anchor.weekday())
        start += dt.timedelta(weeks=1 if mod2.startswith("next") else -1)
        when = start + dt.timedelta(days=weekday)
    elif direction == 1:  # the next such day (strictly after the anchor when "next")
        ahead = (weekday - anchor.weekday()) % 7
        if ahead == 0 and explicit_next:
            ahead = 7
        when = anchor + dt.timedelta(days=ahead)
    else:  # the most recent such day, the anchor itself included unless "last"
        back = (anchor.weekday() - weekday) % 7
        if back == 0 and direction == -1:
            back = 7
        when = anchor - dt.timedelta(days=back)
    return _mention(match, "weekday", (when, when))


_RESOLVERS: dict[str, Resolver] = {
    "iso": _resolve_day,
    "dmy": _resolve_day,
    "mdy": _resolve_day,
    "part_month": _resolve_month,
    "month": _resolve_month,
    "month_year": _resolve_month,
    "month_paired": _resolve_month,
    "relative": _resolve_relative,
    "relative_ar": _resolve_relative,
    "this_ar": _resolve_relative,
    "day_word": _resolve_day_word,
    "weekday": _resolve_weekday,
    "weekday_ar": _resolve_weekday,
}


def resolve_dates(text: str, anchor: dt.date | None) -> list[DateMention]:
    """Date expressions in ``text`` in reading order, placed against ``anchor`` when needed.

    Overlapping candidates keep the longest (e.g. "أوائل كانون الأول/ديسمبر" over "كانون الأول").
    """
    found: list[DateMention] = []
    for name, pattern in _PATTERNS:
        for match in pattern.finditer(text):
            mention = _RESOLVERS[name](match, name, anchor)
            if mention is not None:
                found.append(mention)
    found.sort(key=lambda m: (m.start, -(m.end - m.start)))
    chosen: list[DateMention] = []
    for m in sorted(found, key=lambda m: -(m.end - m.start)):
        if all(m.end <= c.start or m.start >= c.end for c in chosen):
            chosen.append(m)
    return sorted(chosen, key=lambda m: m.start)


# A bare year ("in 1998", "عام 1990"): not placed by resolve_dates (a year alone is no day or
# month), but it answers "when" as well as a date does.
_BARE_YEAR = re.compile(r"(?<![\d.,])(1[0-9]{3}|20[0-9]{2})(?![\d.,]?\d)")


def mentions_time(text: str) -> bool:
    """Whether ``text`` names a time: a date expression ``resolve_dates`` finds, or a year."""
    return bool(_BARE_YEAR.search(ascii_digits(text))) or bool(resolve_dates(text, None))


# --- time questions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeWindow:
    """The publication days a question asks about ("yesterday", "since Monday", "هذا الشهر").

    ``start``/``end`` is the span of the question to take out (with its "since", "from", "'s")
    before searching: the words name the filter, not the news.
    """

    first: dt.date
    last: dt.date
    said: str  # the words as asked: "yesterday", "since Monday"
    start: int
    end: int


_SINCE = re.compile(rf"(?:{_B}(?i:since)|{_AR_PREFIX}منذ)\s+$")
_LEAD = re.compile(
    rf"(?:{_B}(?i:in|of|during|over|for|from|on|since|within)|{_AR_PREFIX}(?:في|خلال|منذ|من))\s+$"
)
_POSSESSIVE = re.compile(r"^['’]s(?!\w)")
# Words resolve_dates leaves alone since articles rarely use them for dates, but readers do.
_EXTRA_DAYS = re.compile(
    rf"{_B}(?P<w>{_ar('اليوم')}|{_ar('البارحة')}|(?i:(?:the\s+)?(?:past|last)\s+"
    rf"(?P<n>\d{{1,3}})\s+(?P<u>days?|weeks?))|{_ar('آخر')}\s+(?P<an>\d{{1,3}})\s+"
    rf"(?P<au>{_ar('أيام')}|{_ar('يوما')}|{_ar('أسابيع')}))(?!\w)"
)
_DAY_WORDS = frozenset(
    normalize_word(w) for w in ("today", "tonight", "yesterday", "أمس", "الأمس", "أمس الأول")
)


def _extra_window(text: str, today: dt.date) -> list[tuple[dt.date, dt.date, int, int]]:
    found = []
    for m in _EXTRA_DAYS.finditer(text):
        word = normalize_word(m.group("w"))
        n, unit = m.group("n") or m.group("an"), (m.group("u") or m.group("au") or "").lower()
        if n:
            days = int(n) * (7 if unit.startswith("week") or "سابيع" in unit else 1)
            found.append((today - dt.timedelta(days=days), today, m.start(), m.end()))
        elif word == normalize_word("اليوم"):
            found.append((today, today, m.start(), m.end()))
        else:
            yesterday = today - dt.timedelta(days=1)
            found.append((yesterday, yesterday, m.start(), m.end()))
    return found


def question_window(text: str, today: dt.date) -> TimeWindow | None:
    """The publication window a question's words name, against ``today``; None when none.

    Read: today, yesterday, this/last week, month or year, a past weekday, the past N days, in
    English and Arabic, and "since" any of these or a date (then up to today). A time still to
    come ("next week") is no publication window; nor is a bare date ("on 3 December" is when
    something happened, which articles of any later day report).
    """
    candidates: list[tuple[dt.date, dt.date, int, int]] = []
    for m in resolve_dates(text, today):
        if m.first is None or m.last is None or m.first > today:
            continue
        after_since = bool(_SINCE.search(text[: m.start]))
        if m.kind == "day" and not after_since and normalize_word(m.text) not in _DAY_WORDS:
            continue  # an explicit date: when it happened, not when it was reported
        if m.kind == "part":
            continue  # "early last month": too fine for a publication filter
        candidates.append((m.first, m.last, m.start, m.end))
    taken = [(a, b) for _, _, a, b in candidates]
    for first, last, a, b in _extra_window(text, today):
        if all(b <= s or a >= e for s, e in taken):
            candidates.append((first, last, a, b))
    if not candidates:
        return None
    first, last, start, end = min(candidates, key=lambda c: c[2])
    since = _SINCE.search(text[:start])
    if since:
        last = today
    lead = since or _LEAD.search(text[:start])
    cut = lead.start() if lead else start
    said = " ".join(text[since.start() if since else start : end].split())
    tail = _POSSESSIVE.match(text[end:])
    return TimeWindow(first, min(last, today), said, cut, end + (tail.end() if tail else 0))
