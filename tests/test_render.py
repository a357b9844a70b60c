"""Renderers: terminal text and JSON, and Telegram HTML split into messages.

The Telegram checks parse every part with the fake Bot API's parser (tests/fake_telegram.py),
which refuses what Telegram refuses: each part must be well-formed Telegram HTML, at most 4096
visible characters, and the parts together must hold the whole text, in order, nothing lost.
"""

from __future__ import annotations

import json
import re

import pytest
from citing import citation as cite
from fake_telegram import HTMLError, entity_text, parse_html, utf16_len
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import render
from bot.citations import REFUSAL, Answer, Citation

DECEMBER = "أوائل كانون الأول/ديسمبر"
ARABIC = (
    "أعلنت وزارة الخارجية الأميركية يوم الثلاثاء أن مسؤولين أميركيين وإسرائيليين كبار "
    f"سيجتمعون في {DECEMBER} لبحث المخاوف الأميركية."
)


def citation(n: int, quote: str, **kw: object) -> Citation:
    fields: dict[str, object] = {
        "title": f"Title {n}",
        "source": "AFP",
        "url": f"https://example.com/{n}",
        "published": "2024-11-12T10:00:00",
        "before": "Before. ",
        "after": " After.",
    }
    fields.update(kw)
    return cite(n, quote, **fields)  # type: ignore[arg-type]


def extractive(*citations: Citation, question: str = "q?") -> Answer:
    text = "\n".join(f"{c.quote} [{c.n}]" for c in citations)
    return Answer(question, text, False, "extractive", tuple(citations))


def squash(text: str) -> str:
    return "".join(text.split())


def check_parts(
    whole: str, parts: list[render.TelegramPart], limit: int = render.TELEGRAM_LIMIT
) -> list[tuple[str, list[dict]]]:
    """Every part parses, fits, and the parts are the whole text in order with only
    whitespace between them. Returns each part's (visible text, entities)."""
    parsed = []
    pos = 0
    for part in parts:
        text, entities = parse_html(part.html)  # raises on anything Telegram refuses
        assert text == part.text, "the plain fallback must be the HTML's visible text"
        assert 0 < utf16_len(text) <= limit
        assert text == text.strip()
        at = whole.find(text, pos)
        assert at >= 0, "a part is not the next piece of the whole text"
        assert whole[pos:at].strip() == "", "text was lost between parts"
        pos = at + len(text)
        parsed.append((text, entities))
    assert whole[pos:].strip() == ""
    assert squash("".join(p.text for p in parts)) == squash(whole)
    return parsed


# --- terminal and JSON ---------------------------------------------------------------------------


def test_plain_lists_sources_and_json_is_one_line() -> None:
    answer = extractive(citation(1, ARABIC))
    out = render.plain(answer)
    assert out.startswith(ARABIC + " [1]")
    assert "[1] Title 1 — AFP, 2024-11-12 — https://example.com/1" in out
    line = render.to_json(answer)
    assert "\n" not in line and json.loads(line)["citations"][0]["quote"] == ARABIC


# --- Telegram: layout ----------------------------------------------------------------------------


def test_answer_quotes_in_blockquotes_with_markers_and_sources() -> None:
    answer = extractive(citation(1, ARABIC), citation(2, "The venue was not named."))
    [part] = render.telegram(answer)
    text, entities = parse_html(part.html)
    quotes = [entity_text(text, e) for e in entities if e["type"] == "blockquote"]
    assert quotes == [f"{ARABIC} [1]", "The venue was not named. [2]"]
    assert "\nSources\n[1] Title 1 — AFP, 2024-11-12 — https://example.com/1\n" in text
    links = [e for e in entities if e["type"] == "text_link"]
    assert [e["url"] for e in links] == ["https://example.com/1", "https://example.com/2"]
    assert part.html.startswith(f"<blockquote>{ARABIC} [1]</blockquote>\n")


def test_source_lines_match_the_terminal_source_line() -> None:
    cites = [
        citation(1, "a.", title=None, path="data/articles/x.txt", url=None, published=None),
        citation(2, "b.", source=None),
        citation(3, "c.", title="A — dashed — title"),
    ]
    [part] = render.telegram(extractive(*cites))
    for c in cites:
        assert f"[{c.n}] {render.source_line(c)}" in part.text


def test_refusal_is_one_plain_part() -> None:
    answer = Answer("q?", REFUSAL, True, "extractive")
    assert render.telegram(answer) == [render.TelegramPart(REFUSAL, REFUSAL)]


def test_written_answer_shows_the_quotes_it_rests_on() -> None:
    c = citation(1, ARABIC)
    answer = Answer("When?", "Early December [1].", False, "llm", (c,), notice="model was slow")
    [part] = render.telegram(answer)
    text, entities = parse_html(part.html)
    assert text.startswith("Early December [1].\n\nnote: model was slow\n\nAs of 2024-11-12")
    assert [entity_text(text, e) for e in entities if e["type"] == "blockquote"] == [ARABIC]
    # the dates it resolved, as in the terminal, are under /sources (noise in the chat)
    [sources] = render.telegram_sources(answer)
    assert "= 2024-12-01 to 2024-12-10" in parse_html(sources.html)[0]


