"""The short answer (bot/short.py) and the reader's language (bot/catalogue.py) on real sentences:
the sample article (data/articles) and XQuAD (../shared/eval/xquad), cited the way production
cites them (tests/citing.py), through the renderers' faces (terminal, JSON, Telegram)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from citing import citation
from fake_telegram import parse_html

from bot import render
from bot.catalogue import MESSAGES, language_of, localise, say
from bot.citations import NEED_QUESTION, REFUSAL, Answer
from bot.short import dominant, extract, short_answer
from index.embedding import Embedder
from index.text import sentence_spans

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "articles" / "000_df79775a9f276dd4.txt"
_TEXT = SAMPLE.read_text(encoding="utf-8")
SENTENCES = [_TEXT[a:b] for a, b in sentence_spans(_TEXT)]
TODAY = dt.date(2024, 11, 22)


def sentence(part: str) -> str:
    [found] = [s for s in SENTENCES if part in s]
    return found


CASES = [
    # (question, a sentence of the sample article, its article's date, the short answer)
    ("When is the US-Israel meeting?", "أوائل كانون", None,
     "Early December (the article gives no year and is undated)"),
    ("When is the US-Israel meeting?", "أوائل كانون", "2024-11-12",
     "Early December 2024 (upcoming)"),
    ("متى سيعقد الاجتماع الأمريكي الإسرائيلي؟", "أوائل كانون", None,
     "أوائل كانون الأول/ديسمبر (لا يذكر المقال السنة، والمقال غير مؤرخ)"),
    ("متى سيعقد الاجتماع الأمريكي الإسرائيلي؟", "أوائل كانون", "2024-11-12",
     "أوائل كانون الأول/ديسمبر 2024 (قادم)"),
    ("How many people were killed in Gaza according to the health ministry?", "43972", None,
     "43,972 people"),
    ("كم عدد القتلى في غزة؟", "43972", None, "43972 شخصا"),
    ("How many people did the Hamas attack kill?", "1206", None, "1,206 people"),
    ("كم عدد الأشخاص الذين قتلوا في هجوم حماس؟", "1206", None, "1206 أشخاص"),
    ("When did the war start?", "1206", None, "7 October 2023"),
    ("متى بدأت الحرب؟", "1206", None, "7 أكتوبر 2023"),
    ("How long did the letter give Israel?", "شهرًا", None, "a month"),
    ("When did the senators call for a halt to arms sales?", "الشيوخ", "2024-11-12",
     "Tuesday, 12 November 2024"),
    ("من هو المتحدث باسم وزارة الخارجية؟", "ماثيو", None, "ماثيو ميلر"),
    ("من أرسل الرسالة إلى إسرائيل في منتصف أكتوبر؟", "بلينكن", None,
     "وزير الخارجية أنتوني بلينكن ووزير الدفاع لويد أوستن"),
    # none: a name an English reader would need romanised, a sentence without the fact, the
    # wrong kind of question
    ("Who is the State Department spokesman?", "ماثيو", None, None),
    ("Where will the meeting be held?", "مكان عقد", None, None),
    ("أين سيعقد الاجتماع؟", "مكان عقد", None, None),
    ("Where will the meeting be held?", "أوائل كانون", None, None),  # "في غزة" is not where
    ("How many people were killed in Gaza according to the health ministry?", "أوائل كانون",
     None, None),
    ("Does the UN consider the Gaza death toll reliable?", "موثوقة", None, None),
    ("What did the senators call for?", "الشيوخ", None, None),
    ("Why did the United States not act?", "نهاية المطاف", None, None),
]  # fmt: skip


@pytest.mark.parametrize(("question", "part", "published", "expected"), CASES)
def test_short_answer_of_the_sample(
    question: str, part: str, published: str | None, expected: str | None
) -> None:
    got = extract(question, sentence(part), 3, published=published, today=TODAY)
    assert (got.text if got else None) == expected
    if got:
        assert got.n == 3 and got.line == f"{expected} [3]"
        assert got.language == language_of(question)


def test_xquad_sentences() -> None:
    """English sentences of XQuAD: dates, counts, a name after the question's words."""
    died = "Tesla died on 7 January 1943."
    assert extract("When did Tesla die?", died).text == "7 January 1943"  # type: ignore[union-attr]
    points = (
        "The Panthers defense gave up just 308 points, ranking sixth in the league, while also "
        "leading the NFL in interceptions with 24 and boasting four Pro Bowl selections."
    )
    got = extract("How many points did the Panthers defense surrender?", points)
    assert got is not None and got.text == "308 points"
    # several counts and a question that names none of their units: no guess
    assert extract("How many did they get?", points) is None
    # an Arabic question over the English sentence: the number, without an English unit word
    arabic = extract("كم نقطة تخلى عنها دفاع البانثرز؟", points)
    assert arabic is not None and arabic.text == "308" and arabic.language == "ar"


