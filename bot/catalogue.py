"""The interface text, in English and Arabic: one catalogue, not strings across the code.

The reader's language is the question's (``language_of``): Arabic for a question written in
Arabic script, English otherwise. The code keeps the English canonical sentences (REFUSAL and
NEED_QUESTION of bot/citations.py, which prompts and tests share); the faces (bot/render.py,
the CLI, Telegram) say them in the reader's language through ``say`` and ``localise``.
"""

from __future__ import annotations

import re

from bot.citations import NEED_QUESTION, REFUSAL
from index.text import script_of

LANGUAGES = ("en", "ar")

MESSAGES: dict[str, dict[str, str]] = {
    "refusal": {"en": REFUSAL, "ar": "لم أجد هذا في المقالات المفهرسة."},
    "need_question": {
        "en": NEED_QUESTION,
        "ar": "يرجى طرح سؤال كامل عن الأخبار، مثلًا: "
        "«متى سيجتمع المسؤولون الأميركيون والإسرائيليون؟»",
    },
    # the short answer's notes on dates
    "no_year_undated": {
        "en": "(the article gives no year and is undated)",
        "ar": "(لا يذكر المقال السنة، والمقال غير مؤرخ)",
    },
    "no_year": {
        "en": "(the article gives no year)",
        "ar": "(لا يذكر المقال السنة)",
    },
    "undated": {"en": "(the article is undated)", "ar": "(المقال غير مؤرخ)"},
    "upcoming": {"en": "(upcoming)", "ar": "(قادم)"},
    "current": {"en": "(under way)", "ar": "(جارٍ الآن)"},
    "past": {"en": "(past)", "ar": "(مضى)"},
    "short_answer": {"en": "Answer", "ar": "الجواب"},
    # time lines under an answer
    "as_of": {
        "en": "As of {date} (the newest article used{tail}).",
        "ar": "حتى تاريخ {date} (أحدث مقال مستخدم{tail}).",
    },
    "as_of_today": {"en": "; today is {today}", "ar": "؛ اليوم {today}"},
    "as_of_unknown": {
        "en": "As of: unknown (the articles used are undated).",
        "ar": "التاريخ: غير معروف (المقالات المستخدمة غير مؤرخة).",
    },
    "searched_only": {
        "en": "Searched only articles {filters}.",
        "ar": "بحثت فقط في المقالات {filters}.",
    },
    "article_of": {"en": "article of {date}", "ar": "مقال بتاريخ {date}"},
    "undated_article": {"en": "undated article", "ar": "مقال غير مؤرخ"},
    "cannot_place": {
        "en": "“{text}” cannot be placed in time",
        "ar": "«{text}» لا يمكن تحديد زمنه",
    },
    "word_past": {"en": "past", "ar": "مضى"},
    "word_upcoming": {"en": "upcoming", "ar": "قادم"},
    "word_current": {"en": "under way", "ar": "جارٍ الآن"},
    "word_today": {"en": "today", "ar": "اليوم"},
    "reports_differ": {
        "en": "Reports differ: {newer} says {new_says}; {older} said {old_says}. {verdict}",
        "ar": "تختلف التقارير: {newer} يقول {new_says}؛ و{older} قال {old_says}. {verdict}",
    },
    "newest_preferred": {"en": "The newest is preferred.", "ar": "يُفضَّل الأحدث."},
    "newer_unknown": {"en": "Which is newer is unknown.", "ar": "لا يُعرف أيهما أحدث."},
    "otherwise": {"en": "otherwise", "ar": "خلاف ذلك"},
    "sources": {"en": "Sources", "ar": "المصادر"},
    "undated_word": {"en": "undated", "ar": "غير مؤرخ"},
    "machine_translation": {"en": "machine translation", "ar": "ترجمة آلية"},
    "original_title": {"en": "original title, in Arabic", "ar": "العنوان الأصلي"},
    "article_in": {"en": "an article in {language}", "ar": "مقال {language}"},
    "lang_ar": {"en": "Arabic", "ar": "بالعربية"},
    "lang_en": {"en": "English", "ar": "بالإنجليزية"},
    # Telegram /start, /help and /status
    "help_intro": {
        "en": "I answer questions about the news from ",
        "ar": "أجيب عن أسئلة حول الأخبار من ",
    },
    "help_articles": {"en": "{n} indexed article{s}", "ar": "{n} مقالًا مفهرسًا"},
    "help_newest": {"en": " (the newest: “{title}”, {date})", "ar": " (أحدثها: «{title}»، {date})"},
    "help_quoting": {
        "en": ", quoting the sentences that answer them, with their sources. "
        "Arabic and English both work.\n\n",
        "ar": "، وأقتبس الجمل التي تجيب عنها مع مصادرها. أفهم العربية والإنجليزية.\n\n",
    },
    "help_how": {"en": "How to ask", "ar": "كيف تسأل"},
    "help_how_body": {
        "en": "\n• Send your question as a message, or /ask followed by the question."
        "\n• In a group: /ask QUESTION, mention @{username}, or reply to one of my answers."
        "\n• Follow-up questions work (“and where will it be held?”); /new starts over.\n\n",
        "ar": "\n• أرسل سؤالك رسالةً، أو /ask متبوعًا بالسؤال."
        "\n• في مجموعة: /ask السؤال، أو اذكر @{username}، أو رُدّ على إحدى إجاباتي."
        "\n• يمكنك متابعة السؤال («وأين سيُعقد؟»)؛ والأمر /new يبدأ من جديد.\n\n",
    },
    "help_commands": {"en": "Commands", "ar": "الأوامر"},
    "cmd_ask": {"en": "Ask a question about the news", "ar": "اطرح سؤالًا عن الأخبار"},
    "cmd_latest": {
        "en": "The newest articles (since:3d source:AFP)",
        "ar": "أحدث المقالات (since:3d source:AFP)",
    },
    "cmd_sources": {"en": "Full sources of my last answer", "ar": "المصادر الكاملة لآخر إجابة"},
    "cmd_new": {"en": "Forget this conversation", "ar": "انسَ هذه المحادثة"},
    "cmd_status": {"en": "Index size and last update", "ar": "حجم الفهرس وآخر تحديث"},
    "cmd_help": {"en": "What I do and how to ask", "ar": "ماذا أفعل وكيف تسأل"},
    "ask_placeholder": {"en": "QUESTION", "ar": "السؤال"},
    "help_try": {"en": "Try", "ar": "جرّب"},
    "status_index": {"en": "Index", "ar": "الفهرس"},
    "status_counts": {
        "en": "\nArticles: {articles}, passages: {chunks}",
        "ar": "\nالمقالات: {articles}، المقاطع: {chunks}",
    },
    "status_last": {"en": "\nLast reindex: {when}", "ar": "\nآخر فهرسة: {when}"},
    "status_never": {"en": "never", "ar": "لم تجرِ بعد"},
    "status_newest": {"en": "\nNewest article: {title} ", "ar": "\nأحدث مقال: {title} "},
    "untitled": {"en": "untitled", "ar": "بلا عنوان"},
    "status_unreachable": {
        "en": "\nThe index is unreachable right now.",
        "ar": "\nتعذّر الوصول إلى الفهرس الآن.",
    },
}

