"""Generated vs extractive answers: correctness, citations, refusals, latency, peak memory.

Usage (from the repository root; one mode and one set per process, so peak RSS is that mode's)::

    python bench/fetch_local_model.py                       # once: bench/out/model.gguf
    python bench/bench_llm.py --mode extractive --set golden
    python bench/bench_llm.py --mode llm --set golden --gguf bench/out/model.gguf
    python bench/bench_llm.py --mode extractive --set xquad -n 100
    python bench/bench_llm.py --mode llm --set xquad -n 100 --gguf bench/out/model.gguf
    python bench/bench_llm.py --table                       # the table from the saved runs

(``--url http://127.0.0.1:8080/v1 --model NAME`` measures a server instead of a GGUF file.)

Sets:
  golden  the sample article's golden questions (tests/golden/sample.jsonl): answerable ones
          must be answered and mention the fact (English or Arabic wording, ``GOLD`` below);
          off-topic ones must be refused.
  xquad   English XQuAD questions over the 240 Arabic paragraphs (../shared/eval/xquad), taken
          evenly from the odd paragraphs (the half that retrieval was not tuned on). Correct:
          the English or the Arabic gold answer appears in the answer. The paragraphs are
          indexed once into bench/out/llm-xquad/ and reused.

Per question one JSON line goes to bench/out/llm-<set>-<mode>.jsonl, and a summary to
bench/out/llm-<set>-<mode>.json. "correct (shown)" reads the whole answer a user sees (for a
generated answer this includes the original sentences quoted under it); "correct (generated)"
reads only the model's own words, among answers that stayed generated.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
SHARED = REPO.parent / "shared" / "eval"

# Acceptable wordings of each golden answer (either language); the golden file's Arabic quote
# is always accepted too.
GOLD: dict[str, list[str]] = {
    "When is the US-Israel meeting?": [
        "early December", "beginning of December", "start of December", "first week of December",
        "أوائل كانون الأول",
    ],
    "When will senior US and Israeli officials meet?": [
        "early December", "beginning of December", "start of December", "first week of December",
        "أوائل كانون الأول",
    ],
    "Where will the meeting be held?": [
        "declined", "did not say", "didn't say", "refused", "not specified", "not disclosed",
        "رفض ميلر تحديد مكان",
    ],
    "How many people were killed in Gaza according to the health ministry?": ["43972", "43,972"],
    "Who is the State Department spokesman?": ["Matthew Miller", "ماثيو ميلر"],
    "What did the senators call for?": [
        "arms sales", "weapons sales", "weapon sales", "sale of weapons", "sales of weapons",
        "وقف مبيعات الأسلحة",
    ],
    "When did the war start?": ["7 October 2023", "October 7, 2023", "October 7 2023"],
    "How many people were killed in the Hamas attack on Israel?": ["1206", "1,206"],
    "Who sent a letter to Israel in mid-October?": ["Blinken", "بلينكن"],
    "متى سيعقد الاجتماع الأمريكي الإسرائيلي؟": [
        "أوائل كانون الأول", "أوائل ديسمبر", "بداية ديسمبر", "بداية كانون الأول",
    ],
    "كم عدد القتلى في غزة؟": ["43972", "43,972"],
    "ماذا طلب أعضاء مجلس الشيوخ؟": ["وقف مبيعات الأسلحة", "وقف بيع الأسلحة"],
    "من هو المتحدث باسم وزارة الخارجية؟": ["ماثيو ميلر", "ميلر"],
    "أين سيعقد الاجتماع؟": ["رفض ميلر تحديد", "لم يحدد", "رفض تحديد"],
    "متى بدأت الحرب؟": ["7 أكتوبر 2023", "٧ أكتوبر ٢٠٢٣"],
}  # fmt: skip

_ORIGINAL_LINE = re.compile(r"^\[\d+\] “.*”$")
_ARABIC_MARKS = re.compile(r"[\u064b-\u0652\u0640]")  # harakat and tatweel


def normalise(text: str) -> str:
    text = _ARABIC_MARKS.sub("", text.lower())
    text = re.sub("[أإآ]", "ا", text)
    return " ".join(text.split())


def contains_any(text: str, golds: list[str]) -> bool:
    haystack = normalise(text)
    return any(normalise(g) in haystack for g in golds if g.strip())


def generated_part(text: str) -> str:
    """A generated answer without the original sentences appended under it."""
    lines = text.split("\n")
    while lines and (_ORIGINAL_LINE.match(lines[-1]) or not lines[-1].strip()):
        lines.pop()
    return "\n".join(lines)


# --- question sets -----------------------------------------------------------------------------


def golden_set() -> tuple[Any, list[dict[str, Any]]]:
    from index.reindex import reindex
    from index.settings import Settings

    settings = Settings(
        store_dir=OUT / "llm-golden" / "index", articles_dir=REPO / "data" / "articles"
    )
    reindex(settings)
    items = []
    for line in (REPO / "tests" / "golden" / "sample.jsonl").read_text("utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)
        golds = [*GOLD.get(case["question"], []), case.get("quote", "")]
        items.append(
            {"question": case["question"], "refuse": bool(case.get("refuse")), "gold": golds}
        )
    return settings, items


def _paragraphs(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"xq{a:02d}-{p}", para)
        for a, article in enumerate(data["data"])
        for p, para in enumerate(article["paragraphs"])
    ]


def xquad_set(n: int) -> tuple[Any, list[dict[str, Any]]]:
    from index.reindex import reindex
    from index.settings import Settings

    en = json.loads((SHARED / "xquad" / "xquad.en.json").read_text("utf-8"))
    ar = json.loads((SHARED / "xquad" / "xquad.ar.json").read_text("utf-8"))
    articles = OUT / "llm-xquad" / "articles"
    articles.mkdir(parents=True, exist_ok=True)
    ar_answers: dict[str, list[str]] = {}
    for pid, para in _paragraphs(ar):
        path = articles / f"{pid}.txt"
        if not path.exists():  # no title: XQuAD's title is English and would leak into Arabic
            path.write_text(para["context"], encoding="utf-8")
        for qa in para["qas"]:
            ar_answers[qa["id"]] = [a["text"] for a in qa["answers"]]
    settings = Settings(store_dir=OUT / "llm-xquad" / "index", articles_dir=articles)
    reindex(settings)
    pool = [
        {
            "question": qa["question"],
            "refuse": False,
            "gold": [a["text"] for a in qa["answers"]] + ar_answers.get(qa["id"], []),
            "paragraph": pid,
            "id": qa["id"],
        }
        for i, (pid, para) in enumerate(_paragraphs(en))
        if i % 2 == 1
        for qa in para["qas"]
    ]
    step = len(pool) / n
    return settings, [pool[int(i * step)] for i in range(min(n, len(pool)))]


# --- running -----------------------------------------------------------------------------------


class Recording:
    """Wraps a chat model to keep its raw reply, for counting invented citations."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.name = model.name
        self.raw: str | None = None

    def chat(self, system: str, user: str, on_token: Any = None) -> str:
        self.raw = None
        self.raw = self.model.chat(system, user, on_token)
        return self.raw


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bot.answer import Answerer
    from bot.generate import GeneratingAnswerer, check_citations

    settings, items = golden_set() if args.set == "golden" else xquad_set(args.n)
    recorder = None
    if args.mode == "llm":
        from bot.llm import make_chat_model

        settings = settings.model_copy(
            update={
                "llm_url": args.url,
                "llm_model": args.model,
                "llm_gguf": Path(args.gguf) if args.gguf else None,
                "llm_timeout": args.timeout,
            }
        )
        started = time.perf_counter()
        model = make_chat_model(settings)
        load_s = time.perf_counter() - started
        recorder = Recording(model)
        answerer: Answerer = GeneratingAnswerer(settings, model=recorder)
    else:
        load_s = 0.0
        answerer = Answerer(settings)
    answerer.answer("warm-up question")  # load the embedder and caches outside the timings

    details = OUT / f"{stem(args.set, args.n)}-{args.mode}.jsonl"
    rows = []
    with details.open("w", encoding="utf-8") as sink:
        for i, item in enumerate(items, 1):
            if recorder:
                recorder.raw = None
            started = time.perf_counter()
            answer = answerer.answer(item["question"])
            seconds = time.perf_counter() - started
            raw = recorder.raw if recorder else None
            shown = len(answerer.excerpt_passages(answer)) if recorder else 0  # type: ignore[attr-defined]
            invented = check_citations(raw, shown)[2] if raw else 0
            text = answer.text
            own = generated_part(text) if answer.mode == "llm" else None
            row = {
                "question": item["question"],
                "should_refuse": item["refuse"],
                "refused": answer.refused,
                "mode": answer.mode,
                "notice": answer.notice,
                "correct_shown": (not item["refuse"]) and contains_any(text, item["gold"]),
                "correct_generated": own is not None and contains_any(own, item["gold"]),
                "cited_gold_paragraph": any(
                    item.get("paragraph") and c.path and Path(c.path).stem == item["paragraph"]
                    for c in answer.citations
                ),
                "invented_citations": invented,
                "citations": len(answer.citations),
                "shown_citations_valid": shown_valid(own, len(answer.citations)),
                "seconds": round(seconds, 3),
                "answer": text,
                "raw": raw,
                "gold": item["gold"][:4],
            }
            rows.append(row)
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
            sink.flush()
            print(
                f"{i}/{len(items)} {seconds:.1f}s {answer.mode} correct={row['correct_shown']} "
                f"{item['question'][:60]}",
                file=sys.stderr,
                flush=True,
            )
    summary = summarise(rows)
    summary.update(
        {
            "set": args.set if args.set == "golden" else f"xquad-{len(rows)}",
            "mode": args.mode,
            "model": recorder.name if recorder else None,
            "load_seconds": round(load_s, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
    )
    (OUT / f"{stem(args.set, args.n)}-{args.mode}.json").write_text(json.dumps(summary, indent=1))
    return summary


def shown_valid(generated: str | None, citations: int) -> bool:
    """Every [n] in a generated answer names one of its citations (extractive: by design;
    its quotes may hold the article's own bracketed numbers, such as Wikipedia's [21])."""
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", generated or "")}
    return all(1 <= m <= citations for m in markers)


def resummarise() -> None:
    """Recompute the summaries from the saved per-question lines (after a metric fix)."""
    for details in sorted(OUT.glob("llm-*-*.jsonl")):
        path = details.with_suffix(".json")
        if not path.exists():
            continue
        rows = [json.loads(line) for line in details.read_text("utf-8").splitlines() if line]
        for row in rows:
            own = generated_part(row["answer"]) if row["mode"] == "llm" else None
            # Older lines lack "citations": count the originals quoted under the answer.
            quoted = set(re.findall(r"^\[(\d+)\] “", row["answer"], re.MULTILINE))
            cited = row.get("citations", len(quoted))
            row["shown_citations_valid"] = shown_valid(own, cited)
        summary = json.loads(path.read_text())
        summary.update(summarise(rows))
        path.write_text(json.dumps(summary, indent=1))


def stem(name: str, n: int) -> str:
    return "llm-golden" if name == "golden" else f"llm-xquad{n}"


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    answerable = [r for r in rows if not r["should_refuse"]]
    offtopic = [r for r in rows if r["should_refuse"]]
    generated = [r for r in answerable if r["mode"] == "llm"]
    asked = [r for r in rows if r["raw"] is not None or (r["notice"] and r["mode"] != "llm")]
    seconds = sorted(r["seconds"] for r in rows)
    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "correct_shown": sum(r["correct_shown"] for r in answerable),
        "generated": len(generated),
        "correct_generated": sum(r["correct_generated"] for r in generated),
        "fallbacks": sum(1 for r in asked if r["mode"] != "llm"),
        "wrongly_refused": sum(r["refused"] for r in answerable),
        "offtopic": len(offtopic),
        "offtopic_refused": sum(r["refused"] for r in offtopic),
        "cited_gold_paragraph": sum(r["cited_gold_paragraph"] for r in answerable),
        "answers_with_invented_citations": sum(r["invented_citations"] > 0 for r in rows),
        "shown_invalid_citations": sum(not r["shown_citations_valid"] for r in rows),
        "median_seconds": round(statistics.median(seconds), 2) if seconds else None,
        "p90_seconds": round(seconds[int(0.9 * (len(seconds) - 1))], 2) if seconds else None,
    }


def table() -> str:
    lines = [
        "| set | mode | correct (shown) | correct (generated) | fell back | wrongly refused "
        "| off-topic refused | gold paragraph cited | invented citations (raw / shown) "
        "| median s | p90 s | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    runs = {p.name.rsplit("-", 1)[0] for p in OUT.glob("llm-xquad*-*.json")}
    names = ["llm-golden", *sorted(runs, key=lambda x: int(x.removeprefix("llm-xquad")))]
    for name in names:
        for mode in ("extractive", "llm"):
            path = OUT / f"{name}-{mode}.json"
            if not path.exists():
                continue
            s = json.loads(path.read_text())
            label = s["set"]
            gen = f"{s['correct_generated']}/{s['generated']}" if mode == "llm" else "–"
            fell = f"{s['fallbacks']}" if mode == "llm" else "–"
            off = f"{s['offtopic_refused']}/{s['offtopic']}" if s["offtopic"] else "–"
            gold = f"{s['cited_gold_paragraph']}/{s['answerable']}" if "xquad" in label else "–"
            lines.append(
                f"| {label} | {mode} | {s['correct_shown']}/{s['answerable']} "
                f"| {gen} | {fell} | {s['wrongly_refused']} | {off} | {gold} "
                f"| {s['answers_with_invented_citations']} / {s['shown_invalid_citations']} "
                f"| {s['median_seconds']} | {s['p90_seconds']} | {s['peak_rss_mb']} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="generated vs extractive answers")
    parser.add_argument("--mode", choices=("extractive", "llm"))
    parser.add_argument("--set", choices=("golden", "xquad"), default="golden")
    parser.add_argument("-n", type=int, default=100, help="XQuAD questions")
    parser.add_argument("--gguf", help="a local GGUF model (default for --mode llm)")
    parser.add_argument("--url", help="an OpenAI-compatible server instead of a GGUF")
    parser.add_argument("--model", default="default", help="model name for --url")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per answer (--url)")
    parser.add_argument("--table", action="store_true", help="print the table of saved runs")
    parser.add_argument("--resummarise", action="store_true", help=resummarise.__doc__)
    args = parser.parse_args()
    if args.resummarise:
        resummarise()
    if args.table or args.resummarise:
        print(table())
        return
    if not args.mode:
        parser.error("--mode is required (or --table)")
    if args.mode == "llm" and not (args.url or args.gguf):
        args.gguf = str(OUT / "model.gguf")
    OUT.mkdir(exist_ok=True)
    print(json.dumps(run(args), indent=1))


if __name__ == "__main__":
    main()
