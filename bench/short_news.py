"""Short answers on the trust benchmark's real-news questions (issue 17's 1c, bench/trust/).

Each answerable question of bench/trust/news_questions.jsonl is asked twice:

- ``oracle``: put to its gold sentence, as if retrieval had quoted it (the short answer alone);
- ``answerer``: through the extractive answerer over the news store that bench/trust.py built
  (``--store``, default /work/measure/trust/idx/news; a copy is used, the store is not touched).

A short answer is right when it and a gold answer contain one another (digits as ASCII,
thousands separators and the Arabic decimal comma unified, case folded), or name the same
numbers, or the same days; anything else is counted wrong and printed, to be read.

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/short_news.py [--split test] [--json]
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import re
import shutil
import tempfile
from pathlib import Path

from bot.answer import Answerer
from bot.short import extract, short_answer
from index.dates import resolve_dates
from index.facts import kind_of
from index.settings import Settings
from index.text import ascii_digits, normalize_arabic

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = ROOT / "bench" / "trust" / "news_questions.jsonl"
_DUMMY = dt.date(2001, 7, 1)


def _norm(text: str) -> str:
    text = normalize_arabic(ascii_digits(text)).casefold().replace("٫", ".")
    text = re.sub(r"(?<=\d)[,٬](?=\d{3}\b)", "", text)
    text = re.sub(r"(?<=\d)[،,](?=\d)", ".", text)  # "5،2": the Arabic decimal comma
    return " ".join(re.sub(r"[^\w\s.]", " ", text).split())


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:\.\d+)?", _norm(text)))


def right(short: str, answers: list[str]) -> bool:
    got = _norm(short)
    for gold in answers:
        g = _norm(gold)
        if got and (g in got or got in g):
            return True
        if _numbers(gold) and _numbers(gold) == _numbers(short):
            return True
        x, y = resolve_dates(short, _DUMMY), resolve_dates(gold, _DUMMY)
        if x and y and (x[0].first, x[0].last) == (y[0].first, y[0].last):
            return True
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path("/work/measure/trust/idx/news"))
    parser.add_argument("--json", action="store_true", help="print the totals as JSON")
    parser.add_argument(
        "--split", choices=("tune", "test", "all"), default="all",
        help="the questions' half (bench/trust: rules are written on tune, reported on test)",
    )  # fmt: skip
    args = parser.parse_args()
    rows = [json.loads(x) for x in QUESTIONS.read_text("utf-8").splitlines() if x.strip()]
    rows = [r for r in rows if r.get("answers") and args.split in ("all", r["split"])]
    counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    wrong = []
    with tempfile.TemporaryDirectory() as tmp:
        answerer = None
        if args.store.is_dir():
            store = Path(tmp) / "store"
            shutil.copytree(args.store, store)
            settings = Settings(store_dir=store, articles_dir=Path(tmp) / "none", chroma_url=None)
            answerer = Answerer(settings)
        for r in rows:
            kind = kind_of(r["question"]) or "none"
            modes = {"oracle": extract(r["question"], r["gold_sentence"])}
            if answerer is not None:
                modes["answerer"] = short_answer(answerer.answer(r["question"]))
            for mode, short in modes.items():
                for key in (f"{mode} {kind}", f"{mode} {r['direction']}", f"{mode} all"):
                    counts[key]["questions"] += 1
                    if short is not None:
                        ok = right(short.text, r["answers"])
                        counts[key]["right" if ok else "wrong"] += 1
                if short is not None and not right(short.text, r["answers"]):
                    wrong.append((mode, r["id"], r["question"], short.text, r["answers"]))
    table = {
        key: {
            "questions": c["questions"],
            "short_answers": c["right"] + c["wrong"],
            "right": c["right"],
            "precision": round(c["right"] / max(1, c["right"] + c["wrong"]), 3),
            "coverage": round(c["right"] / max(1, c["questions"]), 3),
        }
        for key, c in sorted(counts.items())
    }
    if args.json:
        print(json.dumps({"table": table, "wrong": wrong}, ensure_ascii=False, indent=1))
        return
    for key, row in table.items():
        print(
            f"{key:22} {row['questions']:>4} questions {row['short_answers']:>4} short answers "
            f"{row['right']:>4} right  precision {row['precision']:.3f}  coverage "
            f"{row['coverage']:.3f}"
        )
    for item in wrong:
        print("WRONG?", item)


if __name__ == "__main__":
    main()
