"""XQuAD as `newsbot eval` input files: the Arabic paragraphs as a corpus, the questions as queries.

Usage (from the repository root)::

    python bench/xquad.py [--xquad DIR] [--xquad-r DIR] [--out bench/out/xquad]

Reads ../shared/eval/xquad (and xquad-r, for sentence boundaries) at run time and writes, under
``--out`` (git-ignored; the data is CC BY-SA and is not copied into the repository):

  corpus_ar.jsonl        the 240 Arabic paragraphs, ``{"id", "text", "language"}`` -- no title:
                         the ``title`` field is the English Wikipedia title and would leak English
                         words into the Arabic corpus;
  corpus_distract.jsonl  the same 240 paragraphs plus 2,640 distractors (11x): the 240 English
                         XQuAD paragraphs (the same facts in the other language: the hardest
                         distractor there is) and 2,400 generated paragraphs, 1,200 Arabic and
                         1,200 English, from a word-bigram chain over the XQuAD paragraphs of
                         that language (same names, digits and topics as the gold paragraphs,
                         but no coherent statement: lexical and topical noise);
  queries_en.jsonl       the 1,190 English questions, ``relevant`` = their Arabic paragraph;
  queries_ar.jsonl       the 1,190 Arabic questions, same ids;
  queries_en_either.jsonl  the English questions with the English paragraph ("en-" + id) also
                         relevant, for the store with distractors, where it is a right answer;

Each query carries ``split``: "tune" or "test", by paragraph (even / odd paragraph number across
the whole file), so weights and thresholds are fitted on one half and reported on the other, and
no paragraph has questions in both halves. Each also carries ``answers`` (the Arabic answer
texts) and ``gold_sentence`` (the XQuAD-R sentence holding the first answer), which `newsbot
eval` uses for the sentence-level evidence figures.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SHARED = HERE.parent.parent / "shared" / "eval"

# Generated distractor paragraphs per language, and their length range in words.
GENERATED_PER_LANGUAGE = 1200
WORDS = (60, 160)
SEED = 5


def paragraphs(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(paragraph id, paragraph) in file order; ids are stable across the ar and en files."""
    out = []
    for a, article in enumerate(data["data"]):
        for p, para in enumerate(article["paragraphs"]):
            out.append((f"xq{a:02d}-{p}", para))
    return out


def xquad_rows(data: dict[str, Any]) -> tuple[list[dict[str, str]], dict[str, list[str]]]:
    """The Arabic paragraphs as corpus rows ``{"id", "text", "language"}``, and each paragraph
    id's questions (for the benches that index XQuAD and ask it)."""
    rows, questions = [], {}
    for pid, para in paragraphs(data):
        rows.append({"id": pid, "text": para["context"], "language": "ar"})
        questions[pid] = [qa["question"] for qa in para["qas"]]
    return rows, questions


def gold_sentence(para: dict[str, Any], start: int) -> str | None:
    """The XQuAD-R sentence that holds the character at ``start``."""
    for (a, b), text in zip(para["sentence_breaks"], para["sentences"], strict=True):
        if a <= start < b + 1:
            return str(text).strip()
    return None


def bigram_paragraphs(texts: list[str], n: int, rng: random.Random) -> list[str]:
    """``n`` paragraphs walked from a word-bigram chain over ``texts``."""
    follow: dict[str, list[str]] = defaultdict(list)
    starts: list[str] = []
    for text in texts:
        words = text.split()
        if words:
            starts.append(words[0])
        for w1, w2 in itertools.pairwise(words):
            follow[w1].append(w2)
    out = []
    for _ in range(n):
        length = rng.randint(*WORDS)
        word = rng.choice(starts)
        words = [word]
        while len(words) < length:
            nxt = follow.get(word)
            word = rng.choice(nxt) if nxt else rng.choice(starts)
            words.append(word)
        text = " ".join(words)
        if not re.search(r"[.؟?!]$", text):
            text += "."
        out.append(text)
    return out


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--xquad", type=Path, default=SHARED / "xquad")
    parser.add_argument("--xquad-r", type=Path, default=SHARED / "xquad-r")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "xquad")
    args = parser.parse_args(argv)

    ar = json.loads((args.xquad / "xquad.ar.json").read_text(encoding="utf-8"))
    en = json.loads((args.xquad / "xquad.en.json").read_text(encoding="utf-8"))
    ar_r = json.loads((args.xquad_r / "ar.json").read_text(encoding="utf-8"))
    ar_paras, en_paras, r_paras = paragraphs(ar), paragraphs(en), paragraphs(ar_r)
    if len(ar_paras) != len(en_paras) or len(ar_paras) != len(r_paras):
        print("error: xquad ar/en/xquad-r files do not line up", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)

    corpus = [{"id": pid, "text": p["context"].strip(), "language": "ar"} for pid, p in ar_paras]
    queries: dict[str, list[dict[str, Any]]] = {"en": [], "ar": []}
    for n, ((pid, p_ar), (_, p_en), (_, p_r)) in enumerate(
        zip(ar_paras, en_paras, r_paras, strict=True)
    ):
        split = "tune" if n % 2 == 0 else "test"
        en_q = {q["id"]: q["question"] for q in p_en["qas"]}
        r_q = {q["id"]: q for q in p_r["qas"]}
        for qa in p_ar["qas"]:
            answers = sorted({a["text"].strip() for a in qa["answers"]})
            r = r_q.get(qa["id"])
            sentence = (
                gold_sentence(p_r, r["answers"][0]["answer_start"]) if r and r["answers"] else None
            )
            common = {
                "relevant": [pid],
                "split": split,
                "set": "xquad",
                "answers": answers,
                "gold_sentence": sentence,
            }
            queries["ar"].append(
                {"id": qa["id"], "question": qa["question"].strip(), "lang": "ar", **common}
            )
            queries["en"].append(
                {"id": qa["id"], "question": en_q[qa["id"]].strip(), "lang": "en", **common}
            )

    rng = random.Random(SEED)
    distractors = [
        {"id": "en-" + pid, "text": p["context"].strip(), "language": "en"} for pid, p in en_paras
    ]
    for lang, paras in (("ar", ar_paras), ("en", en_paras)):
        made = bigram_paragraphs([p["context"] for _, p in paras], GENERATED_PER_LANGUAGE, rng)
        distractors += [
            {"id": f"gen-{lang}-{i:04d}", "text": text, "language": lang}
            for i, text in enumerate(made)
        ]

    write_jsonl(args.out / "corpus_ar.jsonl", corpus)
    write_jsonl(args.out / "corpus_distract.jsonl", corpus + distractors)
    write_jsonl(args.out / "queries_en.jsonl", queries["en"])
    write_jsonl(args.out / "queries_ar.jsonl", queries["ar"])
    # With the English paragraphs in the store, the English version of a paragraph answers an
    # English question as well as the Arabic one: this file counts either as relevant.
    either = [
        {**q, "relevant": [*q["relevant"], *("en-" + r for r in q["relevant"])], "set": "either"}
        for q in queries["en"]
    ]
    write_jsonl(args.out / "queries_en_either.jsonl", either)
    print(
        f"wrote {len(corpus)} paragraphs, {len(distractors)} distractors, "
        f"{len(queries['en'])} questions per language to {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