def test_xquad_mistakes_it_no_longer_makes() -> None:
    """Held-out mistakes (bench/short_xquad.py) turned into rules: a number that is part of a
    word, a year of an adjective, a name next to a word the question shares by chance."""
    majority = (
        "The Commission can be censured by the Parliament with a two-thirds majority of the "
        "votes cast."
    )
    assert extract("How much of a voting majority must there be to censure?", majority) is None
    drought = "The 2010 drought had three epicenters where vegetation died off."
    got = extract("How many areas were impacted by the 2010 drought?", drought)
    assert got is not None and got.text == "three"  # "the 2010 drought" is a year, no count
    oracle = (
        "في مجال الأعمال التجارية، من بين الخريجين البارزين الرئيس التنفيذي لشركة مايكروسوفت "
        'ساتيا ناديلا ومؤسس شركة "أوراكل" وثالث أغنى رجل في أمريكا لاري إليسون.'
    )
    assert extract("من الذي كان مؤسس شركة أوراكل؟", oracle) is None


def test_english_names_after_the_question_words() -> None:
    quote = "The meeting was announced by State Department spokesman Matthew Miller on Tuesday."
    got = extract("Who is the State Department spokesman?", quote)
    assert got is not None and got.text == "Matthew Miller"


def test_several_dates_are_not_guessed_between() -> None:
    quote = "The talks moved from 3 March 2024 to 9 April 2024."
    assert extract("When are the talks?", quote) is None


def test_an_answer_gets_its_short_answer_from_the_lead_quote_only() -> None:
    lead = citation(1, sentence("أوائل كانون"), published="2024-11-12")
    other = citation(2, sentence("43972"), published="2024-11-12")
    answer = Answer(
        "How many people were killed?", "x [1]\ny [2]", False, "extractive", (lead, other),
        today=TODAY.isoformat(),
    )  # fmt: skip
    assert short_answer(answer) is None  # the lead quote carries no count
    when = Answer("When is the meeting?", "x [1]", False, "extractive", (lead,), today="2024-11-22")
    assert short_answer(when).line == "Early December 2024 (upcoming) [1]"  # type: ignore[union-attr]
    refused = Answer("When is the meeting?", REFUSAL, True, "extractive")
    assert short_answer(refused) is None
    written = Answer("When is the meeting?", "Early December [1].", False, "llm", (lead,))
    assert short_answer(written) is None  # a generated answer states it in its own words