def test_everything_is_escaped_and_arabic_kept() -> None:
    nasty = 'Tom & <b>Jerry</b> say "hi" > <script>alert(1)</script> &amp;'
    c = citation(
        1,
        f"{ARABIC} {nasty}",
        title=f"<i>{nasty}</i>",
        source="<AFP & co>",
        url='https://example.com/a?x=1&y="2"<>',
    )
    [part] = render.telegram(extractive(c))
    assert "<script>" not in part.html and "<b>Jerry" not in part.html
    assert "&lt;script&gt;" in part.html and "&amp;amp;" in part.html
    text, entities = parse_html(part.html)
    assert f"{ARABIC} {nasty} [1]" in text
    assert f"[1] <i>{nasty}</i> — <AFP & co>, 2024-11-12 — " in text
    [link] = [e for e in entities if e["type"] == "text_link"]
    assert link["url"] == 'https://example.com/a?x=1&y="2"<>'


def test_escaping_uses_only_entities_telegram_knows() -> None:
    # Telegram HTML knows &lt; &gt; &amp; &quot; and numeric entities (&#x27; for ').
    doc = render.TelegramDoc().add("a < b & 'c' \"d\" > e ")
    doc.link("link", "https://e.com/?a=1&b='x'\"<>")
    [part] = doc.parts()
    assert part.html == (
        "a &lt; b &amp; 'c' \"d\" &gt; e "
        '<a href="https://e.com/?a=1&amp;b=&#x27;x&#x27;&quot;&lt;&gt;">link</a>'
    )
    text, [link] = parse_html(part.html)
    assert text == "a < b & 'c' \"d\" > e link"
    assert link["url"] == "https://e.com/?a=1&b='x'\"<>"


def test_only_web_addresses_become_links() -> None:
    c = citation(1, "Quote.", url="javascript:alert(1)")
    [part] = render.telegram(extractive(c))
    assert "<a " not in part.html
    assert "javascript:alert(1)" in parse_html(part.html)[0]


def test_sources_show_passages_with_the_quote_in_bold() -> None:
    c = citation(1, "The meeting is in December.", before="First. ", after=" Last.")
    answer = Answer(
        "and when? <b>",
        "The meeting is in December. [1]",
        False,
        "extractive",
        (c,),
        rewritten="When is the meeting? and when? <b>",
    )
    [part] = render.telegram_sources(answer)
    text, entities = parse_html(part.html)
    assert text.startswith("Sources for: and when? <b>\n(understood as: When is the meeting?")
    kinds = {e["type"]: entity_text(text, e) for e in entities}
    assert kinds["blockquote"] == "First. The meeting is in December. Last."
    assert kinds["bold"] == "The meeting is in December."


# --- Telegram: splitting -----------------------------------------------------------------------


def test_long_answer_with_many_long_citations_is_split() -> None:
    sentence = f"{ARABIC} Tom & Jerry <said> “so”. "
    cites = [citation(n, (sentence * 12).strip()) for n in range(1, 7)]
    answer = extractive(*cites)
    doc = render.telegram_doc(answer)
    assert utf16_len(doc.text) > 3 * render.TELEGRAM_LIMIT
    parts = render.telegram(answer)
    assert len(parts) >= 4
    parsed = check_parts(doc.text, parts)
    # each quote's blockquote is cut only between sentences and re-wrapped in every part
    for text, entities in parsed:
        for e in entities:
            if e["type"] == "blockquote":
                assert entity_text(text, e).endswith((".", "]"))


def test_a_long_quote_split_stays_quoted_in_both_parts() -> None:
    quote = ("A sentence of the quote. " * 400).strip()
    parts = render.telegram(extractive(citation(1, quote)))
    assert len(parts) == 3
    for part in parts[:2]:
        assert part.html.startswith("<blockquote>")
        assert part.html.endswith("</blockquote>")
        assert part.text.endswith(".")


def test_split_prefers_paragraphs_then_lines_then_sentences() -> None:
    a, b = "a" * 3000, "b" * 3000
    assert [p.text for p in render.TelegramDoc().add(f"{a}\n\n{b}").parts()] == [a, b]
    lines = "\n".join(f"line {i}. " + "x" * 90 for i in range(60))
    parts = render.TelegramDoc().add(lines).parts()
    assert all(p.text.endswith("x") for p in parts)  # whole lines
    prose = " ".join(f"Sentence {i} ends here." for i in range(400))
    parts = render.TelegramDoc().add(prose).parts(500)
    assert all(p.text.endswith("here.") for p in parts)


def test_split_keeps_markers_with_their_sentence() -> None:
    prose = " ".join(f"Claim number {i} is made. [{i}]" for i in range(200))
    parts = render.TelegramDoc().add(prose).parts(300)
    assert all(re.search(r"\[\d+\]$", p.text) for p in parts)


