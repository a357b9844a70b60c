"""Dates: publication epochs, date expressions resolved against the article's date, filters,
and time-aware answers (as of, upcoming or past, disagreeing reports) on a small dated corpus.

"Today" is frozen per case through ``Settings.today``; nothing here reads the clock's date.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot import render
from bot.answer import Answerer
from bot.render import time_lines
from bot.retrieve import Retriever
from bot.timeline import facts
from index.dates import (
    article_day,
    iso_date,
    mentions_time,
    parse_day,
    published_epoch,
    question_window,
    resolve_dates,
)
from index.errors import FilterError
from index.filters import Filters, parse_filters, source_key
from index.reindex import reindex
from index.settings import Settings

GOLDEN_DIR = Path(__file__).parent / "golden"
CORPUS = GOLDEN_DIR / "dated_articles.jsonl"
GOLDEN = [
    json.loads(line)
    for line in (GOLDEN_DIR / "dated.jsonl").read_text("utf-8").splitlines()
    if line.strip()
]
TUESDAY = dt.date(2024, 11, 12)
D = dt.date.fromisoformat

# --- resolving expressions ---------------------------------------------------------------------

CASES = [
    # (text, anchor, [(expression, first, last)])
    ("سيجتمعون في أوائل كانون الأول/ديسمبر", TUESDAY,
     [("أوائل كانون الأول/ديسمبر", "2024-12-01", "2024-12-10")]),
    ("في أوائل ديسمبر", TUESDAY, [("أوائل ديسمبر", "2024-12-01", "2024-12-10")]),
    ("في منتصف أكتوبر", TUESDAY, [("منتصف أكتوبر", "2024-10-11", "2024-10-20")]),
    ("أواخر تشرين الثاني", TUESDAY, [("أواخر تشرين الثاني", "2024-11-21", "2024-11-30")]),
    ("في كانون الثاني المقبل", TUESDAY, [("كانون الثاني", "2025-01-01", "2025-01-31")]),
    ("منذ شباط/فبراير", TUESDAY, [("شباط/فبراير", "2025-02-01", "2025-02-28")]),
    ("في نيسان/أبريل 2023", TUESDAY, [("نيسان/أبريل 2023", "2023-04-01", "2023-04-30")]),
    ("في 7 أكتوبر 2023", TUESDAY, [("7 أكتوبر 2023", "2023-10-07", "2023-10-07")]),
    ("في 15 كانون الثاني", TUESDAY, [("15 كانون الثاني", "2025-01-15", "2025-01-15")]),
    ("أعلنت الوزارة يوم الثلاثاء", TUESDAY, [("يوم الثلاثاء", "2024-11-12", "2024-11-12")]),
    ("قال الخميس الماضي", TUESDAY, [("الخميس الماضي", "2024-11-07", "2024-11-07")]),
    ("سيعقد الاجتماع يوم الأحد المقبل", TUESDAY,
     [("يوم الأحد المقبل", "2024-11-17", "2024-11-17")]),
    ("سيجتمعون يوم الخميس", TUESDAY, [("يوم الخميس", "2024-11-14", "2024-11-14")]),
    ("وصل الوفد يوم الخميس", TUESDAY, [("يوم الخميس", "2024-11-07", "2024-11-07")]),
    ("الأسبوع المقبل", TUESDAY, [("الأسبوع المقبل", "2024-11-18", "2024-11-24")]),
    ("الشهر الماضي", TUESDAY, [("الشهر الماضي", "2024-10-01", "2024-10-31")]),
    ("قال أمس إن الوفد يصل غداً", TUESDAY,
     [("أمس", "2024-11-11", "2024-11-11"), ("غداً", "2024-11-13", "2024-11-13")]),
    ("officials said on Tuesday", TUESDAY, [("on Tuesday", "2024-11-12", "2024-11-12")]),
    ("they will meet on Friday", TUESDAY, [("on Friday", "2024-11-15", "2024-11-15")]),
    ("the vote was on Friday", TUESDAY, [("on Friday", "2024-11-08", "2024-11-08")]),
    ("next Tuesday", TUESDAY, [("next Tuesday", "2024-11-19", "2024-11-19")]),
    ("They meet next week.", TUESDAY, [("next week", "2024-11-18", "2024-11-24")]),
    ("in early December", TUESDAY, [("early December", "2024-12-01", "2024-12-10")]),
    ("by mid-January", TUESDAY, [("mid-January", "2025-01-11", "2025-01-20")]),
    ("at the end of October", TUESDAY, [("the end of October", "2024-10-21", "2024-10-31")]),
    ("on December 3, 2024", TUESDAY, [("December 3, 2024", "2024-12-03", "2024-12-03")]),
    ("on 25 November", TUESDAY, [("25 November", "2024-11-25", "2024-11-25")]),
    ("in January 2025", TUESDAY, [("January 2025", "2025-01-01", "2025-01-31")]),
    ("last month", TUESDAY, [("last month", "2024-10-01", "2024-10-31")]),
    ("later this week", TUESDAY, [("later this week", "2024-11-12", "2024-11-17")]),
    ("yesterday and tomorrow", TUESDAY,
     [("yesterday", "2024-11-11", "2024-11-11"), ("tomorrow", "2024-11-13", "2024-11-13")]),
    ("published 2024-11-05", TUESDAY, [("2024-11-05", "2024-11-05", "2024-11-05")]),
    # words that look like dates but are not
    ("مارس الضغط على الحكومة", TUESDAY, []),
    ("You may ask what they said.", TUESDAY, []),
]  # fmt: skip


@pytest.mark.parametrize("text,anchor,expected", CASES, ids=[c[0] for c in CASES])
def test_resolve_dates(text, anchor, expected):
    got = [(m.text, str(m.first), str(m.last)) for m in resolve_dates(text, anchor)]
    assert got == expected


def test_overlapping_expressions_keep_the_longest():
    (m,) = resolve_dates("في أوائل كانون الأول/ديسمبر المقبل", TUESDAY)
    assert m.text == "أوائل كانون الأول/ديسمبر" and m.kind == "part"


def test_an_undated_article_gets_no_invented_date():
    """Without an anchor, weekdays and year-less months stay unresolved; full dates resolve."""
    text = "أعلنت يوم الثلاثاء أنهم سيجتمعون في أوائل كانون الأول/ديسمبر، بعد هجوم 7 أكتوبر 2023"
    got = {m.text: m for m in resolve_dates(text, None)}
    assert not got["يوم الثلاثاء"].resolved
    assert not got["أوائل كانون الأول/ديسمبر"].resolved
    assert got["أوائل كانون الأول/ديسمبر"].span_label() == "undated"
    assert got["7 أكتوبر 2023"].first == dt.date(2023, 10, 7)


def test_status_is_relative_to_today():
    (m,) = resolve_dates("early December", TUESDAY)
    assert m.status(D("2024-11-22")) == "upcoming"
    assert m.status(D("2024-12-05")) == "current"
    assert m.status(D("2024-12-11")) == "past"
    (u,) = resolve_dates("early December", None)
    assert u.status(D("2024-11-22")) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-11-26", "2024-11-26"),
        ("2024-11-26T09:30:00Z", "2024-11-26T09:30:00+00:00"),
        ("Tue, 26 Nov 2024 09:30:00 +0200", "2024-11-26T09:30:00+02:00"),
        (dt.date(2024, 11, 26), "2024-11-26"),
        (dt.datetime(2024, 11, 26, 9, 30), "2024-11-26T09:30:00"),
        ("next Tuesday", None),
        ("", None),
        (None, None),
    ],
)
def test_iso_date(value, expected):
    assert iso_date(value) == expected


def test_published_epoch_and_day():
    assert published_epoch("2024-11-12") == 1731369600
    assert published_epoch("2024-11-12T10:00:00+02:00") == 1731369600 + 8 * 3600
    assert published_epoch("2024-11-12T10:00:00") == 1731369600 + 10 * 3600  # naive = UTC
    assert published_epoch(None) is None and published_epoch("not a date") is None
    assert article_day("2024-11-12T23:30:00-05:00") == TUESDAY  # the article's own day


def test_parse_day():
    today = D("2024-11-22")
    assert parse_day("2024-11-01") == D("2024-11-01")
    assert parse_day("2024-11") == D("2024-11-01")
    assert parse_day("today", today) == today
    assert parse_day("7d", today) == D("2024-11-15")
    with pytest.raises(ValueError, match="not a date"):
        parse_day("soon")


# --- filters -----------------------------------------------------------------------------------


def test_parse_filters_for_chat_front_ends():
    question, f = parse_filters("since:2024-11-01 until:2024-11-30 source:reuters what happened?")
    assert question == "what happened?"
    assert f == Filters(D("2024-11-01"), D("2024-11-30"), ("reuters",))
    question, f = parse_filters('source:"Al Jazeera",AFP منذ:2024-11 متى الاجتماع؟')
    assert question == "متى الاجتماع؟" and f.sources == ("Al Jazeera", "AFP")
    assert f.since == D("2024-11-01")
    question, f = parse_filters("plain question")
    assert question == "plain question" and not f
    with pytest.raises(FilterError, match="not a date"):
        parse_filters("since:someday question")
    with pytest.raises(FilterError, match="after until"):
        parse_filters("since:2024-12-01 until:2024-11-01 question")


def test_a_quoted_source_right_before_another_filter():
    question, f = parse_filters('source:"a"since:2024-01-01 q')
    assert question == "q" and f == Filters(D("2024-01-01"), None, ("a",))


WEDNESDAY = D("2024-09-04")


@pytest.mark.parametrize(
    ("question", "first", "last", "said"),
    [
        ("What happened yesterday?", "2024-09-03", "2024-09-03", "yesterday"),
        ("What happened last week?", "2024-08-26", "2024-09-01", "last week"),
        ("news from this month", "2024-09-01", "2024-09-04", "this month"),
        ("What happened in Yemen since Monday?", "2024-09-02", "2024-09-04", "since Monday"),
        ("in the past 3 days", "2024-09-01", "2024-09-04", "the past 3 days"),
        ("since 2024-08-30 in Libya", "2024-08-30", "2024-09-04", "since 2024-08-30"),
        ("yesterday’s news", "2024-09-03", "2024-09-03", "yesterday"),
        ("ماذا حدث أمس؟", "2024-09-03", "2024-09-03", "أمس"),
        ("الأسبوع الماضي", "2024-08-26", "2024-09-01", "الأسبوع الماضي"),
        ("أخبار هذا الشهر", "2024-09-01", "2024-09-04", "هذا الشهر"),
        ("منذ الاثنين", "2024-09-02", "2024-09-04", "منذ الاثنين"),
        ("ما أخبار اليوم؟", "2024-09-04", "2024-09-04", "اليوم"),
    ],
)
def test_time_words_of_a_question_are_a_publication_window(question, first, last, said):
    window = question_window(question, WEDNESDAY)
    assert window is not None
    assert (window.first.isoformat(), window.last.isoformat(), window.said) == (first, last, said)


@pytest.mark.parametrize(
    "question",
    [
        "When is the meeting next week?",  # still to come: nothing was published then
        "What happened on 3 September 2024?",  # when it happened, reported on any later day
        "When is the US-Israel meeting?",
        "What happened in early August?",
    ],
)
def test_no_publication_window(question):
    assert question_window(question, WEDNESDAY) is None


def test_time_words_become_the_filter_and_leave_the_question():
    question, f = parse_filters("What happened yesterday?", WEDNESDAY)
    assert question == "What happened?"
    assert (f.since, f.until, f.said) == (D("2024-09-03"), D("2024-09-03"), "yesterday")
    assert f.describe() == "of 2024-09-03 (yesterday)"
    question, f = parse_filters("ماذا يحدث في ليبيا هذا الأسبوع؟ source:AFP", WEDNESDAY)
    assert question == "ماذا يحدث في ليبيا؟" and f.sources == ("AFP",)
    assert f.describe() == "of 2024-09-02 to 2024-09-04 (هذا الأسبوع), from AFP"
    # explicit since:/until: win, and the question keeps its words
    question, f = parse_filters("since:2024-09-01 what happened yesterday?", WEDNESDAY)
    assert question == "what happened yesterday?" and f == Filters(D("2024-09-01"))


def accepts(f: Filters, published: str | None, source: str | None) -> bool:
    """Whether an article of this date and source passes ``f``, asked of SQLite through
    ``Filters.sql`` (the condition the lexical index runs) on one row as the manifest stores it."""
    db = sqlite3.connect(":memory:")
    try:
        db.execute("CREATE TABLE articles (published_epoch INTEGER, source_key TEXT)")
        row = (published_epoch(published), source_key(source) if source else None)
        db.execute("INSERT INTO articles VALUES (?, ?)", row)
        where, params = f.sql("a")
        (count,) = db.execute(f"SELECT count(*) FROM articles a WHERE {where}", params).fetchone()
        return bool(count)
    finally:
        db.close()


def test_filters_as_chroma_where_and_in_sql():
    f = Filters(D("2024-11-01"), D("2024-11-30"), ("Reuters", "AFP"))
    assert f.chroma_where() == {
        "$and": [
            {"published_epoch": {"$gte": 1730419200}},
            {"published_epoch": {"$lt": 1733011200}},  # until includes its whole day
            {"source_key": {"$in": ["afp", "reuters"]}},
        ]
    }
    assert Filters(sources=("BBC",)).chroma_where() == {"source_key": "bbc"}
    assert Filters().chroma_where() is None
    assert accepts(f, "2024-11-30T23:59:00+00:00", "reuters")
    assert accepts(f, "2024-11-01", "AFP")
    assert not accepts(f, "2024-12-01", "Reuters")
    assert not accepts(f, "2024-10-31T23:59:59+00:00", "Reuters")
    assert not accepts(f, "2024-11-15", "BBC")
    assert not accepts(f, None, "Reuters")  # undated never passes a date filter
    assert accepts(Filters(sources=("bbc",)), None, "BBC")
    assert not accepts(Filters(sources=("bbc",)), "2024-11-15", None)
    assert accepts(Filters(), None, None)


def test_facts_leave_out_the_day_something_was_said():
    said = facts("The toll rose to 50 on Thursday, officials said.", "2024-11-14")
    assert said == {"50"}
    assert facts("They will meet in early December.", "2024-11-12") == {"2024-12-01 to 2024-12-10"}
    assert facts("وصل عدد القتلى إلى 43,972 شخصا", None) == {"43972"}


# --- answers over the dated corpus -------------------------------------------------------------


@pytest.fixture(scope="module")
def dated(tmp_path_factory: pytest.TempPathFactory, embedder) -> tuple[Settings, Retriever]:
    settings = Settings(
        store_dir=tmp_path_factory.mktemp("dated-store"),
        articles_dir=CORPUS,
        chroma_url=None,
        sources_file=tmp_path_factory.mktemp("no-sources") / "sources.toml",
    )
    report = reindex(settings)
    assert report.added == 7 and not report.skipped
    return settings, Retriever(settings, embedder=embedder)


def _answer(dated, question: str, today: str, filters: str | None = None):
    settings, retriever = dated
    frozen = settings.model_copy(update={"today": D(today)})
    answerer = Answerer(frozen, retriever=retriever)
    if filters:
        _, parsed = parse_filters(filters)
        answerer = answerer.filtered(parsed)
    return answerer.answer(question)


def test_golden_dated_set_is_big_enough():
    assert len(GOLDEN) >= 10
    assert sum(1 for g in GOLDEN if any("\u0600" <= ch <= "\u06ff" for ch in g["question"])) >= 2
    assert {"past", "upcoming", "current"} <= {d[3] for g in GOLDEN for d in g.get("dates", [])}


@pytest.mark.parametrize(
    "case", GOLDEN, ids=[f"{g['question']} @{g['today']} {g.get('filters', '')}" for g in GOLDEN]
)
def test_golden_dated(dated, case):
    answer = _answer(dated, case["question"], case["today"], case.get("filters"))
    assert not answer.refused
    assert answer.today == case["today"]
    cited = [c for c in answer.citations if case["quote"] in c.quote]
    assert cited, [c.quote for c in answer.citations]
    c = cited[0]
    if "published" in case:
        assert answer.citations[0].published.startswith(case["published"])  # newest leads
        assert c is answer.citations[0]
    if "as_of" in case:
        assert answer.as_of == case["as_of"]
    data = answer.as_json()
    got = {d["text"]: d for d in data["citations"][c.n - 1]["dates"]}
    for text, first, last, status in case.get("dates", []):
        assert got[text]["first"] == first and got[text]["last"] == last, got
        assert got[text]["status"] == status
    if case.get("wording"):
        assert case["wording"] in "\n".join(time_lines(answer))
    if "conflict" in case:
        if case["conflict"] is None:
            assert answer.conflicts == ()
        else:
            (conflict,) = answer.conflicts
            assert conflict.newer.published.startswith(case["conflict"]["newer"])
            assert conflict.older.published.startswith(case["conflict"]["older"])
            if "newer_says" in case["conflict"]:
                assert list(conflict.newer_says) == case["conflict"]["newer_says"]
                assert list(conflict.older_says) == case["conflict"]["older_says"]
            # both reports are cited, the newest first
            quotes = [x.quote for x in answer.citations]
            assert quotes.index(conflict.newer.quote) < quotes.index(conflict.older.quote)
    if "also" in case:
        assert sorted(r.article_id for r in answer.citations[0].also) == sorted(case["also"])
    if case.get("filters"):
        _, f = parse_filters(case["filters"])
        assert all(accepts(f, x.published, x.source) for x in answer.citations)
        assert answer.filters == f.describe()


def test_answer_wording_states_dates_and_as_of(dated):
    answer = _answer(dated, "How many people died in the Valencia floods?", "2024-11-22")
    text = render.plain(answer)
    assert "As of 2024-11-14 (the newest article used; today is 2024-11-22)." in text
    assert "[1] article of 2024-11-14: “on Thursday” = 2024-11-14, past." in text
    assert "Reports differ: [1] Reuters, 2024-11-14 says 50; [2] Reuters, 2024-11-12 said 30." in (
        text
    )
    assert "also: " in text  # the hidden copies are noted under the source
    meeting = render.plain(_answer(dated, "When is the US-Israel meeting?", "2024-11-22"))
    assert "“منتصف كانون الأول/ديسمبر” = 2024-12-11 to 2024-12-20, upcoming" in meeting


def test_json_keeps_the_required_keys_and_adds_time(dated):
    data = _answer(dated, "When will the climate summit open?", "2024-11-22").as_json()
    assert {"question", "answer", "refused", "mode", "citations"} <= set(data)
    assert data["as_of"] == "2024-11-20" and data["today"] == "2024-11-22"
    c = data["citations"][0]
    required = {"n", "article_id", "title", "source", "url", "published", "quote", "passage"}
    assert required | {"score"} <= set(c)
    assert {"text": "next week", "first": "2024-11-25", "last": "2024-12-01",
            "status": "upcoming"} in c["dates"]  # fmt: skip


def test_filters_hold_in_both_channels(dated):
    _, retriever = dated
    f = Filters(since=D("2024-11-13"), sources=("Reuters", "BBC"))
    found = retriever.search("death toll floods Valencia summit Baku", k=10, filters=f)
    assert found.passages
    assert {p.chunk.article_id for p in found.passages} <= {"floods-v2", "summit"}
    lexical = retriever.manifest.lexical("Valencia", 20, f)
    assert lexical and all(cid.startswith("floods-v2") for cid, _ in lexical)
    assert retriever.manifest.lexical("Valencia", 20, Filters(until=D("2024-11-01"))) == []


def test_undated_sample_article_is_labelled_undated(sample_settings):
    answer = Answerer(sample_settings).answer("When is the US-Israel meeting?")
    assert not answer.refused and answer.as_of is None
    lines = time_lines(answer)
    assert lines[0] == "As of: unknown (the articles used are undated)."
    assert any(
        line.startswith("[1] undated article:") and "cannot be placed in time" in line
        for line in lines
    )
    data = answer.as_json()
    assert data["as_of"] is None and data["citations"][0]["published"] is None
    assert all(d["first"] is None for d in data["citations"][0]["dates"])
    assert "undated" in render.plain(answer)


def test_cli_ask_with_filters_and_today(dated):
    settings, _ = dated
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update(
        NEWSBOT_STORE_DIR=str(settings.store_dir),
        NEWSBOT_ARTICLES_DIR=str(CORPUS),
        NEWSBOT_SOURCES_FILE=str(settings.sources_file),
    )
    newsbot = str(Path(sys.executable).parent / "newsbot")
    args = ["ask", "How many people died in the Valencia floods?", "--json", "--today",
            "2024-11-22", "--until", "2024-11-13", "--source", "Reuters"]  # fmt: skip
    result = subprocess.run([newsbot, *args], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout.strip().splitlines()[-1])
    assert data["today"] == "2024-11-22" and data["filters"] == "until 2024-11-13, from Reuters"
    assert data["citations"][0]["article_id"] == "floods-v1"
    assert data["citations"][0]["source"] == "Reuters"
    bad = subprocess.run(
        [newsbot, "ask", "x?", "--since", "soon"], capture_output=True, text=True, env=env,
        timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "not a date" in bad.stderr


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The war ended in 1998 after long talks.", True),
        ("في عام ١٩٩٠ تأسست الشركة", True),
        ("سيجتمعون في منتصف كانون الأول/ديسمبر", True),
        ("They met on Tuesday.", True),
        ("The meeting was postponed for security reasons.", False),
        ("It cost 1,500 dollars and 43,972 people came.", False),
        ("Pi is about 3.1415.", False),
    ],
)
def test_mentions_time(text, expected):
    assert mentions_time(text) is expected
