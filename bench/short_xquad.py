"""Short answers on XQuAD (../shared/eval/xquad, CC BY-SA 4.0): precision held out from tuning.

XQuAD gives each question in Arabic and English with its paragraph in both languages, so each
when / how-many / who / where question is put to the sentence that holds its answer, in four
directions (question language -> sentence language: en->ar, ar->ar, en->en, ar->en), as if
retrieval had quoted that sentence (an oracle quote: this measures the short answer, not
retrieval). A short answer is right when it and the gold answer in the question's language
contain one another (digits as ASCII, thousands separators dropped, case folded); anything
else it says is wrong. No question of XQuAD was looked at while writing bot/short.py's
extract (measured here); the choice between facts (bot/short.py's choose, not used here) had
one threshold fitted on XQuAD's tuning half (bench/short_choice.py).

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/short_xquad.py [--split test] [--json]
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import re
from pathlib import Path

from bot.short import extract
from index.dates import resolve_dates
from index.facts import kind_of
from index.text import ascii_digits, normalize_arabic, sentence_spans

XQUAD = Path(__file__).resolve().parents[2] / "shared" / "eval" / "xquad"


_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split()
)} | {normalize_arabic(w): str(i) for i, ws in enumerate((
    "", "واحد واحدة", "اثنان اثنين اثنتان اثنتين", "ثلاث ثلاثة", "أربع أربعة", "خمس خمسة",
    "ست ستة", "سبع سبعة", "ثماني ثمانية", "تسع تسعة", "عشر عشرة",
)) for w in ws.split()}  # fmt: skip
_DUMMY = dt.date(2001, 7, 1)


def _same_date(a: str, b: str) -> bool:
    """Both name the same days ("October 6, 1973" and "6 October 1973")."""
    x, y = resolve_dates(a, _DUMMY), resolve_dates(b, _DUMMY)
    return len(x) == len(y) == 1 and (x[0].first, x[0].last) == (y[0].first, y[0].last)


def _norm(text: str) -> str:
    text = normalize_arabic(ascii_digits(text)).casefold()
    text = " ".join(_WORDS.get(w, w) for w in text.split())
    text = re.sub(r"(?<=\d)[,٬،](?=\d{3})", "", text)
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def _sentence(context: str, start: int) -> str | None:
    for a, b in sentence_spans(context):
        if a <= start < b:
            return context[a:b]
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the totals as JSON")
    parser.add_argument("--show", type=int, default=0, help="print this many wrong ones")
    parser.add_argument(
        "--split", choices=("tune", "test", "all"), default="all",
        help="bench/xquad.py's halves: even paragraphs tune, odd test",
    )  # fmt: skip
    args = parser.parse_args()
    data = {
        lang: json.loads((XQUAD / f"xquad.{lang}.json").read_text("utf-8"))["data"]
        for lang in ("ar", "en")
    }
    counts: dict[tuple[str, str], collections.Counter[str]] = collections.defaultdict(
        collections.Counter
    )
    wrong = []
    n = -1
    for art_ar, art_en in zip(data["ar"], data["en"], strict=True):
        for par_ar, par_en in zip(art_ar["paragraphs"], art_en["paragraphs"], strict=True):
            n += 1
            if args.split != "all" and ("tune" if n % 2 == 0 else "test") != args.split:
                continue
            for qa_ar, qa_en in zip(par_ar["qas"], par_en["qas"], strict=True):
                items = {
                    "ar": (qa_ar, par_ar["context"]),
                    "en": (qa_en, par_en["context"]),
                }
                for q_lang in ("en", "ar"):
                    qa, _ = items[q_lang]
                    kind = kind_of(qa["question"])
                    if kind not in ("when", "how_many", "who", "where"):
                        continue
                    gold = _norm(qa["answers"][0]["text"])
                    for s_lang in ("ar", "en"):
                        sqa, context = items[s_lang]
                        sentence = _sentence(context, sqa["answers"][0]["answer_start"])
                        if sentence is None:
                            continue
                        short = extract(qa["question"], sentence)
                        key = (f"{q_lang}->{s_lang}", kind)
                        counts[key]["questions"] += 1
                        if short is None:
                            continue
                        got = _norm(short.text)
                        ok = bool(got) and (gold in got or got in gold)
                        ok = ok or _same_date(short.text, qa["answers"][0]["text"])
                        counts[key]["right" if ok else "wrong"] += 1
                        if not ok:
                            wrong.append(
                                (key, qa["question"], short.text, qa["answers"][0]["text"])
                            )
    table = {
        f"{d} {k}": {
            "questions": c["questions"],
            "short_answers": c["right"] + c["wrong"],
            "right": c["right"],
            "precision": round(c["right"] / max(1, c["right"] + c["wrong"]), 3),
            "coverage": round(c["right"] / max(1, c["questions"]), 3),
        }
        for (d, k), c in sorted(counts.items())
    }
    total = collections.Counter()
    for c in counts.values():
        total.update(c)
    table["all"] = {
        "questions": total["questions"],
        "short_answers": total["right"] + total["wrong"],
        "right": total["right"],
        "precision": round(total["right"] / max(1, total["right"] + total["wrong"]), 3),
        "coverage": round(total["right"] / max(1, total["questions"]), 3),
    }
    if args.json:
        print(json.dumps(table, ensure_ascii=False, indent=1))
    else:
        head = ("direction kind", "questions", "answers", "right", "prec", "cover")
        print(f"{head[0]:22} {head[1]:>9} {head[2]:>8} {head[3]:>6} {head[4]:>6} {head[5]:>6}")
        for name, row in table.items():
            print(
                f"{name:22} {row['questions']:>9} {row['short_answers']:>8} {row['right']:>6} "
                f"{row['precision']:>6.3f} {row['coverage']:>6.3f}"
            )
    for item in wrong[: args.show]:
        print("WRONG", item)


if __name__ == "__main__":
    main()