def test_one_huge_word_is_cut_and_astral_characters_count_twice() -> None:
    parts = render.TelegramDoc().add("w" * 10_000).parts()
    assert [len(p.text) for p in parts] == [4096, 4096, 1808]
    parts = render.TelegramDoc().add("😀" * 3000).parts()
    assert [len(p.text) for p in parts] == [2048, 952]
    check_parts("😀" * 3000, parts)


def test_parts_never_cut_an_escaped_entity() -> None:
    text = "&" * 5000
    parts = render.TelegramDoc().add(text, "b").parts()
    check_parts(text, parts)
    assert parts[0].html == "<b>" + "&amp;" * 4096 + "</b>"


# --- Telegram: properties ----------------------------------------------------------------------

_WORDS = st.sampled_from(
    ["the", "meeting", "كانون", "الأول", "ميلر", "&", "<b>", "</i>", "&amp;", '"', "a>b", "😀",
     "[1]", ".", "؟", "،", "x" * 40]
)  # fmt: skip
_GAPS = st.sampled_from([" ", " ", " ", "\n", "\n\n", ". ", "؟ ", "  "])
_TEXT = st.lists(st.tuples(_WORDS, _GAPS), min_size=1, max_size=80).map(
    lambda pairs: "".join(w + g for w, g in pairs).strip() or "x"
)


@st.composite
def answers(draw: st.DrawFn) -> Answer:
    quotes = draw(st.lists(_TEXT, min_size=0, max_size=5))
    cites = [
        citation(
            n,
            q,
            title=draw(st.one_of(st.none(), _TEXT)),
            source=draw(st.one_of(st.none(), st.just("AFP & <Reuters>"))),
            url=draw(st.sampled_from([None, "https://e.com/?a=1&b=<2>", "ftp://x"])),
            before=f"{draw(_TEXT)} ",
            after=f" {draw(_TEXT)}",
        )
        for n, q in enumerate(quotes, 1)
    ]
    if not cites:
        return Answer("q", REFUSAL, True, "extractive")
    if draw(st.booleans()):
        return extractive(*cites)
    notice = draw(st.one_of(st.none(), _TEXT))
    return Answer("q <b>&", draw(_TEXT), False, "llm", tuple(cites), notice=notice)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(answer=answers(), limit=st.integers(min_value=16, max_value=400))
def test_any_answer_splits_into_valid_parts_without_losing_text(answer: Answer, limit: int) -> None:
    check_parts(render.telegram_doc(answer).text, render.telegram(answer, limit), limit)
    if answer.citations:
        sources = render.telegram_sources(answer, limit)
        assert sources and all(parse_html(p.html)[0] == p.text for p in sources)


@settings(max_examples=150, deadline=None)
@given(
    pieces=st.lists(
        st.tuples(_TEXT, st.sampled_from([None, "b", "i", "blockquote", "a"])), max_size=12
    ),
    limit=st.integers(min_value=2, max_value=300),
)
def test_any_styled_text_splits_into_valid_parts(
    pieces: list[tuple[str, str | None]], limit: int
) -> None:
    doc = render.TelegramDoc()
    for text, tag in pieces:
        if tag == "a":
            doc.link(text, "https://example.com/?q=<&>")
        elif tag == "blockquote":
            with doc.styled("blockquote"):
                doc.add(text[: len(text) // 2], "b").add(text[len(text) // 2 :])
        else:
            doc.add(text, tag)
        doc.add("\n")
    check_parts(doc.text, doc.parts(limit), limit)


# --- the fake's parser, which the checks above rely on -------------------------------------------


@pytest.mark.parametrize(
    "html",
    [
        "<b>bold</i>",
        "<b>unclosed",
        "closing</b>",
        "<script>x</script>",
        "a < b",
        "a > b",
        "Tom & Jerry",
        "&nbsp;",
        '<a href="https://e.com">x <a href="https://f.com">y</a></a>',
        "<blockquote>a<blockquote>b</blockquote></blockquote>",
        '<span class="x">s</span>',
    ],
)
def test_fake_parser_refuses_what_telegram_refuses(html: str) -> None:
    with pytest.raises(HTMLError):
        parse_html(html)


def test_fake_parser_reads_telegram_html() -> None:
    html = (
        '<b>b</b> <strong>s</strong> <i>i</i> <a href="https://e.com/?a=1&amp;b=2">l</a> '
        '&lt;&gt;&amp;&quot;&#39;&#x1F600; <tg-spoiler>x</tg-spoiler> <span class="tg-spoiler">'
        'y</span> <pre><code class="language-python">c</code></pre> <blockquote>q</blockquote>'
    )
    text, entities = parse_html(html)
    assert text == "b s i l <>&\"'😀 x y c q"
    link = next(e for e in entities if e["type"] == "text_link")
    assert link["url"] == "https://e.com/?a=1&b=2"
    assert entity_text(text, next(e for e in entities if e["type"] == "blockquote")) == "q"
