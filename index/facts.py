"""Answer types: the kind of fact a question asks for, and the kinds of fact a sentence carries.

``kind_of(question)`` reads the question word, in English or Arabic:

- "when": when, what date/day/year, since when; متى، ما موعد، ما تاريخ، في أي عام/يوم/شهر;
- "how_many": how many/much/long/old/far, what percentage/number/amount; كم، ما عدد، ما نسبة;
- "who": who, whom, whose, which company/party/minister...; من (هو)، أي شركة/حزب، ما اسم;
- "where": where, in which city/country; أين، من أين، في أي مدينة/دولة، ما مكان;
- "yesno": is/are/does/did/can... at the start with no question word after it; هل;
- "why": why, what caused, for what reason; لماذا، ما سبب، لأي سبب;
- None: anything else ("What did the senators call for?").

When a question holds several question words the first one decides ("Who said when ...": who).

``facts_in(sentence)`` says which of "when", "how_many", "who" and "where" a sentence carries:

- "when": a date expression of index/dates.py, a year ("in 1998", "عام 1990") or a clock time;
- "how_many": a number (ASCII or Arabic-Indic digits, "43,972", "3.5"), a number word
  ("ثلاثة", "مليون", "آلاف", "two", "dozens"), a percentage, money or a duration ("شهرًا",
  "a month"), but not the digits of a date or a year;
- "who": a person or an organisation: a title or role word ("الرئيس", "المتحدث", "وزارة",
  "President", "Minister"), a said-verb with its subject ("وقال ميلر"), an organisation word
  or name ("شركة", "حماس", "Inc"), or, in Latin script, a capitalised word that is not the
  first of the sentence and not a month, a weekday or a known place;
- "where": a known place (a small table of countries, capitals and cities in both languages)
  after "في" or "ب", a place noun after "في" ("في مدينة ..."), or "in"/"at"/"near" before a
  capitalised word that is not a month or a weekday.

Pure functions, a few regular expressions and word tables, no model: a sentence takes well
under half a millisecond. The signals are evidence for ranking and refusal, not parses: a
capitalised "Israeli" counts as "who", and a sentence may carry a kind without answering.
"""

from __future__ import annotations

import re
from functools import lru_cache

from index.dates import normalize_word, resolve_dates
from index.text import ascii_digits, normalize_arabic

KINDS = ("when", "how_many", "who", "where", "yesno", "why")
FACT_KINDS = frozenset({"when", "how_many", "who", "where"})


def _n(word: str) -> str:
    """A table word as compared: normalised Arabic (alef, ya, ta marbuta unified), lower case."""
    return normalize_word(word)


def _words(text: str) -> frozenset[str]:
    return frozenset(_n(w) for w in text.split())


# --- questions ---------------------------------------------------------------------------------

_EN_AUX = (
    "is are was were am do does did can could will would should shall has have had may might "
    "must isn't aren't wasn't weren't doesn't don't didn't can't couldn't won't wouldn't "
    "shouldn't hasn't haven't hadn't"
).split()

_EN_PLACE_NOUNS = (
    r"city|country|countries|town|place|region|state|province|location|area|venue|continent|"
    r"capital|district|village|street|building|island|neighbou?rhood|county|nation|port|airport"
)
_EN_WHO_NOUNS = (
    r"company|companies|organi[sz]ation|group|party|agency|official|minister|person|people|"
    r"team|firm|leader|president|body|ministry|department|man|woman|newspaper|network|bank|"
    r"club|university|player|actor|author|writer|general|king|queen|prince|politician|"
    r"candidate|spokes(?:man|woman|person)|member|members|officials|militants?|faction"
)

