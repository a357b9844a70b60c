"""Names a question asks about, checked in passages of either script (index/names.py)."""

from __future__ import annotations

from index.names import missing_names, question_names, searchable

SAMPLE_LEAD = (
    "أعلنت وزارة الخارجية الأميركية يوم الثلاثاء أن مسؤولين أميركيين وإسرائيليين كبار سيجتمعون "
    "في أوائل كانون الأول/ديسمبر لبحث المخاوف الأميركية بشأن الأضرار التي تلحق بالمدنيين."
)


def lacks(question: str, text: str) -> tuple[int, int]:
    return missing_names(question_names(question), searchable(text))


def test_question_names_in_both_scripts():
    assert [n.text for n in question_names("When is the US-Israel meeting?")] == ["US", "Israel"]
    assert [n.text for n in question_names("What did Miller say?")] == ["Miller"]
    assert len(question_names("متى يجتمع المسؤولون الأميركيون والإسرائيليون؟")) == 2
    assert question_names("When is the meeting?") == ()


def test_a_neighbouring_story_lacks_the_asked_country():
    q = "Who was elected speaker of the Australian parliament?"
    assert lacks(q, "John Bercow has been re-elected as Speaker of the House of Commons.") == (1, 1)
    assert lacks(q, "انتخب مجلس النواب الأسترالي اليوم النائب توني سميث رئيسا جديدا") == (0, 1)


def test_names_across_scripts_through_the_table():
    assert lacks("When is the US-Israel meeting?", SAMPLE_LEAD) == (0, 2)
    arabic = "متى يجتمع المسؤولون الأميركيون والإسرائيليون؟"
    assert lacks(arabic, "US and Israeli officials will meet in December.") == (0, 2)
    assert lacks(arabic, "British officials will meet in December.") == (2, 2)


def test_a_name_the_table_does_not_know_is_not_checked_across_scripts():
    assert lacks("What did Miller say?", SAMPLE_LEAD) == (0, 0)  # no guessed transliteration
    assert lacks("What did Miller say?", "Matthew Miller said the meeting was set.") == (0, 1)


def test_arabic_stems_take_name_endings_only():
    # "يمن" (Yemen) must not match "يمنع" (prevents).
    assert lacks("What happened in Yemen?", "قال إن القانون يمنع ذلك.") == (1, 1)
    assert lacks("What happened in Yemen?", "قتل ثلاثة يمنيين في عدن.") == (0, 1)


def test_events_and_agencies_are_checked_across_scripts():
    # "When do the Paris Olympic Games open?" over an Arabic sports schedule: it names neither.
    question = "When do the Paris Olympic Games open?"
    assert lacks(question, "مباراة الجزائر والمغرب يوم الخميس في الساعة 17:00.") == (2, 2)
    assert lacks(question, "تنطلق الألعاب الأولمبية في باريس يوم 26 جويلية.") == (0, 2)
    assert lacks("What did UNICEF deliver?", "أعلنت اليونيسف توزيع لقاحات.") == (0, 1)


def test_more_countries_meet_across_scripts_without_swallowing_neighbours():
    assert lacks("When did the Sultan of Brunei die?", "توفي سلطان بروناي.") == (0, 1)
    assert lacks("What did the UAE announce?", "قال وزير إماراتي إن") == (0, 1)
    assert lacks("Who attacked in Libya?", "هجوم في ليبيريا") == (1, 1)  # Liberia is not Libya
    assert lacks("What happened in Peru?", "انفجار في بيروت") == (1, 1)  # nor Beirut Peru
