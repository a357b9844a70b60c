"""Wire boilerplate dropped when an article is loaded: datelines, agency tags, end marks, bylines.

None of it is news, yet each piece got quoted as evidence: a Saudi Press Agency dateline
("الرباط 26 شوال 1436 هـ الموافق 11 أغسطس 2015 م واس") is full of dates, so it matched every
"when" question; "// انتهى //" and "(أ ف ب)" sit in every wire story and made unrelated stories look
alike. What is dropped is only the boilerplate: a dateline that opens a sentence goes, the
sentence stays.

``strip(text)`` is called once per article, in index/articles.py, before language detection and
chunking; it never returns an empty text for a non-empty one (an article that is nothing but
boilerplate keeps its text, and the loader decides what to do with it).
"""

from __future__ import annotations

import re

# Hijri and Gregorian month names as wire datelines write them (Arabic and Levantine forms).
_MONTHS = (
    r"محرم|صفر|ربيع الأول|ربيع الاول|ربيع الآخر|ربيع الثاني|جمادى الأولى|جمادى الاولى|"
    r"جمادى الآخرة|جمادى الثانية|رجب|شعبان|رمضان|شوال|ذو القعدة|ذي القعدة|ذو الحجة|ذي الحجة|"
    r"يناير|فبراير|مارس|أبريل|ابريل|إبريل|مايو|يونيو|يوليو|أغسطس|اغسطس|سبتمبر|أكتوبر|اكتوبر|"
    r"نوفمبر|ديسمبر|كانون الثاني|شباط|آذار|نيسان|أيار|حزيران|تموز|آب|أيلول|تشرين الأول|"
    r"تشرين الثاني|كانون الأول"
)
_DIGITS = r"[0-9٠-٩]{1,4}"
# "الرياض 26 شوال 1436 هـ الموافق 11 أغسطس 2015 م واس": place (one to three words), the Hijri date,
# "الموافق" and the Gregorian date, then the agency. Each part but the place and one date may be
# missing, and the agency may be written in brackets or after a dash.
_SPA_DATELINE = re.compile(
    rf"^\s*(?:[^\s\d.،,:؛]+\s+){{1,3}}?{_DIGITS}\s+(?:{_MONTHS})\s+{_DIGITS}\s*(?:هـ|ه)?\.?\s*"
    rf"(?:الموافق\s+{_DIGITS}\s+(?:{_MONTHS})\s+{_DIGITS}\s*م?\.?\s*)?"
    r"(?:[-–—(]\s*)?(?:واس|يو بي آي|د ب أ|أ ش أ)\s*[)\-–—:]?\s*",
)
# Agency tags as they appear inside wire copy: "(أ ف ب)", "- (رويترز) -", "(AP) --", "(Reuters) -".
_AGENCY = (
    r"أ\s?ف\s?ب|ا\s?ف\s?ب|رويترز|واس|د\s?ب\s?أ|أ\s?ش\s?أ|يو\s?بي\s?آي|كونا|وام|بترا|سانا|قنا|"
    r"AFP|AP|Reuters|UPI|dpa|DPA|Xinhua|SPA|KUNA|WAM"
)
_AGENCY_TAG = re.compile(rf"\s*[-–—]?\s*\(\s*(?:{_AGENCY})\s*\)\s*[-–—]*\s*")
# An English dateline: "GAZA CITY, Dec 3 (Reuters) -" or "WASHINGTON (AP) --" at a line's start.
_EN_DATELINE = re.compile(
    rf"^\s*[A-Z][A-Z .,'-]{{1,40}}(?:,\s*[A-Z][a-z]{{2,8}}\.?\s*\d{{1,2}})?\s*"
    rf"\((?:{_AGENCY})\)\s*[-–—]+\s*"
)
# An Arabic wire dateline: "غزة (أ ف ب) -", "القدس المحتلة - (رويترز) -" at a line's start.
_AR_DATELINE = re.compile(rf"^\s*(?:[^\s()0-9]+\s+){{1,3}}[-–—]?\s*\((?:{_AGENCY})\)\s*[-–—]+\s*")
# End marks and residue lines wire copy and web pages add: "// انتهى //", "انتهى", "ت م",
# a byline, "Read more", a copyright line, a time stamp "21:23 ت م".
_END_MARK = re.compile(r"\s*/+\s*انتهى\s*/+\s*|\s*[-–—]\s*انتهى\s*[-–—]?\s*$")
_RESIDUE_LINE = re.compile(
    r"^\W*(?:"
    r"انتهى|ت\s?م|[0-9٠-٩]{1,2}:[0-9٠-٩]{2}\s*ت\s?م|شاركها|شارك|اقرأ أيضا|اقرأ أيضًا|اقرأ المزيد|"
    r"طباعة|أرسل لصديق|تويتر|فيسبوك|"
    r"read more|read also|related|share|share this|share this article|print|email|"
    r"(?:©|copyright|\(c\))\s*.{0,80}|all rights reserved\.?|"
    r"(?:بقلم|كتب|كتبت)\s*[:\-–]?\s*\S+(?:\s+\S+){0,3}"
    r")\W*$",
    re.IGNORECASE,
)
# "By Jane Smith" or "By Jane Smith and Omar Ali, BBC News": capitalised names only, so that a
# sentence that starts with "By the end of the year" stays.
_BYLINE = re.compile(
    r"^By\s+[A-Z][\w.'-]+(?:\s+(?:and\s+)?[A-Z][\w.'-]+){0,4}(?:,\s*[\w ]{2,30})?$"
)


def _line(line: str) -> str:
    line = _SPA_DATELINE.sub("", line, count=1)
    line = _EN_DATELINE.sub("", line, count=1)
    line = _AR_DATELINE.sub("", line, count=1)
    line = _END_MARK.sub(" ", line)
    line = _AGENCY_TAG.sub(" ", line)
    return re.sub(r"[ \t]{2,}", " ", line).strip()


def strip(text: str) -> str:
    """``text`` without wire boilerplate; ``text`` itself when nothing else would be left."""
    kept = []
    for raw in text.split("\n"):
        if not raw.strip():
            kept.append("")
            continue
        if _RESIDUE_LINE.match(raw.strip()) or _BYLINE.match(raw.strip()):
            continue
        line = _line(raw)
        if line and any(ch.isalpha() for ch in line):
            kept.append(line)
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return out or text