# English patterns: (kind, regex); the earliest match in the question decides.
_EN_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "why",
        re.compile(
            r"\bwhy\b|\bhow come\b|\bfor what reason\b|\bwhat (?:was|is|were|are) the "
            r"(?:reasons?|cause|causes|motive)\b|\bwhat (?:caused|led to|prompted|made)\b",
            re.I,
        ),
    ),
    (
        "how_many",
        re.compile(
            r"\bhow (?:many|much|long|old|far|big|large|tall|high|deep|wide|heavy|fast)\b|"
            r"\bwhat (?:is |was |are |were )?(?:the )?(?:percentage|percent|proportion|share|"
            r"number|amount|sum|total|price|cost|population|death toll|toll|size|value|rate|"
            r"figure)\b|\bby how much\b",
            re.I,
        ),
    ),
    (
        "when",
        re.compile(
            r"\bwhen\b|\bsince when\b|\bhow long ago\b|\b(?:what|which) (?:date|day|year|month|"
            r"time|decade|century|week|hour)\b|\bat what time\b|\bin what year\b",
            re.I,
        ),
    ),
    (
        "where",
        re.compile(
            rf"\bwhere\b|\b(?:what|which) (?:{_EN_PLACE_NOUNS})\b",
            re.I,
        ),
    ),
    (
        "who",
        re.compile(
            rf"\b(?:who|whom|whose)\b|\b(?:what|which) (?:{_EN_WHO_NOUNS})\b|"
            r"\bwhat (?:is|was) (?:the )?name of\b|\bwhat (?:is|was) (?:his|her|their) name\b",
            re.I,
        ),
    ),
]

_AR_PLACE_NOUNS = (
    "مدينة بلد دولة مكان منطقة ولاية محافظة بلدة قرية عاصمة موقع إقليم جزيرة قارة حي "
    "مدينه بلاد الدول البلدان المدن شارع ميناء مطار مناطق المناطق المطارات القارة قارة"
)
_AR_WHO_NOUNS = (
    "شركة منظمة حزب جهة وكالة وزارة حركة فريق مؤسسة هيئة جمعية مجموعة شخص رئيس وزير "
    "مسؤول لاعب نادي جامعة صحيفة قناة بنك منظمات جماعة فصيل فنان شاعر كاتب زعيم حاكم قائد "
    "ملك امير الفريق الحزب الشركة المنظمة"
)
_AR_TIME_NOUNS = "يوم عام سنة شهر تاريخ وقت ساعة أسبوع عقد قرن فترة العام السنة"

_PREFIX = "[وف]?"
_END = r"(?=\s|$|[؟?!.،,:])"
_START = r"(?:^|(?<=[\s«\"“(]))"


def _alts(words: str) -> str:
    return "|".join(sorted((re.escape(_n(w)) for w in words.split()), key=len, reverse=True))


# Arabic patterns run on normalised text (normalize_arabic: أ/إ/آ -> ا, ة -> ه, ى -> ي).
_AR_QUANTITY_NOUNS = (
    "عدد نسبة حجم قيمة مقدار مبلغ مساحة طول مدة كمية سعر تكلفة حصيلة عمر ارتفاع معدل "
    "إجمالي مجموع رقم النسبة المئوية"
)
# "ما (هو) ال...", "ماذا كان", "في أي/أية ...", "مع أي ...": the question word before a noun.
_WHAT = rf"{_START}{_PREFIX}(?:ما|ماذا)\s+(?:هو\s+|هي\s+|هم\s+|كان\s+|كانت\s+)?(?:ال)?"
_WHICH = rf"{_START}{_PREFIX}(?:في\s+|ب|من\s+|الي\s+|مع\s+|عن\s+|ل|علي\s+)?(?:اي|ايه)\s+"


def _nouns(words: str) -> str:
    return rf"(?:{_alts(words)}){_END}"


