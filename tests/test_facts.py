"""Answer types (index/facts.py): the kind a question asks for, the kinds a sentence carries.

Questions are the golden ones and XQuAD's (../shared/eval/xquad, in both languages); sentences
come from the sample article (data/articles) and XQuAD's paragraphs, quoted as written.
"""

from __future__ import annotations

import pytest

from index.facts import answers_kind, facts_in, kind_of

QUESTIONS = [
    # the golden questions of the sample article
    ("When is the US-Israel meeting?", "when"),
    ("Where will the meeting be held?", "where"),
    ("How many people were killed in Gaza according to the health ministry?", "how_many"),
    ("Who is the State Department spokesman?", "who"),
    ("What did the senators call for?", None),
    ("Does the UN consider the Gaza death toll reliable?", "yesno"),
    ("متى سيعقد الاجتماع الأمريكي الإسرائيلي؟", "when"),
    ("كم عدد القتلى في غزة؟", "how_many"),
    ("ماذا طلب أعضاء مجلس الشيوخ؟", None),
    ("من هو المتحدث باسم وزارة الخارجية؟", "who"),
    ("أين سيعقد الاجتماع؟", "where"),
    ("من أرسل الرسالة إلى إسرائيل في منتصف أكتوبر؟", "who"),
    # XQuAD, English and its Arabic twin
    ("In what year was the Interstate Highway System created?", "when"),
    ("ما السنة التي تم فيها إحداث نظام الطرق ما بين الولايات؟", "when"),
    ("\u200fمتى تم انتخاب تيموجين خانًا للمغول؟", "when"),  # a leading RLM, as in the data
    ("How many square kilometers is the Amazon Basin?", "how_many"),
    ("كم نقطة تخلى عنها دفاع البانثرز؟", "how_many"),
    ("What percentage of the vote for a Scottish Assembly in favor of it?", "how_many"),
    ("ما هي النسبة المئوية من التصويت لصالح الجمعية الاسكتلندية؟", "how_many"),
    ("Who did Tesla partner with in 1886?", "who"),
    ("مع من أقام تسلا شراكة في 1886؟", "who"),
    ("What town was actually granted to the Huguenots on arrival?", "where"),
    ("ما هي المدينة التي تم منحها بالفعل للهوغونوت عند الوصول؟", "where"),
    ("في أية منطقة من هذه المستعمرة الإنجليزية تم منح الأرض للهوغونوت؟", "where"),
    # the first question word decides; yes/no only without one
    ("Can you tell me who sent the letter?", "who"),
    ("How long ago did the war start?", "when"),
    ("من أين جاء المقاتلون؟", "where"),
    ("هل تعتبر الأمم المتحدة الأرقام موثوقة؟", "yesno"),
    ("Why did the United States not act?", "why"),
    ("لماذا لم تتخذ الولايات المتحدة أي إجراء؟", "why"),
    ("ما سبب الحرب؟", "why"),
    ("ما موعد الاجتماع؟", "when"),
    ("وفي أي عام بدأت الحرب؟", "when"),
    ("What satellite was used when Sky digital was launched?", None),  # a what-question
    ("ما هو القمر الصناعي الذي استُعمِل عند انطلاق سكاي ديجيتال؟", None),
    ("Explain quantum entanglement", None),
    ("", None),
    ("🙂", None),
]


@pytest.mark.parametrize(("question", "kind"), QUESTIONS)
def test_kind_of(question: str, kind: str | None) -> None:
    assert kind_of(question) == kind


