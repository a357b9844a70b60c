"""Arabic and English text: decoding, cleaning, sentence spans, normalisation for matching
(one stopword list, one digit table, one Arabic normaliser), language id."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

# Never text, in an article, its metadata or a question: bidi controls (embeddings, overrides,
# isolates, the LRM/RLM marks and the Arabic letter mark U+061C, which can make "Invoice
# \u202etxt.exe" show as "Invoice exe.txt"), zero-width space, word joiner and invisible
# operators, BOM, deprecated format controls, soft hyphen, interlinear annotation marks and the
# Mongolian vowel separator. ZWNJ/ZWJ are kept: they shape Persian and Urdu words (and emoji).
_INVISIBLE = re.compile(
    "[\u00ad\u061c\u180e\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
    "\ufeff\ufff9-\ufffb]"
)
# C0 controls but tab, line feed and carriage return (line ends are unified first); DEL; C1.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# What escape_invisible shows as an escape: the above, and tab and line ends too.
_UNPRINTABLE = re.compile(_INVISIBLE.pattern[:-1] + "\x00-\x1f\x7f-\x9f\u2028\u2029]")

# Lines that web pages append or prepend to an article ("share it", "read also", ...).
_RESIDUE = re.compile(
    r"^\W*(شاركها|شارك|شارك المقال|شارك هذا المقال|شارك الخبر|اقرأ أيضا|اقرأ أيضًا|اقرأ المزيد|"
    r"إعلان|تابعونا|share|share this|share this article|share on facebook|share on twitter|"
    r"read more|read also|advertisement|follow us|related articles?)\W*$",
    re.IGNORECASE,
)

_ARABIC_LETTER = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN_LETTER = re.compile("[A-Za-z\u00c0-\u024f]")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _surrogate(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else "\ufffd"


def valid_text(text: str) -> str:
    """``text`` without lone surrogates, which UTF-8 cannot encode (SQLite, the model, stdout
    would all raise): a byte of an undecodable file name (``surrogateescape``) becomes ``\\xff``,
    a lone surrogate from a JSON escape (``"\\ud800"``) becomes U+FFFD."""
    return _SURROGATE.sub(_surrogate, text) if _SURROGATE.search(text) else text


def clean_line(text: str) -> str:
    """One line as stored, shown and searched: a title, source, URL, id or question.

    Lone surrogates escaped (``valid_text``), control characters and bidi/invisible marks
    removed wherever they are (a NUL at the start and at the end alike), runs of white space
    (tabs and line breaks included) as one space, trimmed, NFC. The one cleaning that metadata,
    the CLI and Telegram share, so a question means the same whichever way it came.
    """
    text = _CONTROL.sub("", _INVISIBLE.sub("", valid_text(text)))
    return unicodedata.normalize("NFC", " ".join(text.split()))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_invisible(text: str) -> str:
    """``text`` with every control, line break and bidi/invisible mark shown as an escape
    (``\\u202e``, ``\\x00``, ``\\x0a``): for file names and reasons in reports, where the
    mark is the news (a file named to look like another) and one entry must stay one line."""
    text = valid_text(text)
    return _UNPRINTABLE.sub(_escape, text) if _UNPRINTABLE.search(text) else text


def clean_text(text: str) -> str:
    """Article text as stored: controls removed, line ends unified, page residue dropped."""
    text = valid_text(text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("", text)
    text = unicodedata.normalize("NFC", text)
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and (not lines[-1].strip() or _RESIDUE.match(lines[-1].strip())):
        lines.pop()
    while lines and (not lines[0].strip() or _RESIDUE.match(lines[0].strip())):
        lines.pop(0)
    return "\n".join(lines).strip()


# --- bytes to text -----------------------------------------------------------------------------

# A byte-order mark decides the encoding; the message says what a bad byte after it means.
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig", "undecodable text"),
    (b"\xff\xfe", "utf-16", "not valid UTF-16 text"),
    (b"\xfe\xff", "utf-16", "not valid UTF-16 text"),
)
BOM_ENCODINGS = frozenset(codec for _, codec, _ in _BOMS)


class NotText(ValueError):
    """Bytes that cannot be read as text; the message says why, fit to show."""


def decode_bytes(
    raw: bytes,
    preferred: Iterable[str | None] = (),
    *,
    bom_errors: str = "strict",
    refuse_binary: bool = False,
) -> tuple[str, str]:
    """``raw`` as text, and the name of the encoding that read it.

    A byte-order mark (UTF-8 or UTF-16) decides; a bad byte after it raises NotText unless
    ``bom_errors="replace"``. Otherwise the first that reads all of ``raw``: UTF-8 (bytes that
    decode as UTF-8 almost surely are UTF-8, whatever was declared), then ``preferred`` in order
    (None and unknown names skipped), then Windows-1256, the Arabic code page, which maps every
    byte, so text always comes out. ``refuse_binary``: NUL bytes near the start raise NotText.
    """
    for bom, codec, problem in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(codec, errors=bom_errors), codec
            except UnicodeDecodeError as exc:
                raise NotText(f"{problem} ({exc.reason})") from exc
    if refuse_binary and b"\x00" in raw[:8192]:
        raise NotText("binary file (NUL bytes), not text")
    for name in dict.fromkeys(n for n in ("utf-8", *preferred) if n):
        try:
            return raw.decode(name), name
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("cp1256"), "cp1256"


# --- sentences ---------------------------------------------------------------------------------

# A sentence ends at . ! ? … and the Arabic ؟ ؛ ۔ (the Arabic comma ، does not end one), possibly
# followed by closing quotes or brackets, then white space; a line break always ends one.
_SENT_END = re.compile(r"[.!?…؟؛۔]+[\"'”’»)\]]*(?=\s)|\n+")
_ABBREV = {
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "inc", "ltd", "co", "corp",
    "gen", "col", "lt", "sgt", "capt", "sen", "rep", "gov", "pres", "no", "jan", "feb", "mar",
    "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "u.s", "u.k", "u.n", "e.g",
    "i.e", "a.m", "p.m", "fig", "approx", "dept", "est", "mt", "ft",
}  # fmt: skip


def _is_abbreviation(text: str, end: int) -> bool:
    """True when the full stop at ``end`` closes an abbreviation (Mr., U.S.) or an initial."""
    if text[end] != ".":
        return False
    start = end
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    word = text[start:end].lower()
    if not word:
        return False
    if word in _ABBREV:
        return True
    # single Latin initials ("J. Smith", "U.S.") but not Arabic words
    return len(word.replace(".", "")) == 1 and word.isascii()


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences of ``text``, white space trimmed, none empty."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _SENT_END.finditer(text):
        if match.group().startswith("\n"):
            end = match.start()
        else:
            if _is_abbreviation(text, match.start()):
                continue
            end = match.end()
        spans.append((start, end))
        start = match.end()
    spans.append((start, len(text)))
    out = []
    for a, b in spans:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if b > a:
            out.append((a, b))
    return out


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` with the white space between them kept on the preceding one.

    Joined, they give ``text`` back exactly, which llama-index's splitter relies on.
    """
    spans = sentence_spans(text)
    if not spans:
        return [text] if text else []
    pieces = []
    for i, (a, _b) in enumerate(spans):
        start = 0 if i == 0 else a
        end = spans[i + 1][0] if i + 1 < len(spans) else len(text)
        pieces.append(text[start:end])
    return pieces


