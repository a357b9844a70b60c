"""index.text: decoding, cleaning, Arabic/English sentence spans, matching tokens, language id."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.text import (
    STOPWORDS,
    NotText,
    ascii_digits,
    clean_line,
    clean_text,
    content_tokens,
    decode_bytes,
    detect_language,
    escape_invisible,
    match_tokens,
    normalize_arabic,
    script_of,
    sentence_spans,
    split_sentences,
)


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


# --- decoding ----------------------------------------------------------------------------------

ARABIC = "أعلنت وزارة الخارجية"


def test_decode_bytes_utf8_first_then_preferred_then_cp1256():
    assert decode_bytes(ARABIC.encode("utf-8"), ["iso-8859-1"]) == (ARABIC, "utf-8")
    assert decode_bytes(ARABIC.encode("cp1256")) == (ARABIC, "cp1256")
    assert decode_bytes("café".encode("latin-1"), [None, "no-such-codec", "iso-8859-1"]) == (
        "café",
        "iso-8859-1",
    )
    assert decode_bytes(b"\xef\xbb\xbf" + ARABIC.encode("utf-8")) == (ARABIC, "utf-8-sig")
    assert decode_bytes(ARABIC.encode("utf-16")) == (ARABIC, "utf-16")  # with its BOM
    assert decode_bytes(b"a\x00b") == ("a\x00b", "utf-8")  # NUL bytes are refused on request


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xff\xfeA\x00B", "not valid UTF-16 text"),
        (b"\xef\xbb\xbf\xff", "undecodable text (invalid start byte)"),
        (b"PK\x03\x04\x00\x00", "binary file (NUL bytes), not text"),
    ],
)
def test_decode_bytes_refuses_what_is_not_text(raw, message):
    with pytest.raises(NotText, match=re.escape(message)):
        decode_bytes(raw, refuse_binary=True)


def test_decode_bytes_reads_a_bad_bom_text_leniently_on_request():  # pages, not files
    assert decode_bytes(b"\xef\xbb\xbfok\xff", bom_errors="replace") == ("ok\ufffd", "utf-8-sig")


# --- cleaning ----------------------------------------------------------------------------------


def test_trailing_share_line_is_dropped():
    text = "أعلنت الوزارة يوم الثلاثاء أن الاجتماع سيعقد في كانون الأول.\n\nشاركها."
    assert clean_text(text) == "أعلنت الوزارة يوم الثلاثاء أن الاجتماع سيعقد في كانون الأول."


@pytest.mark.parametrize(
    "residue", ["شاركها.", "شارك المقال", "اقرأ أيضا:", "Share this article", "Read more »"]
)
def test_residue_lines_at_either_end_are_dropped(residue):
    body = "The bridge opened on Monday.\n\nTraffic eased."
    assert clean_text(f"{residue}\n{body}\n\n{residue}\n") == body


def test_residue_words_inside_a_line_are_kept():
    text = "وقال إن الولايات المتحدة شاركها في الاجتماع.\nShare prices rose."
    assert clean_text(text) == text


def test_controls_invisible_marks_and_line_ends_are_cleaned():
    raw = "\ufeffFirst\u200f line.\r\nSecond\x07 line.\rThird\u2066 line.  \n\n\n"
    assert clean_text(raw) == "First line.\nSecond line.\nThird line."


BIDI_AND_INVISIBLE = (
    "\u202a\u202b\u202c\u202d\u202e\u200e\u200f\u2066\u2067\u2068\u2069\u061c"
    "\u200b\u2060\ufeff\u00ad\u180e\u2061\u206a"
)


@pytest.mark.parametrize("mark", list(BIDI_AND_INVISIBLE + "\x00\x01\x1b\x7f\x85\x9b"))
def test_clean_line_strips_every_control_and_invisible_mark_wherever_it_is(mark):
    assert clean_line(f"{mark}When is it?") == "When is it?"
    assert clean_line(f"When is it?{mark}") == "When is it?"  # a NUL at the end: the same
    assert clean_line(f"When{mark} is it?") == "When is it?"
    assert clean_text(f"Wh{mark}en.") == "When."  # the body cleaning agrees


def test_clean_line_is_one_trimmed_nfc_line_and_keeps_zwnj():
    assert clean_line("  Invoice \u202etxt.exe\r\n\tpart two\u2028 ") == "Invoice txt.exe part two"
    assert clean_line("e\u0301 می\u200cخواهم") == "\u00e9 می\u200cخواهم"
    assert clean_line("bad \ud800 \udcff") == "bad \ufffd \\xff"


def test_escape_invisible_shows_the_marks_on_one_line():
    assert escape_invisible("Invoice \u202etxt.exe") == "Invoice \\u202etxt.exe"
    assert escape_invisible("a\nb\x00c\td") == "a\\x0ab\\x00c\\x09d"
    assert escape_invisible("سلام \u200c ok") == "سلام \u200c ok"  # ZWNJ is text


def test_zwnj_is_kept_and_text_is_nfc():
    assert clean_text("می\u200cخواهم") == "می\u200cخواهم"
    assert clean_text("e\u0301") == "\u00e9"


# --- sentences ---------------------------------------------------------------------------------


@pytest.mark.parametrize("mark", ["؟", "؛", "۔", ".", "!", "?"])
def test_sentence_end_marks(mark):
    text = f"الجملة الأولى هنا{mark} والجملة الثانية هنا."
    assert sentences(text) == [f"الجملة الأولى هنا{mark}", "والجملة الثانية هنا."]


def test_arabic_comma_does_not_end_a_sentence():
    text = "ومع ذلك، فقد مارست مرة واحدة فقط النفوذ الأمريكي، حيث احتفظت ببعض المساعدات."
    assert sentences(text) == [text]


def test_arabic_question_and_semicolon_split_a_paragraph():
    text = "متى سيعقد الاجتماع؟ في أوائل كانون الأول؛ وقال ميلر إنه الأول، ضمن قناة جديدة."
    assert sentences(text) == [
        "متى سيعقد الاجتماع؟",
        "في أوائل كانون الأول؛",
        "وقال ميلر إنه الأول، ضمن قناة جديدة.",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Mr. Miller said the U.S. would meet Israel. Talks start soon.",
            ["Mr. Miller said the U.S. would meet Israel.", "Talks start soon."],
        ),
        (
            "Dr. Smith met Gen. Austin on Jan. 5 at 10 a.m. local time. It went well.",
            ["Dr. Smith met Gen. Austin on Jan. 5 at 10 a.m. local time.", "It went well."],
        ),
        ("J. R. Smith and the U.N. agreed. Then they left.", None),
        ("Prices rose 3.5 percent in 2023. Then they fell.", None),
    ],
)
def test_english_abbreviations_do_not_split(text, expected):
    got = sentences(text)
    if expected is None:
        assert len(got) == 2 and got[1].startswith("Then")
    else:
        assert got == expected


def test_line_break_ends_a_sentence_and_quotes_stay_with_it():
    text = "وقال ميلر: “هناك عدد من الحوادث”.\nوأضاف: «لقد أنشأنا هذه القناة.» ثم غادر"
    assert sentences(text) == [
        "وقال ميلر: “هناك عدد من الحوادث”.",
        "وأضاف: «لقد أنشأنا هذه القناة.»",
        "ثم غادر",
    ]


def test_spans_are_trimmed_and_never_empty():
    text = "  First.   \n\n  Second!  \n \n"
    spans = sentence_spans(text)
    assert [text[a:b] for a, b in spans] == ["First.", "Second!"]
    assert sentence_spans("   \n ") == []


_PIECES = [
    "word", "كلمة", " ", "  ", "\n", "\n\n", ".", "؟", "؛", "۔", "،", ",", "!", "?", "…", "Mr.",
    "U.S.", "”", "»", "3.5", "\t",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=60).map("".join))
def test_split_sentences_gives_the_text_back_and_spans_are_ordered(text):
    assert "".join(split_sentences(text)) == text
    last = 0
    for a, b in sentence_spans(text):
        assert last <= a < b <= len(text)
        assert text[a:b] == text[a:b].strip()
        last = b


# --- normalisation for matching ----------------------------------------------------------------


def test_normalize_arabic_unifies_letter_forms_and_digits():
    assert normalize_arabic("أإآٱ") == "اااا"
    assert normalize_arabic("مدرسةٌ على") == "مدرسه علي"
    assert normalize_arabic("مـــدنيين") == "مدنيين"  # tatweel
    assert normalize_arabic("٤٣٩٧٢ ۱۲") == "43972 12"


def test_ascii_digits_reads_both_arabic_digit_sets():
    assert ascii_digits("[١] ٤٣٩٧٢ ۱۲ 7") == "[1] 43972 12 7"
    assert ascii_digits("أيار") == "أيار"  # letters untouched, unlike normalize_arabic


def test_content_tokens_drop_stopwords_and_keep_order():
    assert content_tokens("When is the US-Israel meeting?") == ["us", "israel", "meeting"]
    assert content_tokens("متى سيعقد الاجتماع في الاجتماع؟") == ["سيعقد", "اجتماع", "اجتماع"]
    assert content_tokens("What is it?") == []  # unlike query_terms, nothing is kept back
    assert not set(content_tokens(" ".join(STOPWORDS)))


def test_match_tokens_strip_prefixes_and_case():
    assert match_tokens("والمدنيين بالأسلحة للمساعدات") == ["مدنيين", "اسلحه", "مساعدات"]
    # a possessive is the word, not the word plus a stray "s" that matches every possessive
    assert match_tokens("Israel's U.S. MEETING") == ["israel", "u", "s", "meeting"]
    assert match_tokens("Israel’s Gaza's") == ["israel", "gaza"]
    # short words keep their first letter: "وقف" is a word, not "و" + "قف"
    assert match_tokens("وقف") == ["وقف"]


def test_match_tokens_make_spelling_variants_meet():
    assert match_tokens("الأميركية") == match_tokens("الاميركيه")
    assert match_tokens("الأول/ديسمبر") == ["اول", "ديسمبر"]
    assert match_tokens("ديسمبر") == match_tokens("بديسمبر")


# --- language ----------------------------------------------------------------------------------


def test_detect_language_sample_is_arabic(sample_article):
    assert detect_language(sample_article.text) == "ar"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("The State Department said the meeting would take place in early December.", "en"),
        ("Le ministère a annoncé que la réunion aurait lieu début décembre à Paris.", "fr"),
        ("قال المتحدث إن الاجتماع سيعقد في أوائل كانون الأول/ديسمبر", "ar"),
        ("قال Miller إن الاجتماع سيعقد في أوائل ديسمبر", "ar"),
        ("12345 — 67", None),
    ],
)
def test_detect_language(text, code):
    assert detect_language(text) == code


def test_script_of():
    assert script_of("كانون الأول") == "arabic"
    assert script_of("December") == "latin"
    assert script_of("2024 ...") == "other"
