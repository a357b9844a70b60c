"""Property-based tests (hypothesis) with arbitrary input where people and files reach newsbot:
the loaders, text cleaning, the sentence splitter, chunking, question handling (lexical search,
follow-ups, search filters), and the Telegram HTML renderer and splitter.

tests/test_text.py, tests/test_chunking.py and tests/test_render.py hold properties over
news-like alphabets (words, marks, tags); these draw from all of Unicode: control and format
characters, bidi and zero-width marks, astral and combining characters, lone surrogates (as a
JSON escape or an undecodable file name produces them), markup and FTS5 query syntax. The claims:
no exception escapes, what is stored and shown encodes as UTF-8, no text is lost, lexical search
finds only indexed chunks, a follow-up is short and is rewritten as the previous question plus
itself (anything else is left alone), a message's filters leave its question and are described
bound by bound (or are refused by name), every Telegram part parses as Telegram HTML and holds
at most 4096 characters. Each claim can be false: none is only "returns a bool".
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from citing import citation
from fake_telegram import parse_html, utf16_len
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import render
from bot.answer import is_followup, rewrite_followup
from bot.citations import REFUSAL, Answer, Turn
from index.articles import LOADERS, Article, find_files, load_file
from index.chunking import chunk_article, count_tokens
from index.errors import NewsbotError
from index.filters import parse_filters
from index.manifest import Manifest
from index.settings import Settings
from index.text import (
    clean_text,
    content_tokens,
    match_tokens,
    query_terms,
    sentence_spans,
    split_sentences,
    valid_text,
)

# Every code point, lone surrogates included, with the troublesome ones made likely.
ANY_CHAR = st.characters(min_codepoint=0, max_codepoint=0x10FFFF, blacklist_categories=())
SPECIAL = st.sampled_from(
    [
        *"\x00\x0b\x0c\r\n\t\x1c\x1f\x7f\x85\u2028\u2029\u200b\u200c\u200d\u200e\u202e\u2066",
        *["\ufeff", "\ud800", "\udcff", "😀", "e\u0301", "ـ", "ّ", "&amp;", "<b>", "</i>", "<", ">"],
        *["&", '"', ".", "؟", "؛", "۔", "،", "!", "…", "Mr.", "U.S.", "[1]", "\n\n", "  ", "كانون"],
    ]
)
ANY_TEXT = st.lists(st.one_of(ANY_CHAR, SPECIAL), max_size=300).map("".join)
NO_SURROGATES = st.characters(blacklist_categories=("Cs",))
PRINTABLE_TEXT = st.lists(
    st.one_of(NO_SURROGATES, SPECIAL.filter(lambda s: not re.search("[\ud800-\udfff]", s))),
    max_size=300,
).map("".join)

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def encodable(*texts: str | None) -> bool:
    for text in texts:
        if text is not None:
            text.encode("utf-8")  # raises on a lone surrogate
    return True


# --- loaders -------------------------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=12,
)
RECORDS = st.fixed_dictionaries(
    {"text": ANY_TEXT},
    optional={
        "id": JSON_VALUES,
        "title": JSON_VALUES,
        "url": JSON_VALUES,
        "published": st.one_of(JSON_VALUES, st.just("2024-13-45"), st.just("2024-11-12")),
        "language": JSON_VALUES,
        "source": JSON_VALUES,
    },
)


@st.composite
def file_contents(draw: st.DrawFn) -> bytes:
    """Bytes a loader may meet: text, JSON records, front matter, markup, or plain noise."""
    kind = draw(st.sampled_from(["text", "json", "jsonl", "front", "html", "feed", "bytes"]))
    if kind == "bytes":
        return draw(st.binary(max_size=600))
    if kind == "json":
        body = json.dumps(draw(st.one_of(RECORDS, st.lists(RECORDS, max_size=4), JSON_VALUES)))
    elif kind == "jsonl":
        lines = draw(st.lists(st.one_of(RECORDS.map(json.dumps), ANY_TEXT), max_size=5))
        body = "\n".join(lines)
    elif kind == "front":
        body = f"---\ntitle: {draw(ANY_TEXT)}\npublished: {draw(ANY_TEXT)}\n---\n{draw(ANY_TEXT)}"
    elif kind == "html":
        body = f"<html><body><p>{draw(ANY_TEXT)}</p><script>{draw(ANY_TEXT)}</script></body>"
    elif kind == "feed":
        body = (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>{draw(ANY_TEXT)}</title>'
            f"<item><title>{draw(ANY_TEXT)}</title><description>{draw(ANY_TEXT)}</description>"
            f"<pubDate>{draw(ANY_TEXT)}</pubDate></item></channel></rss>"
        )
    else:
        body = draw(ANY_TEXT)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1256"]))
    return body.encode(encoding, errors="surrogatepass" if encoding == "utf-8" else "replace")


@FUZZ
@given(
    suffix=st.sampled_from(sorted(LOADERS)),
    content=file_contents(),
    name=st.sampled_from([b"a", b"\xff\xfe", b"-x y", "كانون".encode()]),
)
def test_loaders_turn_any_file_into_articles_or_reasons(
    suffix: str, content: bytes, name: bytes
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder).joinpath(name.decode("utf-8", "surrogateescape") + suffix)
        path.write_bytes(content)
        found = find_files([Path(folder)])
        assert len(found.files) == 1
        loaded = load_file(found.files[0], max_bytes=10_000_000)
    for article in loaded.articles:
        assert article.text and article.text == article.text.strip()
        assert clean_text(article.text) == article.text
        assert encodable(
            article.id, article.text, article.title, article.source, article.url,
            article.published, article.language, article.path,
        )  # fmt: skip
        assert article.content_hash and json.dumps(article.metadata())
    for skipped in loaded.skipped:
        assert encodable(skipped.path, skipped.reason) and skipped.reason


# --- text ----------------------------------------------------------------------------------------


@FUZZ
@given(text=ANY_TEXT)
def test_clean_text_is_printable_and_idempotent(text: str) -> None:
    cleaned = clean_text(text)
    assert encodable(cleaned)
    assert clean_text(cleaned) == cleaned
    assert not re.search("[\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\x00]", cleaned)


@FUZZ
@given(text=ANY_TEXT)
def test_sentence_spans_cover_every_visible_character_in_order(text: str) -> None:
    assert "".join(split_sentences(text)) == text
    covered = [False] * len(text)
    last = 0
    for a, b in sentence_spans(text):
        assert last <= a < b <= len(text)
        assert not text[a].isspace() and not text[b - 1].isspace()
        covered[a:b] = [True] * (b - a)
        last = b
    lost = [ch for ch, seen in zip(text, covered, strict=True) if not seen and not ch.isspace()]
    assert not lost


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=ANY_TEXT, chunk_tokens=st.sampled_from([32, 64, 200]))
def test_chunks_of_any_cleaned_text_are_slices_within_budget(text: str, chunk_tokens: int) -> None:
    article = Article(id="fuzz", text=clean_text(text))
    chunks = chunk_article(article, chunk_tokens)
    assert bool(chunks) == bool(article.text)
    end = 0
    for chunk in chunks:
        assert article.text[chunk.start : chunk.end] == chunk.text and chunk.start >= end
        assert count_tokens(chunk.text) <= chunk_tokens
        end = chunk.end
    kept = "".join(c.text for c in chunks)
    assert re.sub(r"\s", "", kept) == re.sub(r"\s", "", article.text)


# --- questions -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifest(sample_settings: Settings) -> Iterator[Manifest]:
    manifest = Manifest(sample_settings.manifest_path, create=False)
    yield manifest
    manifest.close()


@pytest.fixture(scope="module")
def chunk_ids(manifest: Manifest) -> set[str]:
    return manifest.all_chunk_ids()


PREVIOUS = Turn("When is the meeting?", Answer("When is the meeting?", REFUSAL, True, "extractive"))
REWRITTEN = Turn("and where?", Answer("and where?", REFUSAL, True, "extractive", rewritten="Q2"))


@FUZZ
@given(question=ANY_TEXT)
def test_any_question_is_safe_for_lexical_search(
    manifest: Manifest, chunk_ids: set[str], question: str
) -> None:
    question = valid_text(question)  # what the Answerer does first (surrogates are escaped)
    for cid, score in manifest.lexical(question, 10):  # FTS5 syntax in a question is text
        assert cid in chunk_ids and score > 0
    tokens = match_tokens(question)
    assert all(t and not any(c.isspace() for c in t) for t in tokens)
    terms = query_terms(question)
    assert len(terms) == len(set(terms)) and set(content_tokens(question)) <= set(terms)
    assert bool(terms) == bool(tokens)


@FUZZ
@given(text=ANY_TEXT, lead=st.sampled_from(["", "and ", "و", "What about "]))
def test_any_question_is_a_follow_up_or_left_alone(text: str, lead: str) -> None:
    question = valid_text(lead + text)
    followup = is_followup(question)
    assert not followup or len(question.split()) <= 14  # a follow-up is short
    if lead == "and " and len(question.split()) <= 14:
        assert followup  # "and ..." leans on the previous turn
    assert rewrite_followup(question, []) is None  # nothing to lean on
    rewritten = rewrite_followup(question, [PREVIOUS])
    if followup:
        assert rewritten == f"{PREVIOUS.question} {question}"
        assert rewrite_followup(question, [PREVIOUS, REWRITTEN]) == f"Q2 {question}"
    else:
        assert rewritten is None


# A filter word and its value, as parse_filters reads them (written out again here: the test
# states the contract instead of importing the parser's own pattern).
FILTER_WORD = re.compile(
    r"(?<!\S)(since|until|sources?|منذ|حتى|المصدر|مصدر)\s*[:：]\s*[^\s,،]", re.IGNORECASE
)


@FUZZ
@given(text=ANY_TEXT, keyword=st.sampled_from(["since:", "until:", "source:", "منذ:", "SINCE:"]))
def test_search_filters_in_any_message_parse_or_say_why(text: str, keyword: str) -> None:
    message = f"{text[: len(text) // 2]} {keyword}{text[len(text) // 2 :]}"
    try:
        question, filters = parse_filters(message, dt.date(2024, 11, 12))
    except NewsbotError as exc:
        # the refusal names the filter it could not read
        assert re.search(r"since|until|منذ|حتى", exc.user_message, re.IGNORECASE), exc
        return
    assert not FILTER_WORD.search(question), question  # every filter was taken out
    assert question == " ".join(question.split())
    assert all(word in message for word in question.split())  # nothing added
    described = filters.describe()
    assert bool(described) == bool(filters)
    if filters.since:
        assert f"since {filters.since.isoformat()}" in described
    if filters.until:
        assert f"until {filters.until.isoformat()}" in described
    assert all(source in described for source in filters.sources)
    value = text[len(text) // 2 :][:1]
    if keyword != "source:" and value and not value.isspace() and value not in ",،":
        assert filters.since or filters.until  # the inserted date was read, or refused above


# --- Telegram HTML -------------------------------------------------------------------------------


def assert_parts(whole: str, parts: list[render.TelegramPart], limit: int) -> None:
    """Each part is Telegram HTML whose visible text is its plain fallback, fits the limit, and
    the parts are the whole text in order with only white space between them."""
    pos = 0
    for part in parts:
        text, _ = parse_html(part.html)
        assert text == part.text
        assert 0 < utf16_len(text) <= limit
        at = whole.find(text, pos)
        assert at >= 0 and whole[pos:at].strip() == ""
        pos = at + len(text)
    assert whole[pos:].strip() == ""


@FUZZ
@given(
    pieces=st.lists(
        st.tuples(PRINTABLE_TEXT, st.sampled_from([None, "b", "i", "blockquote", "a"])),
        max_size=10,
    ),
    limit=st.one_of(st.integers(min_value=2, max_value=200), st.just(render.TELEGRAM_LIMIT)),
)
def test_any_text_renders_to_parts_that_parse_and_fit(
    pieces: list[tuple[str, str | None]], limit: int
) -> None:
    doc = render.TelegramDoc()
    for text, tag in pieces:
        if tag == "a":
            doc.link(text, "https://example.com/?q=<&>\"'")
        else:
            doc.add(text, tag)
    assert_parts(doc.text, doc.parts(limit), limit)


@st.composite
def long_answers(draw: st.DrawFn) -> Answer:
    quotes = draw(st.lists(PRINTABLE_TEXT.filter(str.strip), min_size=1, max_size=4))
    repeat = draw(st.integers(min_value=1, max_value=40))  # up to ~12,000 characters a quote
    cites = tuple(
        citation(
            n,
            (q + " ") * repeat,
            article_id=draw(PRINTABLE_TEXT) or "a",
            title=draw(st.one_of(st.none(), PRINTABLE_TEXT)),
            source=draw(st.one_of(st.none(), PRINTABLE_TEXT)),
            url=draw(st.one_of(st.none(), PRINTABLE_TEXT, st.just("javascript:alert(1)"))),
            published=draw(st.one_of(st.none(), PRINTABLE_TEXT)),
            before=draw(PRINTABLE_TEXT),
            score=0.5,
            path=draw(st.one_of(st.none(), PRINTABLE_TEXT)),
        )
        for n, q in enumerate(quotes, 1)
    )
    text = "\n".join(f"{c.quote} [{c.n}]" for c in cites)
    question = draw(PRINTABLE_TEXT)
    notice = draw(st.one_of(st.none(), PRINTABLE_TEXT))
    return Answer(question, text, False, "extractive", cites, notice=notice)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer=long_answers())
def test_any_answer_fits_telegram_messages_without_losing_text(answer: Answer) -> None:
    limit = render.TELEGRAM_LIMIT
    assert_parts(render.telegram_doc(answer).text, render.telegram(answer), limit)
    for part in render.telegram_sources(answer):
        text, _ = parse_html(part.html)
        assert text == part.text and utf16_len(text) <= limit
    json.loads(render.to_json(answer))