# Arabic patterns run on normalised text (normalize_arabic: أ/إ/آ -> ا, ة -> ه, ى -> ي).
_AR_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "why",
        re.compile(
            rf"{_START}{_PREFIX}(?:لماذا|علام){_END}|{_START}{_PREFIX}لم(?=\s+(?:لا|يعد|"
            rf"تعد)){_END}|{_WHAT}(?:سبب|اسباب|دافع|دوافع|علة)|{_WHAT}الذي\s+دفع|"
            rf"{_START}{_PREFIX}(?:لاي|لايه)\s+(?:سبب|اسباب){_END}"
        ),
    ),
    (
        "how_many",
        re.compile(rf"{_START}{_PREFIX}[بل]?كم{_END}|{_WHAT}{_nouns(_AR_QUANTITY_NOUNS)}"),
    ),
    (
        "when",
        re.compile(
            rf"{_START}{_PREFIX}(?:منذ\s+|حتي\s+|الي\s+)?متي{_END}|"
            rf"{_WHAT}{_nouns(_AR_TIME_NOUNS + ' موعد')}|{_START}{_PREFIX}موعد{_END}|"
            rf"{_WHICH}{_nouns(_AR_TIME_NOUNS)}"
        ),
    ),
    (
        "where",
        re.compile(
            rf"{_START}{_PREFIX}(?:من\s+|الي\s+|الى\s+)?اين{_END}|"
            rf"{_WHICH}{_nouns(_AR_PLACE_NOUNS)}|"
            rf"{_WHAT}{_nouns(_AR_PLACE_NOUNS + ' مكان موقع مقر')}|"
            rf"{_WHAT}اسم\s+(?:ال)?{_nouns(_AR_PLACE_NOUNS)}"
        ),
    ),
    (
        "who",
        re.compile(
            rf"^\W*{_PREFIX}(?:مع\s+|عن\s+|الي\s+|علي\s+|ل|ب)?من(?!\s+(?:اين|متي|اجل|قبل|بين))"
            rf"(?=\s|$|[؟?])|{_START}{_PREFIX}من\s+(?:هو|هي|هم|هن){_END}|"
            rf"{_WHICH}{_nouns(_AR_WHO_NOUNS)}|{_WHAT}{_nouns(_AR_WHO_NOUNS + ' اسم لقب')}|"
            rf"{_START}{_PREFIX}لمن{_END}"
        ),
    ),
]

_LEADING_WHAT = re.compile(r"^\W*(?:what|which)\b", re.I)
_LEADING_WHAT_AR = re.compile(r"^\W*[وف]?(?:ما|ماذا)(?=\s)")
_FORMAT = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_YESNO_EN = re.compile(rf"^\W*(?:{'|'.join(re.escape(w) for w in _EN_AUX)})\b", re.I)
_YESNO_AR = re.compile(rf"^\W*{_PREFIX}(?:هل|اليس|أليس)(?=\s|$)")


@lru_cache(maxsize=4096)
def kind_of(question: str) -> str | None:
    """The kind of fact ``question`` asks for: "when", "how_many", "who", "where", "yesno",
    "why", or None (a "what" question, a request, no question at all)."""
    text = " ".join(_FORMAT.sub("", question).split())
    if not text:
        return None
    arabic = normalize_arabic(text)
    best: tuple[int, int, str] | None = None  # (start, -length, kind): first, then longest
    for patterns, subject in ((_EN_PATTERNS, text), (_AR_PATTERNS, arabic)):
        for kind, pattern in patterns:
            match = pattern.search(subject)
            if match and (best is None or (match.start(), -len(match.group())) < best[:2]):
                best = (match.start(), -len(match.group()), kind)
    if best is not None:
        # "What satellite was used when ...": a question that opens with what/which asks for a
        # thing, whatever question word follows later
        lead = _LEADING_WHAT.match(text) or _LEADING_WHAT_AR.match(arabic)
        if lead and best[0] >= lead.end():
            return None
        return best[2]
    if _YESNO_EN.search(text) or _YESNO_AR.search(arabic) or _YESNO_AR.search(text):
        return "yesno"
    return None


# --- numbers -----------------------------------------------------------------------------------