def test_every_face_shows_it_above_the_quotes() -> None:
    lead = citation(1, sentence("أوائل كانون"), published="2024-11-12", title="اجتماع")
    text = f"{lead.quote} [1]"
    answer = Answer("When is the meeting?", text, False, "extractive", (lead,), today="2024-11-22")
    assert render.plain(answer).startswith("Answer: Early December 2024 (upcoming) [1]\n\n")
    data = json.loads(render.to_json(answer))
    assert data["short_answer"] == {
        "text": "Early December 2024 (upcoming)", "n": 1, "kind": "when", "language": "en",
    }  # fmt: skip
    [part] = render.telegram(answer)
    shown, entities = parse_html(part.html)
    assert shown.startswith("Answer: Early December 2024 (upcoming) [1]")
    assert entities[0]["type"] == "bold" and entities[0]["offset"] == 0
    # an English reader sees the Arabic title as written, said to be the original
    assert "[1] اجتماع (original title, in Arabic) — 2024-11-12" in render.plain(answer)
    arabic = Answer("متى الاجتماع؟", text, False, "extractive", (lead,), today="2024-11-22")
    lines = render.plain(arabic).splitlines()
    assert lines[0] == "الجواب: أوائل كانون الأول/ديسمبر 2024 (قادم) [1]"
    assert "المصادر:" in lines and "[1] اجتماع — 2024-11-12" in lines
    assert lines[4].startswith("حتى تاريخ 2024-11-12")
    none = Answer("What happened?", text, False, "extractive", (lead,))
    assert json.loads(render.to_json(none))["short_answer"] is None


def test_refusal_and_request_in_the_readers_language() -> None:
    ar = Answer("ما هي عاصمة فرنسا؟", REFUSAL, True, "extractive")
    assert render.plain(ar) == say("refusal", "ar")
    assert json.loads(render.to_json(ar))["answer"] == "لم أجد هذا في المقالات المفهرسة."
    assert render.telegram(ar)[0].text == say("refusal", "ar")
    en = Answer("What is the capital of France?", REFUSAL, True, "extractive")
    assert render.plain(en) == REFUSAL  # the canonical sentence stays English
    assert localise(NEED_QUESTION, "ar") == say("need_question", "ar")
    assert localise("anything else", "ar") == "anything else"


def test_catalogue_has_both_languages_for_every_message() -> None:
    for key, forms in MESSAGES.items():
        assert set(forms) == {"en", "ar"}, key
        assert forms["ar"] != forms["en"], key


def test_telegram_help_and_status_for_a_reader_of_arabic() -> None:
    from bot.catalogue import user_language

    info = {"articles": 3, "chunks": 9, "last_reindex": None, "newest_article": None}
    [help_ar] = render.telegram_help(info, "newsbot", ["متى الاجتماع؟"], "ar")
    assert help_ar.text.startswith("أجيب عن أسئلة حول الأخبار من 3 مقالًا مفهرسًا")
    assert "/ask السؤال — اطرح سؤالًا عن الأخبار" in help_ar.text
    assert "@newsbot" in help_ar.text and "جرّب" in help_ar.text
    [help_en] = render.telegram_help(info, "newsbot")
    assert help_en.text.startswith("I answer questions about the news from 3 indexed articles")
    [status_ar] = render.telegram_status(info, "ar")
    assert status_ar.text == "الفهرس\nالمقالات: 3، المقاطع: 9\nآخر فهرسة: لم تجرِ بعد"
    # what the user wrote decides; a bare command falls back to the app's language
    assert user_language("en", "متى الاجتماع؟") == "ar"
    assert user_language("ar", "/start") == "ar"
    assert user_language("ar-SA", "/help") == "ar"
    assert user_language(None, "/start") == "en"
    assert user_language("ar", "/ask When is it?") == "en"


def test_search_filters_said_in_arabic() -> None:
    from bot.catalogue import filters_text

    said = "since 2024-11-01, until 2024-11-30, from Reuters or AFP"
    assert filters_text(said, "en") == said
    assert filters_text(said, "ar") == "منذ 2024-11-01، حتى 2024-11-30، من Reuters أو AFP"
    assert filters_text("of 2024-09-03 (أمس)", "ar") == "بتاريخ 2024-09-03 (أمس)"
    answer = Answer("ماذا حدث أمس؟", REFUSAL, True, "extractive", filters="of 2024-09-03 (أمس)")
    assert render.time_lines(answer) == ["بحثت فقط في المقالات بتاريخ 2024-09-03 (أمس)."]