# The canonical (English) sentences that an Answer may carry as its text, by message key.
_CANONICAL = {REFUSAL: "refusal", NEED_QUESTION: "need_question"}


def language_of(text: str | None) -> str:
    """The reader's language for ``text``: "ar" for Arabic script, else "en"."""
    return "ar" if text and script_of(text) == "arabic" else "en"


def user_language(language_code: str | None, text: str | None = None) -> str:
    """A chat user's language: that of what they wrote (a command's words), else the language
    their Telegram app is set to (``language_code``, "ar" or "ar-SA"), else English."""
    words = (text or "").partition(" ")[2] if (text or "").startswith("/") else (text or "")
    script = script_of(words) if words.strip() else "other"
    if script != "other":
        return "ar" if script == "arabic" else "en"
    return "ar" if (language_code or "").lower().startswith("ar") else "en"


_FILTER_WORDS_AR = (
    (re.compile(r"\bof (?=\d{4}-)"), "بتاريخ "),
    (re.compile(r"(?<=\d) to (?=\d{4}-)"), " إلى "),
    (re.compile(r"\bsince (?=\d{4}-)"), "منذ "),
    (re.compile(r"\buntil (?=\d{4}-)"), "حتى "),
    (re.compile(r"\bfrom (?=\S)"), "من "),
    (re.compile(r" or "), " أو "),
    (re.compile(r", "), "، "),
)


def filters_text(description: str, language: str) -> str:
    """A search filter as ``Filters.describe`` says it ("since 2024-11-01, from AFP"), in
    ``language``; outlet names and the question's own time words stay as written."""
    if language != "ar":
        return description
    for pattern, word in _FILTER_WORDS_AR:
        description = pattern.sub(word, description)
    return description


def say(key: str, language: str = "en", **values: object) -> str:
    """Message ``key`` in ``language`` (English when it has no such translation), filled in."""
    forms = MESSAGES[key]
    text = forms.get(language) or forms["en"]
    return text.format(**values) if values else text


def localise(text: str, language: str) -> str:
    """``text`` in ``language`` when it is one of the canonical sentences (the refusal, the
    request for a full question); any other text as it is."""
    key = _CANONICAL.get(text.strip())
    return say(key, language) if key else text