# Arabic number words, with the forms they take in case and gender; ordinals are not counts.
_AR_NUMBER_WORDS = _words(
    "واحد واحدة اثنان اثنين اثنتان اثنتين ثلاث ثلاثة أربع أربعة خمس خمسة ست ستة سبع سبعة "
    "ثمان ثماني ثمانية تسع تسعة عشر عشرة عشرون عشرين ثلاثون ثلاثين أربعون أربعين خمسون "
    "خمسين ستون ستين سبعون سبعين ثمانون ثمانين تسعون تسعين مئة مائة مئتان مئتين مائتين مئات "
    "ألف ألفا ألفان ألفين آلاف مليون مليونا مليونان مليونين ملايين مليار مليارا ملياران "
    "مليارين مليارات بليون تريليون عشرات نصف ثلث ربع ضعف أضعاف"
)
# Durations and counted units that carry their own number: "شهرًا" is "a month", "يومين" two days.
_AR_DURATION_WORDS = _words(
    "شهرا شهرين شهران أسبوعا أسبوعين أسبوعان يوما يومين يومان ساعتين ساعتان "
    "عاما عامين عامان سنتين سنتان دقيقة دقيقتين دقائق ثوان"
)
_EN_NUMBER_WORDS = frozenset(
    """one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety
    hundred hundreds thousand thousands million millions billion billions trillion dozen dozens
    half third quarter twice double triple""".split()
)
_EN_DURATION = re.compile(
    r"\b(?:a|an|one|two|three|four|five|six|seven|eight|nine|ten)\s+"
    r"(?:more\s+)?(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?|decades?)\b",
    re.I,
)
# A number: 43972, 43,972, 3.5, ٤٣٩٧٢ (digits made ASCII first).
_NUMBER = re.compile(
    r"(?<![\w.,])(?<![^\W\d_]-)(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\d,])|\d+(?:\.\d+)?)"
)
_CLOCK = re.compile(
    r"(?<!\d)(?:[01]?\d|2[0-3])[:.][0-5]\d(?:\s*(?:am|pm|a\.m\.|p\.m\.))?(?!\d)|"
    r"\b\d{1,2}\s*(?:am|pm|a\.m\.|p\.m\.)|\bo'clock\b|(?<!\w)الساعة\s+\d",
    re.I,
)
# Words before a four-digit number that make it a year ("in 1998", "عام 1990").
_YEAR_BEFORE = re.compile(
    r"(?:\b(?:in|since|by|until|of|from|to|year|during|before|after|early|late|mid|summer|the|"
    r"winter|spring|autumn|fall)(?:\s+the)?|(?<!\w)[وبفل]?(?:عام|العام|سنة|السنة|منذ|في|حتى|"
    r"خلال|مطلع|أواخر|أوائل|نهاية|بداية|صيف|شتاء|ربيع|خريف))[\s-]*$",
    re.I,
)
_DECADE = re.compile(
    r"(?<!\d)(?:1[0-9]|20)[0-9]0['’]?s\b|(?<!\w)['’][0-9]0s\b|(?<!\w)[وبفل]?(?:ال)?(?:عشرينيات|"
    r"ثلاثينيات|أربعينيات|اربعينيات|خمسينيات|ستينيات|سبعينيات|ثمانينيات|تسعينيات)(?!\w)"
)
_YEAR_AFTER = re.compile(r"^\s*(?:م(?!\w)|AD\b|BC\b|CE\b|هـ|ه(?!\w))")


def is_year(text: str, start: int, end: int) -> bool:
    """Whether the number at ``text[start:end]`` is a year rather than a count."""
    digits = text[start:end]
    if not digits.isdigit() or len(digits) != 4:
        return False
    value = int(digits)
    if _YEAR_BEFORE.search(text[max(0, start - 20) : start]) or _YEAR_AFTER.match(text[end:]):
        return 1000 <= value <= 2200
    if not 1900 <= value <= 2100:
        return False
    # a count has its noun after it ("1206 أشخاص", "2000 people"); a year does not
    after = text[end : end + 20].split()
    return not after or not (after[0][:1].isalpha() and after[0].lower() not in _YEAR_NOUNS)


_YEAR_NOUNS = frozenset(
    {"and", "or", "when", "to", "after", "before", "was", "is", "the"}
) | _words("و حتى إلى الى عندما حين بعد قبل كان كانت")