def test_a_quantity_of_the_wrong_kind_is_no_answer() -> None:
    """Time for a question that asks none, anything but money for a question about money."""
    month = sentence("شهرًا")
    assert extract("How many people did the letter cover?", month) is None
    assert extract("How long did the letter give Israel?", month).text == "a month"  # type: ignore[union-attr]
    toll = sentence("43972")
    assert extract("How much money did the war cost?", toll) is None
    billions = sentence("مليارات")
    assert extract("How much military aid did the US withhold?", billions) is None  # no number


CROWDED = Path(__file__).resolve().parent / "golden" / "crowded_articles.jsonl"


def _crowded(article: str) -> list[str]:
    [row] = [
        r for r in map(json.loads, CROWDED.read_text("utf-8").splitlines()) if r["id"] == article
    ]
    return [row["text"][a:b] for a, b in sentence_spans(row["text"])]


def test_the_quantity_must_be_what_the_question_measures() -> None:
    """ "How deep": a length, not the magnitude of the lead; "what percentage": a percentage;
    "how old": an age; a count is not a percentage or a length."""
    lead, _, depth, *_ = _crowded("dup-story")
    assert extract("How deep was the Papua earthquake?", lead) is None  # magnitude 6.4
    assert extract("How deep was the Papua earthquake?", depth).text == "48 kilometres"  # type: ignore[union-attr]
    assert extract("How strong was the earthquake, how many people felt it?", lead) is None
    assert extract("ما عمق الزلزال؟", "وقع الزلزال بقوة 6.4 درجات.") is None
    growth = "يتوقع البنك أن تبلغ نسبة النمو 3 بالمائة مقابل 4 ملايين دولار من القروض."
    assert extract("ما نسبة النمو التي يتوقعها البنك؟", growth).text == "3 بالمائة"  # type: ignore[union-attr]
    assert extract("What growth rate does the bank expect?", "Growth will reach 4 million.") is None
    assert extract("How many people voted for the plan?", "The plan won 52% of the vote.") is None
    died = "Mubarak died in Cairo at the age of 91, his family said."
    assert extract("How old was Mubarak when he died?", died).text == "91"  # type: ignore[union-attr]
    old = "A 38-year-old man was arrested in Italy on Friday."
    assert extract("How old is the man arrested in Italy?", old).text == "38 years"  # type: ignore[union-attr]
    assert extract("How old is the man arrested in Italy?", "Police arrested 3 men.") is None


def test_a_number_that_names_or_dates_is_no_count() -> None:
    """Flight numbers, a day joined to a date, a clock time written as four digits."""
    flight = "Air India Express flight 1344 crashed while landing at Calicut."
    assert extract("How many people were on the Air India Express flight?", flight) is None
    assert extract("كم عدد ركاب الرحلة؟", "تحطمت الرحلة رقم 1344 في الهند.") is None
    days = "On December 5 and 6, the government of Samoa shut public services."
    assert extract("How many people died of measles in Samoa?", days) is None
    assert extract("كم شخصا توفي في ساموا؟", days) is None
    clock = "At about 15:30 local time (1430 UTC) a fire was reported at the airport."
    assert extract("How many cars burned at the airport?", clock) is None
    still = "The fire destroyed 300 cars at the airport, police said."
    assert extract("How many cars burned at the airport?", still).text == "300"  # type: ignore[union-attr]


def test_a_passage_sharing_no_word_with_the_question_gives_none() -> None:
    """Same script and not one word of the question in the quote's passage: it is about
    something else. The passage is read, not the quote alone."""
    other = "They said the November 27 agreement between Turkey and Libya is null and void."
    for question, expected in (
        ("When did Sweden abolish compulsory military service?", None),
        ("When was the agreement between Turkey and Libya signed?", "27 November 2019"),
    ):
        c = citation(1, other, published="2020-01-11")
        answer = Answer(question, f"{other} [1]", False, "extractive", (c,))
        got = short_answer(answer)
        assert (got.text.split(" (")[0] if got else None) == expected  # (2019, its year)
    lead, _, depth, *_ = _crowded("dup-story")
    c = citation(1, depth, before=lead + " ", published="2015-08-13")
    answer = Answer("How deep was the Papua earthquake?", f"{depth} [1]", False, "extractive", (c,))
    assert short_answer(answer).text == "48 kilometres"  # type: ignore[union-attr]


