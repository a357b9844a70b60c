"""The XQuAD parts of the trust benchmark (issue 17, 1a and 1b) as `newsbot eval` input files.

Usage (from the repository root)::

    python bench/trust_xquad.py [--xquad DIR] [--xquad-r DIR] [--out /work/measure/trust/xquad]

Reads ../shared/eval/xquad and xquad-r at run time (CC BY-SA: nothing is copied into the
repository) and writes under ``--out``:

  c-{ar,en}-{A,B}-{kept,removed}.jsonl   the paragraphs, one corpus file per language, half and
                 part, so that each store below is a list of these files: a store with a third
                 of the paragraphs removed is its full store minus two files, and the full
                 store's index can start as a copy of it (only the added files are embedded);
  q-{store}-{en,ar}.jsonl   the questions asked of that store, in English and in Arabic;
  stores.json    the stores: their corpus files, query files and the store whose index a new
                 index may be copied from.

1a, the mixed-language store. The 48 Wikipedia articles are split into two halves: A (even
article number) and B (odd). ``m1`` holds A's paragraphs in Arabic and B's in English, ``m2``
the swap, so every question is measured in every direction over the two stores. ``ar`` and
``en`` are the single-language references (all 240 paragraphs in one language). Each query
carries ``direction`` ("en->ar": an English question whose paragraph is Arabic in that store).

1b, unanswerable questions with hard negatives (the NoMIRACL protocol). From each article two of
its five paragraphs (the two first by SHA-1 of the paragraph id) are left out of the
``*-1b`` stores while its other three stay. A question on a removed paragraph has ``relevant``
= [] (the right outcome is a refusal); a question on a kept one is answerable.

Every query carries ``split`` ("tune" / "test": even / odd paragraph number across the file,
as bench/xquad.py), ``answers`` and ``gold_sentence`` in the language of the paragraph as that
store holds it, ``lang`` (the question's) and ``set`` ("xquad-1a" or "xquad-1b").
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from xquad import SHARED, gold_sentence, paragraphs, write_jsonl

OUT = Path("/work/measure/trust/xquad")
LANGS = ("ar", "en")
# Removed from each article of five paragraphs in the 1b stores.
REMOVED_PER_ARTICLE = 2

# store -> (language of half A, language of half B, parts held, store to copy the index from)
STORES: dict[str, tuple[str, str, tuple[str, ...], str | None]] = {
    "ar-1b": ("ar", "ar", ("kept",), None),
    "ar": ("ar", "ar", ("kept", "removed"), "ar-1b"),
    "en-1b": ("en", "en", ("kept",), None),
    "en": ("en", "en", ("kept", "removed"), "en-1b"),
    "m1-1b": ("ar", "en", ("kept",), None),
    "m1": ("ar", "en", ("kept", "removed"), "m1-1b"),
    "m2-1b": ("en", "ar", ("kept",), None),
    "m2": ("en", "ar", ("kept", "removed"), "m2-1b"),
}


def half_of(article: int) -> str:
    return "A" if article % 2 == 0 else "B"


def removed_ids(pids: list[str]) -> set[str]:
    """The paragraphs of one article left out of the 1b stores: deterministic, by SHA-1."""
    ranked = sorted(pids, key=lambda pid: hashlib.sha1(pid.encode()).hexdigest())
    return set(ranked[:REMOVED_PER_ARTICLE])


def corpus_name(lang: str, half: str, part: str) -> str:
    return f"c-{lang}-{half}-{part}.jsonl"


def build(xquad: Path, xquad_r: Path, out: Path) -> dict[str, Any]:
    """Write the files; returns the stores' description (also written as stores.json)."""
    data = {
        lang: paragraphs(json.loads((xquad / f"xquad.{lang}.json").read_text(encoding="utf-8")))
        for lang in LANGS
    }
    sentences = {
        lang: paragraphs(json.loads((xquad_r / f"{lang}.json").read_text(encoding="utf-8")))
        for lang in LANGS
    }
    if len({len(v) for v in (*data.values(), *sentences.values())}) != 1:
        raise SystemExit("error: xquad ar/en/xquad-r files do not line up")
    out.mkdir(parents=True, exist_ok=True)

    by_article: dict[int, list[str]] = {}
    for pid, _ in data["ar"]:
        by_article.setdefault(int(pid[2:4]), []).append(pid)
    removed = {pid for pids in by_article.values() for pid in removed_ids(pids)}

    files: dict[str, list[dict[str, Any]]] = {}
    # question records per paragraph: (pid, half, part, split, question lang -> text, qa id,
    # paragraph lang -> (answers, gold sentence))
    items: list[dict[str, Any]] = []
    for n, pid in enumerate(pid for pid, _ in data["ar"]):
        article = int(pid[2:4])
        half = half_of(article)
        part = "removed" if pid in removed else "kept"
        split = "tune" if n % 2 == 0 else "test"
        paras = {lang: data[lang][n][1] for lang in LANGS}
        sents = {lang: sentences[lang][n][1] for lang in LANGS}
        for lang in LANGS:
            files.setdefault(corpus_name(lang, half, part), []).append(
                {"id": pid, "text": paras[lang]["context"].strip(), "language": lang}
            )
        questions = {lang: {q["id"]: q for q in paras[lang]["qas"]} for lang in LANGS}
        r_qas = {lang: {q["id"]: q for q in sents[lang]["qas"]} for lang in LANGS}
        for qid, qa_ar in questions["ar"].items():
            evidence = {}
            for lang in LANGS:
                qa = questions[lang][qid]
                r = r_qas[lang].get(qid)
                gold = (
                    gold_sentence(sents[lang], r["answers"][0]["answer_start"])
                    if r and r["answers"]
                    else None
                )
                evidence[lang] = (sorted({a["text"].strip() for a in qa["answers"]}), gold)
            items.append(
                {
                    "qid": qid,
                    "pid": pid,
                    "half": half,
                    "part": part,
                    "split": split,
                    "question": {
                        "ar": qa_ar["question"].strip(),
                        "en": questions["en"][qid]["question"].strip(),
                    },
                    "evidence": evidence,
                }
            )
    for name, rows in files.items():
        write_jsonl(out / name, rows)

    stores: dict[str, Any] = {}
    for store, (lang_a, lang_b, parts, seed) in STORES.items():
        langs = {"A": lang_a, "B": lang_b}
        corpus = [corpus_name(langs[h], h, part) for h in ("A", "B") for part in parts]
        unanswerable_set = "removed" not in parts
        queries = []
        for q_lang in LANGS:
            rows = []
            for it in items:
                p_lang = langs[it["half"]]
                answerable = it["part"] in parts
                answers, gold = it["evidence"][p_lang]
                rows.append(
                    {
                        "id": f"{it['qid']}/{q_lang}",
                        "question": it["question"][q_lang],
                        "relevant": [it["pid"]] if answerable else [],
                        "split": it["split"],
                        "set": "xquad-1b" if unanswerable_set else "xquad-1a",
                        "lang": q_lang,
                        "direction": f"{q_lang}->{p_lang}",
                        "answers": answers if answerable else [],
                        "gold_sentence": gold if answerable else None,
                        "paragraph": it["pid"],
                    }
                )
            name = f"q-{store}-{q_lang}.jsonl"
            write_jsonl(out / name, rows)
            queries.append(name)
        stores[store] = {
            "corpus": corpus,
            "queries": queries,
            "seed": seed,
            "part": "1b" if unanswerable_set else "1a",
        }
    (out / "stores.json").write_text(json.dumps(stores, indent=2) + "\n", encoding="utf-8")
    return stores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--xquad", type=Path, default=SHARED / "xquad")
    parser.add_argument("--xquad-r", type=Path, default=SHARED / "xquad-r")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    stores = build(args.xquad, args.xquad_r, args.out)
    print(f"wrote {len(stores)} stores' corpus and query files to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