SAMPLE = [
    # data/articles/000_df79775a9f276dd4.txt
    (
        "أعلنت وزارة الخارجية الأميركية يوم الثلاثاء أن مسؤولين أميركيين وإسرائيليين كبار "
        "سيجتمعون في أوائل كانون الأول/ديسمبر لبحث المخاوف الأميركية بشأن الأضرار التي تلحق "
        "بالمدنيين نتيجة العمليات العسكرية في غزة.",
        {"when", "who", "where"},
    ),
    (
        "وتقول وزارة الصحة في غزة التي تديرها حماس إن عدد القتلى جراء الحرب المستمرة وصل إلى "
        "43972 شخصا، معظمهم من المدنيين.",
        {"how_many", "who", "where"},
    ),
    (
        "بالإضافة إلى ذلك، أعطت الرسالة إسرائيل شهرًا للسماح بدخول المزيد من المساعدات إلى غزة "
        "أو مواجهة قطع بعض الأسلحة الأمريكية.",
        {"how_many"},  # a month; Gaza after "إلى" is no place of the event, no subject said
    ),
    ("ورفض ميلر تحديد مكان عقد الاجتماع.", {"who"}),  # names no place: "where" must be absent
    ("وأضاف: “لقد أنشأنا هذه القناة الجديدة”.", set()),  # a said-verb without its subject
    (
        "ومن شأن استخدام إسرائيل للأسلحة أن ينتهك القانون الأمريكي إذا ثبت أن إسرائيل "
        "استهدفت وقتلت مدنيين عمدا، وتنظر السلطات الأمريكية في حالات محددة لمعرفة ما إذا كان "
        "هذا هو الحال.",
        set(),
    ),
    ("شاركها.", set()),
    # XQuAD paragraphs
    ("Tesla died on 7 January 1943.", {"when"}),  # the name opens the sentence
    ("توفي تسلا في 7 يناير 1943.", {"when"}),  # the numbers of a date are no count
    ("There has been a resurgence in popular interest in Tesla since the 1990s.", None),
    ("كان هناك تجدد في الاهتمام الشعبي بتسلا منذ التسعينيات.", {"when"}),
    (
        "Tesla was renowned for his achievements and showmanship, eventually earning him a "
        'reputation in popular culture as an archetypal "mad scientist".',
        set(),
    ),
]


@pytest.mark.parametrize(("sentence", "kinds"), SAMPLE)
def test_facts_in(sentence: str, kinds: set[str] | None) -> None:
    found = facts_in(sentence)
    if kinds is None:  # only the year matters here
        assert "when" in found and "how_many" not in found
    else:
        assert found == kinds


def test_a_count_of_four_digits_is_no_year() -> None:
    """1206 people is a count; "in 2023" and "عام 1990" are years, not counts."""
    assert facts_in("مما أسفر عن مقتل 1206 أشخاص.") == {"how_many"}
    assert "how_many" not in facts_in("The company was founded in 2023.")
    assert "when" in facts_in("تأسست الشركة عام 1990.")
    assert "how_many" not in facts_in("تأسست الشركة عام 1990.")


def test_numbers_in_every_form() -> None:
    assert "how_many" in facts_in("وصل عدد القتلى إلى ٤٣٩٧٢ شخصا.")  # Arabic-Indic digits
    assert "how_many" in facts_in("The toll rose to 43,972, the ministry said.")
    assert "how_many" in facts_in("احتفظت ببعض مليارات الدولارات من المساعدات.")
    assert "how_many" in facts_in("قُتل ثلاثة أشخاص في الهجوم.")
    assert "how_many" in facts_in("Unemployment fell to 5.2%.")
    assert "how_many" in facts_in("The letter gave Israel a month to act.")
    assert "how_many" not in facts_in("The meeting was postponed.")
    assert "how_many" not in facts_in("The F-16 jets were grounded on Tuesday.")


def test_people_places_in_latin_script() -> None:
    assert "who" in facts_in("The meeting was announced by Matthew Miller on Tuesday.")
    assert "who" in facts_in("President Biden met the king.")
    assert "who" not in facts_in("The meeting will take place in December.")
    assert "where" in facts_in("The officials will meet in Washington next month.")
    assert "where" not in facts_in("The officials will meet in December.")


def test_arabic_places_need_a_preposition() -> None:
    """A place as the subject or object is not where something happened."""
    assert "where" in facts_in("وقعت الغارة في مدينة رفح.")
    assert "where" in facts_in("عقد الاجتماع بالرياض.")
    assert "where" not in facts_in("هاجمت إسرائيل الفصائل.")
    assert "where" not in facts_in("بغداد مدينة قديمة.")  # Baghdad's ب is its own letter


def test_answers_kind() -> None:
    dated = "سيجتمعون في أوائل كانون الأول/ديسمبر لبحث المخاوف."
    assert answers_kind("when", dated)
    assert not answers_kind("how_many", dated)
    for kind in (None, "yesno", "why"):
        assert not answers_kind(kind, dated)