# --- normalisation for matching ----------------------------------------------------------------

_TASHKEEL = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
# Arabic-Indic (٠١٢) and Extended Arabic-Indic (Persian, Urdu: ۰۱۲) digits.
_DIGITS = {
    **{chr(0x0660 + i): str(i) for i in range(10)},
    **{chr(0x06F0 + i): str(i) for i in range(10)},
}
_DIGIT_MAP = str.maketrans(_DIGITS)
_ARABIC_MAP = str.maketrans(
    {"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ؤ": "و", "ئ": "ي", **_DIGITS}
)  # fmt: skip
# Apostrophes inside a word are part of it, so "Israel's" is one token (then "israel").
_TOKEN = re.compile(r"\w+(?:['’]\w+)*", re.UNICODE)
_AR_PREFIXES = ("وبال", "وكال", "وفال", "ولل", "وال", "بال", "كال", "فال", "لل", "ال")
_AR_ONE_LETTER = ("و", "ب", "ك", "ف", "ل")


def ascii_digits(text: str) -> str:
    """``text`` with Arabic-Indic and Extended Arabic-Indic digits as ASCII digits."""
    return text.translate(_DIGIT_MAP)


def normalize_arabic(text: str) -> str:
    """Strip tashkeel and tatweel, unify alef/ya/ta marbuta/hamza carriers, ASCII digits."""
    return _TASHKEEL.sub("", text).translate(_ARABIC_MAP)


def _strip_prefix(token: str) -> str:
    for prefix in _AR_PREFIXES:
        if token.startswith(prefix) and len(token) - len(prefix) >= 2:
            return token[len(prefix) :]
    if token[0] in _AR_ONE_LETTER and len(token) >= 5:
        return token[1:]
    return token