def _strip_ar(word: str) -> list[str]:
    """``word`` and its forms without a one-letter prefix (و ب ل ف ك) and the article ال."""
    forms = [word]
    for prefix in ("وبال", "وال", "بال", "فال", "كال", "لل", "ال", "و", "ف", "ب", "ل", "ك"):
        if word.startswith(prefix) and len(word) - len(prefix) >= 2:
            forms.append(word[len(prefix) :])
    return forms


def _numbers(text: str, skip: list[tuple[int, int]], words: list[str]) -> bool:
    """Whether ``text`` (ASCII digits) holds a count, amount, percentage or duration; the
    digits inside ``skip`` (dates, clock times) are no count."""
    for match in _NUMBER.finditer(text):
        a, b = match.span()
        if any(s <= a and b <= e for s, e in skip) or is_year(text, a, b):
            continue
        return True
    if _EN_DURATION.search(text):
        return True
    for word in words:
        if word.isascii():
            if word.lower() in _EN_NUMBER_WORDS:
                return True
        elif any(f in _AR_NUMBER_WORDS or f in _AR_DURATION_WORDS for f in _strip_ar(word)):
            return True
    return False


# --- people and organisations ------------------------------------------------------------------

_AR_TITLES = _words(
    "رئيس الرئيس رئيسة الرئيسة وزير الوزير وزيرة الوزيرة الملك ملك الملكة الأمير أمير "
    "الأميرة ولي الشيخ الشيخة المتحدث المتحدثة الناطق الناطقة متحدث ناطق السفير سفير السفيرة "
    "المدير مدير المديرة الأمين أمين النائب نائب السيناتور السناتور القائد قائد اللواء العميد "
    "العقيد الجنرال الفريق المستشار مستشار المستشارة السيد السيدة الدكتور الدكتورة البروفيسور "
    "المبعوث مبعوث المفوض محافظ المحافظ عمدة رئيسا زعيم الزعيم المرشد البابا الإمام مسؤول "
    "مسؤولون مسؤولين المسؤول مسؤولو المسؤولين مقاتلو مقاتلي مقاتلون المدعي القاضي النائبة "
    "مراسل المراسل الكاتب الصحفي الصحافي الخبير خبير المحلل الباحث اللاعب المدرب الحاكم "
    "حاكم الإدارة إدارة الحكومة حكومة الجيش جيش الشرطة"
)
_AR_ORGS = _words(
    "شركة الشركة منظمة المنظمة وكالة الوكالة حزب الحزب حركة الحركة وزارة الوزارة مجلس "
    "المجلس هيئة الهيئة جمعية الجمعية مؤسسة المؤسسة اتحاد الاتحاد جامعة الجامعة بنك البنك "
    "مصرف المصرف نادي النادي صندوق الصندوق محكمة المحكمة برلمان البرلمان الكونغرس الكنيست "
    "مجموعة جماعة الجماعة لجنة اللجنة تحالف التحالف حماس فتح الأمم الناتو رويترز "
    "فرانس اليونسكو اليونيسف الأونروا أرامكو سابك واس المؤتمر مؤتمر البنتاغون الكرملين"
)
# Words for people's roles and for organisations, normalised (shared with bot/short.py).
ROLE_WORDS = _AR_TITLES | _AR_ORGS
_AR_SAID = _words(
    "قال قالت أعلن أعلنت صرح صرحت أكد أكدت أضاف أضافت أوضح أوضحت ذكر ذكرت أفاد أفادت دعا "
    "دعت طالب طالبت رفض رفضت نفى نفت أشار أشارت حذر حذرت كشف كشفت وصف وصفت اتهم اتهمت "
    "أرسل أرسلت هاجم هاجمت التقى التقت استقبل استقبلت وقع وقعت"
)
# Words that follow a said-verb without being its subject ("قال إن", "قال في بيان").
_AR_NOT_SUBJECT = _words(
    "إن أن إنه أنه إنها أنها إنهم أنهم في يوم اليوم أمس له لها لهم على عن إلى الى من مع "
    "بأن بان خلال عبر أيضا ايضا كذلك لـ هذا هذه ذلك بعد قبل حين عندما إنّ أنّ ما لا لم"
)
_EN_TITLES = frozenset(
    """president minister mr mrs ms dr prof sir lord king queen prince princess sheikh senator
    governor mayor secretary chancellor spokesman spokeswoman spokesperson ambassador general
    chairman chairwoman ceo director chief judge pope envoy commissioner premier
    inc ltd corp company corporation ministry department agency party organisation
    organization council committee union association university bank group foundation""".split()
)
# Capitalised words that are neither people nor organisations.
_EN_NOT_NAMES = frozenset(
    """i january february march april may june july august september october november december
    monday tuesday wednesday thursday friday saturday sunday the a an in on at of and but or
    he she it they we you his her their its this that these those there here when where who
    what why how if as after before while during since for from to by with mr""".split()
)
_CAPITALISED = re.compile(r"(?<![\w'’])[A-Z][a-zA-Z'’\-]+|(?<![\w'’])[A-Z]{2,}(?![a-z])")


