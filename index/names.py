"""Names a question asks about, and whether a passage names them, in either script.

An English question about an Arabic story names things ("Australian", "Gaza", "the UN") that an
English article on a neighbouring story lacks: "Who was elected speaker of the Australian
parliament?" ranked a UK Commons sentence first by cosine. A passage of the question's script is
checked by its words; one of the other script through a small table of places, peoples and
organisations in both scripts (stems, so "Australian" and "الأسترالي" meet at "australia" and
"استرالي"). A name the table does not know cannot be checked across scripts and counts neither
way: no transliteration is guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from index.text import STOPWORDS, match_tokens, normalize_arabic, script_of

# English stems | Arabic stems (written plainly; normalised like the text they are matched with).
_TABLE = """
afghan|افغان
africa|افريقي افريقيا
albania|البان
algeria|جزائر
arab|عربي العربية
argentin|ارجنتين
armenia|ارمين
australia|استرال
austria|نمسا نمساوي
azerbaijan|اذربيجان
bahrain|بحرين
bangladesh|بنغلاديش بنجلاديش
belgi|بلجيك
brazil|برازيل
britain british uk england english|بريطان انجلتر انكلتر انجليز
bulgaria|بلغار
canad|كند
china chinese|صين
colombia|كولومبي
cuba|كوب
cyprus cypriot|قبرص
czech|تشيك
denmark danish|دنمارك دنمارك
djibouti|جيبوتي
egypt|مصر
ethiopia|اثيوبي
europe eu|اوروب اوروبي
france french|فرنس
german|المان
greece greek|يونان
gulf|خليج
hamas|حماس
hungar|مجر
india|هند
indonesia|اندونيسي
iran|ايران
iraq|عراق
ireland irish|ايرلند
islamic|اسلامي
israel|اسرائيل
ital|ايطالي
japan|يابان
jordan|اردن
kazakh|كازاخ
kenya|كيني
korea|كوري
kuwait|كويت
leban|لبنان
libya|ليبي
malaysia|ماليزي
mali|مالي
mauritania|موريتاني
mexic|مكسيك
morocc|مغرب
nato|ناتو الاطلسي
netherlands dutch holland|هولند
nigeria|نيجيري
norw|نرويج
oman|سلطنة عمان
pakistan|باكستان
palestin|فلسطين
philippin|فلبين
poland polish|بولند
portug|برتغال
qatar|قطر
romania|روماني
russia|روسي
saudi|سعودي
scotland scottish|اسكتلند
senegal|سنغال
serbia|صرب
somali|صومال
spain spanish|اسبان
sudan|سودان
sweden swedish|سويد
switzerland swiss|سويسر
syria|سوري
taliban|طالبان
tunisia|تونس
turkey turkish|تركيا تركي
ukrain|اوكران
un|امم
us usa america american|امريك اميرك امريكا اميركا
venezuela|فنزويل
yemen|يمن
olympi|اولمبي اولمبياد
fifa|فيفا
unicef|يونيسف اليونيسف
unesco|يونسكو اليونسكو
opec|اوبك
interpol|انتربول الانتربول
europol|يوروبول اليوروبول
brunei|بروناي
chile|تشيلي شيلي
peru|بيرو
ecuador|اكوادور
bolivia|بوليفي
paraguay|باراغواي
uruguay|اوروغواي
finland finnish|فنلند
iceland|ايسلند
estonia|استوني
latvia|لاتفي
lithuania|ليتواني
belarus|بيلاروس
moldova|مولدوف
croatia|كرواتي
bosnia|بوسن
slovenia|سلوفيني
slovakia|سلوفاكي
montenegro|مونتينيغرو
kosovo|كوسوفو
luxembourg|لوكسمبورغ
malta maltese|مالط
vietnam|فيتنام
thai|تايلاند تايلندي
cambodia|كمبودي
myanmar burma|ميانمار بورما
nepal|نيبال
lanka|سريلانك
mongolia|منغولي
singapore|سنغافور
taiwan|تايوان
zealand|نيوزيلند
samoa|ساموا
fiji|فيجي
papua|بابوا
uzbek|اوزبك
turkmen|تركمان
tajik|طاجيك
kyrgyz|قرغيز
chad|تشاد
cameroon|كاميرون
ghana|غان
guinea|غيني
liberia|ليبيري
gabon|غابون
congo|كونغو
angola|انغول
zambia|زامبي
zimbabwe|زيمبابوي
mozambique|موزمبيق
madagascar|مدغشقر
tanzania|تنزاني
uganda|اوغند
rwanda|رواند
burundi|بوروندي
eritrea|اريتري
botswana|بوتسوان
namibia|ناميبي
haiti|هايتي
jamaica|جامايك
panama|بنما
nicaragua|نيكاراغو
honduras|هندوراس
guatemala|غواتيمال
emirat uae|امارات
vatican|فاتيكان
dhabi|ظبي ابوظبي
aden|عدن
aleppo|حلب
amman|عمان
ankara|انقر
athens|اثينا
baghdad|بغداد
beijing|بكين
beirut|بيروت
berlin|برلين
brussels|بروكسل
cairo|القاهرة
canberra|كانبر
damascus|دمشق
doha|الدوحة
dubai|دبي
geneva|جنيف
gaza|غزة
istanbul|اسطنبول
jeddah|جدة
jerusalem|قدس
kabul|كابل
khartoum|خرطوم
london|لندن
madrid|مدريد
mecca makkah|مكة
medina|المنورة
moscow|موسكو
york|نيويورك
paris|باريس
rabat|رباط
riyadh|رياض
rome|روما
sanaa|صنعاء صنعا
sydney|سيدني
tehran|طهران
tokyo|طوكيو
tripoli|طرابلس
tunis|تونس
vienna|فيين
washington|واشنطن
"""

# Languages named like their peoples ("the Saxon Garden in Polish").
_LANGUAGES = frozenset(
    "english german french arabic polish dutch spanish italian russian chinese japanese "
    "turkish persian hebrew portuguese greek swedish latin".split()
)
# Question words that start with a capital without being names.
_NOT_NAMES = frozenset(
    "what when where who whom whose which why how is are was were do does did will would can "
    "could should has have had tell list name give the a an in on of".split()
)


@dataclass(frozen=True)
class Entry:
    latin: tuple[str, ...]
    arabic: tuple[str, ...]


def _stems(words: str) -> tuple[str, ...]:
    # Normalised but not prefix-stripped: match_tokens would take the "ب" off "برازيل".
    return tuple(dict.fromkeys(normalize_arabic(w).lower() for w in words.split()))


@lru_cache(maxsize=1)
def _entries() -> tuple[Entry, ...]:
    entries = []
    for line in _TABLE.strip().splitlines():
        latin, arabic = line.split("|")
        entries.append(Entry(_stems(latin), _stems(arabic)))
    return tuple(entries)


# What may follow an Arabic stem in a word of the same name: the nisba and plural endings
# ("فلسطين", "فلسطيني", "فلسطينيون"); any longer ending makes another word ("يمن" is not "يمنع").
_AR_ENDINGS = ("", "ي", "يه", "يا", "ه", "يين", "يون", "ين", "ون", "يات", "ا")


@dataclass(frozen=True)
class Name:
    """A name in a question: its own tokens, and its table entry if it has one."""

    text: str
    tokens: tuple[str, ...]
    script: str
    entry: Entry | None


_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'.]*")
_ARABIC = re.compile("[\u0600-\u06ff]")


def question_names(question: str) -> tuple[Name, ...]:
    """The names in ``question``: capitalised Latin words past the first (not question words),
    and words of either script found in the table."""
    out: dict[str, Name] = {}
    words = _LATIN_WORD.findall(question)
    for i, w in enumerate(words):
        low = w.lower().strip(".'").removesuffix("'s")
        if not low or low in _NOT_NAMES or low in STOPWORDS or not w[0].isupper():
            continue
        if i > 0 and words[i - 1].lower() == "in" and low in _LANGUAGES:
            continue  # "in Polish": the language a word is given in, not what the story is about
        entry = _lookup(low)
        if i > 0 or entry:
            tokens = tuple(match_tokens(low))
            if tokens:
                out.setdefault(
                    tokens[0] if not entry else entry.latin[0], Name(w, tokens, "latin", entry)
                )
    if script_of(question) == "arabic" or _ARABIC.search(question):
        text = searchable(question)
        for e in _entries():
            if _present(e.arabic, text):
                out.setdefault(e.arabic[0], Name(e.arabic[0], e.arabic, "arabic", e))
    return tuple(out.values())


def _lookup(word: str) -> Entry | None:
    """The table entry a Latin word of a question names ("australian" -> Australia)."""
    text = searchable(word)
    return next((e for e in _entries() if _present(e.latin, text)), None)


@lru_cache(maxsize=4096)
def _pattern(stem: str) -> re.Pattern[str]:
    if script_of(stem) == "arabic":
        endings = "|".join(sorted((re.escape(e) for e in _AR_ENDINGS if e), key=len, reverse=True))
        return re.compile(rf"(?<!\w)(?:[وفبلك]?(?:ال|لل)?){re.escape(stem)}(?:{endings})?(?!\w)")
    if len(stem) >= 4:
        return re.compile(rf"\b{re.escape(stem)}")
    return re.compile(rf"\b{re.escape(stem)}\b")


def searchable(text: str) -> str:
    """``text`` as ``missing_names`` reads it: Arabic normalised, lower-cased (~0.3 ms a chunk)."""
    return normalize_arabic(text).lower()


def _present(stems: tuple[str, ...], text: str) -> bool:
    return any(_pattern(s).search(text) for s in stems)


def missing_names(names: tuple[Name, ...], text: str) -> tuple[int, int]:
    """(names ``text`` lacks, names that could be checked in ``text``) for a question's names;
    ``text`` as ``searchable`` returns it."""
    if not names:
        return 0, 0
    script = script_of(text)
    missing = checked = 0
    for name in names:
        if name.script == script:
            found = _present(name.tokens, text) or bool(
                name.entry and _present(name.entry.latin + name.entry.arabic, text)
            )
        elif name.entry:
            found = _present(name.entry.arabic if script == "arabic" else name.entry.latin, text)
        else:
            continue  # a name the table does not know cannot be checked across scripts
        checked += 1
        missing += not found
    return missing, checked
