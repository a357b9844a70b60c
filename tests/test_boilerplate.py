"""Wire boilerplate is dropped at load, and the news around it stays (index/boilerplate.py)."""

from __future__ import annotations

import pytest

from index.boilerplate import strip

SPA = "الرباط 26 شوال 1436 هـ الموافق 11 أغسطس 2015 م واس"
NEWS = "أكد وزير الخارجية المغربي أن الاجتماع سيعقد الأسبوع المقبل."


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"{SPA}\n{NEWS}\n// انتهى //", NEWS),  # dateline line, end mark
        (f"{SPA} {NEWS} // انتهى //", NEWS),  # dateline opening the sentence
        (f"{NEWS}\n21:23 ت م", NEWS),  # SPA time stamp
        ("غزة (أ ف ب) - قتل ثلاثة فلسطينيين.\nشاركها.", "قتل ثلاثة فلسطينيين."),
        ("القدس - (رويترز) - قال مسؤول إسرائيلي.", "قال مسؤول إسرائيلي."),
        ("WASHINGTON (AP) -- The State Department said it.", "The State Department said it."),
        ("GAZA CITY, Dec 3 (Reuters) - Strikes killed 12.", "Strikes killed 12."),
        ("Strikes killed 12.\nBy Jane Smith, BBC News\nRead more", "Strikes killed 12."),
    ],
)
def test_boilerplate_dropped(text: str, kept: str) -> None:
    assert strip(text) == kept


@pytest.mark.parametrize(
    "text",
    [
        "By the end of the year, prices had risen by 4%.",  # starts like a byline
        "في 26 شوال 1436 هـ قتل رجل في الرياض.",  # a date, no agency: news
        "Reuters and AFP reported the strike on Monday.",  # agencies named, no tag
        NEWS,
    ],
)
def test_news_kept(text: str) -> None:
    assert strip(text) == text


def test_nothing_but_boilerplate_is_left_to_the_loader() -> None:
    assert strip("// انتهى //") == "// انتهى //"