def _who(text: str, words: list[str], gaps: list[str]) -> bool:
    for i, word in enumerate(words):
        if word.isascii():
            continue
        forms = _strip_ar(word)
        if any(f in _AR_TITLES or f in _AR_ORGS for f in forms):
            return True
        if i + 1 < len(words) and any(f in _AR_SAID for f in forms):
            subject = words[i + 1]
            if (
                not gaps[i + 1].strip()  # no colon or quote between verb and subject
                and not subject.isascii()
                and subject not in _AR_NOT_SUBJECT
                and len(subject) >= 2
            ):
                return True
    for match in _CAPITALISED.finditer(text):
        word = match.group()
        low = word.lower().strip("'’")
        if low in _EN_TITLES:
            return True
        before = text[: match.start()].rstrip(" \"'“”‘’«»(-–—")
        if not before or before.endswith((".", "!", "?", ":", "؟")):
            continue  # a sentence's first word is capitalised anyway
        if low in _EN_NOT_NAMES or low in _EN_PLACES:
            continue
        return True
    return any(w.isascii() and w.lower() in _EN_TITLES for w in words)


# --- places ------------------------------------------------------------------------------------

# Countries, capitals and cities that news names most, Arabic and English. Names of several words
# are matched whole ("قطاع غزة") or by a last word that stands alone ("السعودية").
_AR_PLACES = _words(
    "مصر القاهرة الإسكندرية السعودية الرياض جدة مكة المدينة الدمام الإمارات أبوظبي دبي "
    "الشارقة قطر الدوحة الكويت البحرين المنامة عمان مسقط اليمن صنعاء عدن العراق بغداد "
    "البصرة الموصل أربيل سوريا سورية دمشق حلب حمص لبنان بيروت الأردن عمان فلسطين غزة القدس "
    "رام الضفة الخليل نابلس إسرائيل تل ليبيا طرابلس بنغازي تونس الجزائر المغرب الرباط "
    "الدار السودان الخرطوم موريتانيا نواكشوط الصومال مقديشو جيبوتي إيران طهران تركيا أنقرة "
    "إسطنبول اسطنبول أمريكا أميركا واشنطن نيويورك الولايات روسيا موسكو الصين بكين اليابان "
    "طوكيو الهند نيودلهي باكستان أفغانستان كابول فرنسا باريس ألمانيا برلين بريطانيا "
    "لندن إيطاليا روما إسبانيا مدريد أوكرانيا كييف بلجيكا بروكسل هولندا أمستردام سويسرا "
    "جنيف النمسا فيينا اليونان أثينا كندا أوتاوا البرازيل المكسيك أستراليا سيدني كانبرا "
    "إثيوبيا أديس نيجيريا كينيا نيروبي جنوب أفريقيا إفريقيا آسيا أوروبا الخليج سيناء "
    "الشرق إندونيسيا جاكرتا ماليزيا كوالالمبور الفلبين مانيلا كوريا سيول بيونغ "
    "الأراضي شمال رفح خان دير الأقصى الجولان البيت الأبيض البنتاغون الكرملين"
)
_AR_PLACE_NOUNS_FACT = _words(
    "مدينة المدينة العاصمة عاصمة ولاية محافظة منطقة قطاع إقليم جزيرة بلدة قرية مخيم حي "
    "مقر مطار ميناء شمال جنوب شرق غرب وسط ضواحي مستشفى ساحة شارع قاعدة"
)
_AR_IN = _words("في داخل قرب بالقرب أمام عند ضمن بمدينة")
_EN_PLACES = frozenset(
    """egypt cairo saudi riyadh jeddah mecca uae dubai qatar doha kuwait bahrain oman muscat
    yemen iraq baghdad syria damascus aleppo lebanon beirut jordan amman palestine gaza
    jerusalem israel libya tripoli tunisia algeria morocco rabat sudan khartoum iran tehran
    turkey ankara istanbul america washington york us usa uk russia moscow china beijing japan
    tokyo india delhi pakistan afghanistan kabul france paris germany berlin britain london
    england scotland wales italy rome spain madrid ukraine kyiv kiev belgium brussels
    netherlands switzerland geneva austria vienna greece athens canada ottawa brazil mexico
    australia sydney canberra ethiopia nigeria kenya nairobi africa asia europe valencia
    california texas florida""".split()
)
_EN_IN_PLACE = re.compile(
    r"\b(?:in|at|near|inside|outside|across|throughout)\s+(?:the\s+)?(?:city\s+of\s+)?"
    r"([A-Z][a-zA-Z'’\-]+)"
)