def match_tokens(text: str) -> list[str]:
    """Tokens for lexical matching: normalised, lower-cased, Arabic prefixes stripped."""
    text = normalize_arabic(unicodedata.normalize("NFKC", text)).lower()
    out = []
    for token in _TOKEN.findall(text):
        if _ARABIC_LETTER.match(token):
            token = _strip_prefix(token)
        else:
            if token.endswith(("'s", "’s")):
                token = token[:-2]
            token = _singular(token)
        out.append(token)
    return out


# Words whose final s is not a plural ending; stemming them would merge "news" with "new".
_NOT_PLURAL = frozenset(
    "news series species means always whereas perhaps towards afterwards headquarters "
    "crossroads thanks politics economics physics mathematics olympics".split()
)


def _singular(token: str) -> str:
    """An English plural as its singular ("talks" -> "talk", "countries" -> "country",
    "taxes" -> "tax"), conservatively: the same rule runs on articles and questions, so
    consistency matters more than grammar, and a wrong merge costs more than a missed one."""
    if len(token) <= 3 or not token.isascii() or not token.isalpha() or token in _NOT_PLURAL:
        return token
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith(("sses", "xes", "ches", "shes", "zzes")):
        return token[:-2]
    if token.endswith("s") and not token.endswith(("ss", "us", "is", "ous")):
        return token[:-1]
    return token


# Function words of questions, dropped from lexical queries (they match most chunks, cost the
# most to rank: long posting lists, and add almost nothing to BM25) and from word overlap.
STOPWORDS = frozenset(
    """a an the is are was were be been being of in on at to for from by with and or but what
    when where who whom whose which why how did does do will would can could should about into
    than that this these those it its they them their there as not no yes please tell me i you
    he she we our his her has have had any some many much more most also only
    في من على الى إلى عن ما ماذا متى اين أين هل كيف لماذا كم التي الذي الذين هذا هذه ذلك تلك
    هو هي هم ان أن إن او أو ثم قد لا لم لن كان كانت مع عند بين كل بعد قبل حتى اي أي""".split()
)
_STOP_TOKENS = frozenset(t for w in STOPWORDS for t in match_tokens(w))


def content_tokens(text: str) -> list[str]:
    """``match_tokens(text)`` without the stopwords' tokens, in order (repeats kept)."""
    return [t for t in match_tokens(text) if t not in _STOP_TOKENS]


def query_terms(text: str) -> list[str]:
    """A question's distinct matching tokens without stopwords (all of them if only stopwords).

    The one-letter prefix rule guesses (the و of ومسؤولين is "and", the و of وزارة is part of
    the word), and a guess can go one way in the article and the other in the question; so a
    question asks for both forms of a word the rule could touch.
    """
    tokens: list[str] = []
    for token in match_tokens(text):
        tokens.append(token)
        if _ARABIC_LETTER.match(token) and len(token) >= 4 and token[0] in _AR_ONE_LETTER:
            tokens.append(token[1:])
    for word in _TOKEN.findall(normalize_arabic(unicodedata.normalize("NFKC", text))):
        if _ARABIC_LETTER.match(word) and word[0] in _AR_ONE_LETTER and len(word) >= 5:
            tokens.append(word)  # the form the rule would have stripped
    tokens = list(dict.fromkeys(tokens))
    content = [t for t in tokens if t not in _STOP_TOKENS]
    return content or tokens


# --- language ----------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _latin_detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    languages = [
        Language.ENGLISH, Language.FRENCH, Language.GERMAN, Language.SPANISH, Language.ITALIAN,
        Language.PORTUGUESE, Language.DUTCH, Language.TURKISH, Language.INDONESIAN,
    ]  # fmt: skip
    return LanguageDetectorBuilder.from_languages(*languages).with_low_accuracy_mode().build()


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of ``text``'s main language, or None when it has no letters."""
    sample = text[:2000]
    arabic = len(_ARABIC_LETTER.findall(sample))
    latin = len(_LATIN_LETTER.findall(sample))
    if arabic == 0 and latin == 0:
        return None
    if arabic >= latin:
        return "ar"
    found = _latin_detector().detect_language_of(sample)
    if found is None:
        return "en"
    return str(found.iso_code_639_1.name).lower()


def script_of(text: str) -> str:
    """'arabic', 'latin' or 'other': enough to know whether word overlap can help."""
    arabic = len(_ARABIC_LETTER.findall(text))
    latin = len(_LATIN_LETTER.findall(text))
    if arabic == 0 and latin == 0:
        return "other"
    return "arabic" if arabic >= latin else "latin"