def test_a_weekday_answers_only_the_news_of_that_day() -> None:
    """ "On Monday ... died": the day of the news answers when he died, not when he was elected;
    over an Arabic quote an English question keeps its weekday (nothing to check it against)."""
    died = "On Monday, Pranab Mukherjee, who served as President of India for five years, died."
    published = "2020-09-03"
    assert extract("When was Pranab Mukherjee elected President of India?", died,
                   published=published) is None  # fmt: skip
    got = extract("When did Pranab Mukherjee die?", died, published=published)
    assert got is not None and got.text == "Monday, 31 August 2020"
    senators = sentence("الشيوخ")
    got = extract("When did the senators call for a halt to arms sales?", senators)
    assert got is not None and got.text.startswith("Tuesday")


def test_between_two_facts_of_one_article_the_question_words_choose(embedder: Embedder) -> None:
    """The sample's toll of the war (43972) and of the attack (1206) are both quoted: the one
    whose sentence holds the question's words ("attack": "هاجم") gives the short answer, and a
    question that neither sentence holds better gets none."""
    toll = citation(1, sentence("43972"), article_id="sample")
    attack = citation(1, sentence("1206"), article_id="sample")

    def ask(question: str) -> str | None:
        answer = Answer(question, "x [1]", False, "extractive", (toll, attack))
        got = short_answer(answer, embedder)
        return got.line if got else None

    assert ask("How many people did the Hamas attack kill?") == "1,206 people [1]"
    assert ask("كم عدد الأشخاص الذين قتلوا في هجوم حماس؟") == "1206 أشخاص [1]"
    assert ask("How many people were killed in Gaza according to the health ministry?") == (
        "43,972 people [1]"
    )
    assert ask("How many civilians died?") is None


def test_dominant_needs_a_word_won_and_none_lost() -> None:
    assert dominant([[0.90, 0.95], [0.90, 0.85]], lead=0.04) == 0
    assert dominant([[0.90, 0.95], [0.99, 0.85]], lead=0.04) is None  # each wins a word
    assert dominant([[0.90, 0.92], [0.90, 0.90]], lead=0.04) is None  # no word by the lead
    assert dominant([[0.9, 0.99], [0.9, 0.9], [0.99, 0.9]], lead=0.04) is None


def test_dates_that_nest_are_one_fact_said_more_closely() -> None:
    """ "early December" and Miller's "the December meeting": the closer one, no choice."""
    early = citation(1, sentence("أوائل كانون"), article_id="sample")
    december = citation(1, sentence("اجتماع كانون"), article_id="sample")
    answer = Answer("متى سيعقد الاجتماع؟", "x [1]", False, "extractive", (december, early))
    got = short_answer(answer)
    assert got is not None and got.text.startswith("أوائل كانون الأول/ديسمبر")
    english = Answer("When is the meeting?", "x [1]", False, "extractive", (december, early))
    got = short_answer(english)
    assert got is not None and got.text.startswith("Early December")
    war = citation(1, sentence("1206"), article_id="sample")  # 7 October 2023: no nesting
    other = Answer("When did it happen?", "x [1]", False, "extractive", (early, war))
    assert short_answer(other) is None


def test_an_irregular_past_is_the_question_word() -> None:
    """'struck' is 'strike': the quote holds every word of the question and its weekday answers
    it ('elected' is still not 'died': test_a_weekday_answers_only_the_news_of_that_day)."""
    lead, *_ = _crowded("dup-story")
    got = extract("When did the Papua earthquake strike?", lead, published="2015-08-13")
    assert got is not None and got.text == "Thursday, 13 August 2015"