def _ar_place(word: str) -> bool:
    return word in _AR_PLACES or "ال" + word in _AR_PLACES


def _where(text: str, words: list[str]) -> bool:
    for i, word in enumerate(words):
        if word.isascii():
            continue
        for prefix in ("وب", "فب", "ب"):  # "بغزة", "بالرياض", but not "بغداد" alone
            rest = word[len(prefix) :]
            if word.startswith(prefix) and len(rest) >= 2:
                if _ar_place(rest) or rest in _AR_PLACE_NOUNS_FACT:
                    return True
                break
        if (
            i
            and words[i - 1] in _AR_IN
            and any(_ar_place(f) or f in _AR_PLACE_NOUNS_FACT for f in _strip_ar(word))
        ):
            return True
    return any(m.group(1).lower() not in _EN_NOT_NAMES for m in _EN_IN_PLACE.finditer(text))


# --- sentences ---------------------------------------------------------------------------------

_WORD = re.compile(r"[\w'’]+")


@lru_cache(maxsize=8192)
def facts_in(sentence: str) -> frozenset[str]:
    """The kinds of fact ``sentence`` carries: a subset of "when", "how_many", "who", "where"."""
    text = ascii_digits(sentence)
    found: set[str] = set()
    skip = [(m.start, m.end) for m in resolve_dates(text, None)]
    clocks = [m.span() for m in _CLOCK.finditer(text)]
    decades = [m.span() for m in _DECADE.finditer(text)]
    skip += decades
    if skip or clocks or any(is_year(text, *m.span()) for m in _NUMBER.finditer(text)):
        found.add("when")
    words: list[str] = []
    gaps: list[str] = []
    last = 0
    normal = normalize_arabic(text)  # no tashkeel: "شهرًا" is one word, "شهرا"
    for match in _WORD.finditer(normal):
        word = match.group()
        words.append(word if word.isascii() else word.lower())
        gaps.append(normal[last : match.start()])
        last = match.end()
    if _numbers(text, skip + clocks, words):
        found.add("how_many")
    if _who(text, words, gaps):
        found.add("who")
    if _where(text, words):
        found.add("where")
    return frozenset(found)


def answers_kind(kind: str | None, sentence: str) -> bool:
    """Whether ``sentence`` carries the kind of fact asked for; False for None, yes/no and why."""
    return kind in FACT_KINDS and kind in facts_in(sentence)
