"""Can an Arabic name be written in Latin letters without a translator? Measured, not assumed.

Names with known English spellings, as the two languages of XQuAD (../shared/eval/xquad, CC BY-SA
4.0) write the same answer, plus the four of the sample article: the people among the answers
whose English and Arabic forms have the same number of words (the list is below; places, teams
and companies were left out by hand).

- arabic-name-romanizer (Arabic -> Latin): right when its first candidate is the English
  spelling (case, accents, hyphens and apostrophes aside); "surname" counts the last word only.
- arabnamer (English -> Arabic, with a similarity score): right when the Arabic it writes for
  the English spelling matches the Arabic as written (its own similarity >= 85), which is what
  matching a Latin name in a question to an Arabic article needs.
  Its false matches: the Arabic it writes for one English name matched to the Arabic of
  another name of the list (a surname alone counts).

- a name table from public data (``--wikidata FILE``): the Wikidata person names of Merhav and
  Ash (COLING 2018, CC0), English and Arabic token by token with counts, the file
  data/wd_arabic.normalized.aligned.tokens of github.com/steveash/NETransliteration-COLING2018
  (fetched at session time, not committed). Each Arabic word becomes its most frequent English
  spelling; a name is written only when every word of it is in the table, and "sure" only when
  each word's spelling has at least 80% of that word's count.

Adopted for short answers only if >= 90% right (issue 12). Run:
    .venv/bin/python bench/romanizer.py [--wikidata FILE] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import unicodedata
from pathlib import Path

NAMES = [
    # the sample article (data/articles): the spellings of the English press
    ("ماثيو ميلر", "Matthew Miller"), ("أنتوني بلينكن", "Antony Blinken"),
    ("لويد أوستن", "Lloyd Austin"), ("بايدن", "Biden"),
    # XQuAD: answers of the same question in Arabic and English
    ("كاوان شورت", "Kawann Short"), ("كورت كولمان", "Kurt Coleman"), ("كوني إيلي", "Kony Ealy"),
    ("مانينغ", "Manning"), ("جون إلواي", "John Elway"), ("بايتون مانينغ", "Peyton Manning"),
    ("ليدي غاغا", "Lady Gaga"), ("مارلي ماتلين", "Marlee Matlin"), ("نيوتن", "Newton"),
    ("أندرسون", "Anderson"), ("بيني فاولر", "Bennie Fowler"), ("ميلر", "Miller"),
    ("وارد", "Ward"), ("رولو", "Rollo"), ("دروغو", "Drogo"), ("أورسل", "Oursel"),
    ("تسلا", "Tesla"), ("غوغلييلمو ماركوني", "Guglielmo Marconi"), ("إديسون", "Edison"),
    ("جاك لوفيفر", "Jacques Lefevre"), ("ويليام فاريل", "William Farel"),
    ("تشارلز بورتر", "Charles Porter"), ("تشارلز ريتشارد", "Charles Richard"),
    ("جوزيف شيا", "Joseph Shea"), ("نافزجير", "Nafzger"), ("وليام سميث", "William Smith"),
    ("تشارلز داروين", "Charles Darwin"), ("شين كوو", "Shen Kuo"), ("ابن سينا", "Ibn Sina"),
    ("جيمس هوتون", "James Hutton"), ("هنري كول", "Henry Cole"), ("برايان ديفيز", "Bryan Davies"),
    ("روبرت كينتنر", "Robert Kintner"), ("يوتشي", "Jochi"), ("بيرسي شيلي", "Percy Shelley"),
    ("جان ريبولت", "Jean Ribault"), ("توماس بيكيتي", "Thomas Piketty"),
    ("سوزان فورمان", "Susan Foreman"), ("كاثرين تيت", "Catherine Tate"),
    ("دودلي سيمبسون", "Dudley Simpson"), ("تريفور مارتن", "Trevor Martin"),
    ("ديفيد بانكس", "David Banks"), ("إيرو سارنين", "Eero Saarinen"),
    ("لاري إليسون", "Larry Ellison"), ("بول سامويلسون", "Paul Samuelson"),
    ("يوجين فاما", "Eugene Fama"), ("جيجين خان", "Gegeen Khan"), ("هويسنج لي", "Hoesung Lee"),
    ("بيرت بولين", "Bert Bolin"), ("جون ويسلي", "John Wesley"), ("أرسطو", "Aristotle"),
    ("إسحاق نيوتن", "Isaac Newton"), ("غاندي", "Gandhi"), ("جوش نورمان", "Josh Norman"),
    ("جان كوفين", "Jean Cauvin"), ("فريدريك وليام", "Frederick William"),
    ("تيودور فونتان", "Theodor Fontane"), ("أدولف جالاند", "Adolf Galland"),
    ("أنطوان لافوازييه", "Antoine Lavoisier"), ("جيمس ديوار", "James Dewar"),
    ("غوتفريت زيمبا", "Gottfried Semper"), ("كوكوشو", "Kokochu"), ("هولاكو خان", "Hulagu Khan"),
    ("غازان خان", "Ghazan Khan"), ("هنري ديفد ثورو", "Henry David Thoreau"),
    ("موهانداس غاندي", "Mohandas Gandhi"), ("خوان مانويل سانتوس", "Juan Manuel Santos"),
    ("بنيامين نتنياهو", "Benjamin Netanyahu"), ("أندرو جاكسون", "Andrew Jackson"),
    ("ساتيا ناديلا", "Satya Nadella"), ("جون كورزين", "Jon Corzine"),
    ("ميلتون فريدمان", "Milton Friedman"), ("جورج ستيجلر", "George Stigler"),
]  # fmt: skip


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return "".join(ch for ch in text.casefold() if ch.isalnum() or ch == " ").strip()


def romanizer() -> dict[str, object]:
    from arabic_name_romanizer import Transliterator

    tr = Transliterator()
    t0 = time.perf_counter()
    got = tr.transliterate_many([a for a, _ in NAMES])
    seconds = time.perf_counter() - t0
    right = [(_key(g) == _key(e)) for g, (_, e) in zip(got, NAMES, strict=True)]
    surname = [
        (_key(g).split()[-1:] == _key(e).split()[-1:]) for g, (_, e) in zip(got, NAMES, strict=True)
    ]
    return {
        "names": len(NAMES),
        "right": sum(right),
        "share": round(sum(right) / len(NAMES), 3),
        "surname_right": sum(surname),
        "seconds": round(seconds, 2),
        "wrong": [
            {"arabic": a, "english": e, "got": g}
            for g, (a, e), ok in zip(got, NAMES, right, strict=True)
            if not ok
        ],
    }


def arabnamer() -> dict[str, object]:
    os.environ.setdefault("ARABNAMER_OFFLINE", "1")  # never download its model
    import arabnamer as an

    t0 = time.perf_counter()
    results = an.translit_batch([e for _, e in NAMES])
    seconds = time.perf_counter() - t0
    right = []
    wrong = []
    for result, (a, e) in zip(results, NAMES, strict=True):
        written = _written(result)
        ok, score = an.similarity(written, a)
        right.append(ok)
        if not ok:
            wrong.append({"english": e, "arabic": a, "got": written, "score": score})
    # the other way round: the Arabic of one name taken for another name of the list (a surname
    # alone, "Miller" for "ماثيو ميلر", counts too: a check of names would let it pass)
    false = [
        {"english": e, "arabic": a2, "score": round(score, 1)}
        for result, (_, e) in zip(results, NAMES, strict=True)
        for a2, e2 in NAMES
        if e2 != e
        for ok, score in [an.similarity(_written(result), a2)]
        if ok
    ]
    return {
        "names": len(NAMES),
        "right": sum(right),
        "share": round(sum(right) / len(NAMES), 3),
        "false_matches": f"{len(false)} of {len(NAMES) * (len(NAMES) - 1)} pairs",
        "seconds": round(seconds, 2),
        "wrong": wrong,
        "false": false,
    }


def _written(result: object) -> str:
    return str(getattr(result, "arabic", None) or getattr(result, "text", result))


def name_table(path: Path, sure: float = 0.8) -> dict[str, object]:
    from collections import Counter, defaultdict

    from index.dates import normalize_word

    table: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for line in path.read_text("utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[2].isdigit():
            table[normalize_word(parts[1].replace(" ", ""))][parts[0]] += int(parts[2])

    def write(name: str, share: float) -> str | None:
        words = []
        for word in name.split():
            counts = table.get(normalize_word(word))
            if not counts:
                return None
            best, n = counts.most_common(1)[0]
            if n / sum(counts.values()) < share:
                return None
            words.append(best.capitalize())
        return " ".join(words)

    report: dict[str, object] = {"names": len(NAMES), "arabic_words": len(table)}
    for label, share in (("any", 0.0), ("sure", sure)):
        got = [write(a, share) for a, _ in NAMES]
        right = sum(
            g is not None and _key(g) == _key(e) for g, (_, e) in zip(got, NAMES, strict=True)
        )
        written = sum(g is not None for g in got)
        report[label] = {"written": written, "right": right, "wrong": written - right}
        if label == "any":
            report["right"] = right
            report["share"] = round(right / len(NAMES), 3)
            report["wrong"] = [
                {"arabic": a, "english": e, "got": g}
                for g, (a, e) in zip(got, NAMES, strict=True)
                if g is not None and _key(g) != _key(e)
            ]
    report["seconds"] = 0.0
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    parser.add_argument(
        "--wikidata", type=Path, help="wd_arabic.normalized.aligned.tokens (see above)"
    )
    parser.add_argument("--only-table", action="store_true", help="measure the table alone")
    args = parser.parse_args()
    report = {} if args.only_table else {
        "arabic-name-romanizer": romanizer(), "arabnamer": arabnamer()
    }  # fmt: skip
    if args.wikidata:
        report["wikidata name table"] = name_table(args.wikidata)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
        return
    for name, r in report.items():
        print(f"{name}: {r['right']}/{r['names']} right ({r['share']:.0%}) in {r['seconds']} s")
        if "false_matches" in r:
            print(f"    false matches: {r['false_matches']}")
        if "sure" in r:
            print(f"    written {r['any']}; when sure {r['sure']}")
        for w in r["wrong"]:  # type: ignore[attr-defined]
            print("   ", w)


if __name__ == "__main__":
    main()
