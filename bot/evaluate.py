"""`newsbot eval`: build an index of a corpus with the reindex pipeline, ask it questions with the
`ask` retrieval, and measure ranking, refusals, evidence sentences and speed.

Inputs are JSONL. Corpus records are articles (``{"id", "text", "title"?, "language"?}``, or any
file or folder ``newsbot reindex`` reads). Query records::

    {"id": str, "question": str, "relevant": [article id, ...],
     "split"?: "tune" | "test", "set"?: str, "lang"?: str, "answers"?: [str],
     "gold_sentence"?: str, "direction"?: str}

Figures are also given per ``set``/``lang`` (the language defaults to the question's script),
and per ``direction`` ("en->ar": an English question whose article is Arabic) when queries
carry one.
A query with an empty ``relevant`` list is off-topic: the right outcome is a refusal. Relevance is
per article: a paragraph can give several chunks, so the ranked chunks' article ids are
de-duplicated, first occurrence kept, before scoring.

Nothing here prints: files the index skipped and the queries' progress go to callbacks, and the
figures come back as a dict that ``format_report`` turns into text (``newsbot eval`` prints both).
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.answer import Answerer, Question
from bot.retrieve import Retriever, Weights
from index.articles import Skipped
from index.errors import NewsbotError
from index.reindex import reindex
from index.settings import Settings
from index.text import match_tokens, script_of

logger = logging.getLogger(__name__)

# Chunks asked of the retriever per query: enough to fill 10 distinct articles almost always.
CHUNKS_PER_QUERY = 30
CUTOFFS = (1, 5, 10)


@dataclass(frozen=True)
class Query:
    id: str
    question: str
    relevant: tuple[str, ...]
    split: str | None = None
    set: str | None = None
    answers: tuple[str, ...] = ()
    gold_sentence: str | None = None
    lang: str | None = None
    direction: str | None = None

    @property
    def answerable(self) -> bool:
        return bool(self.relevant)

    @property
    def language(self) -> str:
        """The question's language: ``lang``, else "ar" for Arabic script and "en" otherwise."""
        return self.lang or ("ar" if script_of(self.question) == "arabic" else "en")


def load_queries(paths: Iterable[Path]) -> list[Query]:
    """Queries from JSONL files; a malformed line is an error naming file and line."""
    out: list[Query] = []
    seen: set[str] = set()
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").split("\n")
        except OSError as exc:
            raise NewsbotError(f"cannot read queries {path}: {exc.strerror or exc}") from exc
        for lineno, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}:{lineno}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise NewsbotError(f"{where}: malformed JSON line ({exc.msg})") from exc
            if not isinstance(item, dict) or not isinstance(item.get("question"), str):
                raise NewsbotError(f"{where}: a query needs a 'question' string")
            relevant = item.get("relevant", [])
            if not isinstance(relevant, list) or not all(isinstance(r, str) for r in relevant):
                raise NewsbotError(f"{where}: 'relevant' must be a list of article ids")
            qid = str(item.get("id") or f"{path.name}:{lineno}")
            if qid in seen:
                qid = f"{qid}@{path.name}:{lineno}"
            seen.add(qid)
            out.append(
                Query(
                    id=qid,
                    question=item["question"],
                    relevant=tuple(relevant),
                    split=item.get("split"),
                    set=item.get("set"),
                    answers=tuple(str(a) for a in item.get("answers") or ()),
                    gold_sentence=item.get("gold_sentence"),
                    lang=item.get("lang"),
                    direction=item.get("direction"),
                )
            )
    if not out:
        raise NewsbotError("no queries to evaluate")
    return out


# --- ranking metrics (binary relevance, per article) --------------------------------------------


def dedupe(ids: Iterable[str]) -> list[str]:
    """Ids in first-seen order, repeats dropped."""
    return list(dict.fromkeys(ids))


def recall_at(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """Share of the relevant ids found in the first ``k`` of ``ranked``."""
    rel = set(relevant)
    if not rel:
        return 0.0
    return len(rel & set(ranked[:k])) / len(rel)


def mrr_at(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """1 / rank of the first relevant id within the first ``k``, else 0."""
    rel = set(relevant)
    for i, doc in enumerate(ranked[:k], 1):
        if doc in rel:
            return 1.0 / i
    return 0.0


def ndcg_at(ranked: Sequence[str], relevant: Iterable[str], k: int) -> float:
    """Binary-gain nDCG over the first ``k``."""
    rel = set(relevant)
    if not rel:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 1) for i, doc in enumerate(ranked[:k], 1) if doc in rel)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(len(rel), k) + 1))
    return dcg / ideal


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else 0.0


def _words(text: str) -> set[str]:
    return set(match_tokens(text))


def contains_answer(quote: str, answers: Iterable[str]) -> bool:
    """Whether any gold answer appears in the quote, compared as normalised token runs."""
    q = " " + " ".join(match_tokens(quote)) + " "
    for answer in answers:
        a = " ".join(match_tokens(answer))
        if a and f" {a} " in q:
            return True
    return False


def same_sentence(quote: str, gold: str) -> bool:
    """Whether a quote is the gold sentence, allowing for different sentence splitters:
    nearly all the shorter one's words are in the longer one."""
    a, b = _words(quote), _words(gold)
    if not a or not b:
        return False
    return len(a & b) / min(len(a), len(b)) >= 0.8


# --- running an evaluation ------------------------------------------------------------------


@dataclass
class Outcome:
    """One query's result."""

    query: Query
    ranked: list[str]
    ms: float
    refused: bool
    quote: str | None
    features: dict[str, float] = field(default_factory=dict)
    quote_article: str | None = None  # the article the first quote comes from

    @property
    def hit1(self) -> bool:
        """Whether the first ranked article is a relevant one."""
        return bool(self.ranked) and self.ranked[0] in self.query.relevant

    @property
    def quote_holds_answer(self) -> bool:
        """Whether an answer was given and its first quote holds a gold answer."""
        return self.quote is not None and contains_answer(self.quote, self.query.answers)

    @property
    def wrong_answer(self) -> bool:
        """An answerable query answered with a first quote from an article not relevant."""
        return (
            self.query.answerable
            and not self.refused
            and self.quote_article is not None
            and self.quote_article not in self.query.relevant
        )

    def row(self) -> dict[str, Any]:
        """The per-query record of ``--details``: the query, the outcome, the decision's
        features (the inputs of a fitted refusal model)."""
        q = self.query
        return {
            "id": q.id,
            "question": q.question,
            "set": q.set,
            "split": q.split,
            "lang": q.language,
            "direction": q.direction,
            "relevant": list(q.relevant),
            "answerable": q.answerable,
            "ranked": self.ranked[:10],
            "hit1": self.hit1,
            "ms": round(self.ms, 2),
            "refused": self.refused,
            "quote": self.quote,
            "quote_article": self.quote_article,
            "quote_holds_answer": self.quote_holds_answer if q.answers else None,
            "quote_is_gold": (
                self.quote is not None and same_sentence(self.quote, q.gold_sentence)
                if q.gold_sentence
                else None
            ),
            "wrong_answer": self.wrong_answer,
            "features": dict(self.features),
            **self.features,
        }


def summarise(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Ranking metrics over the answerable queries; refusal rates over all of them."""
    answerable = [o for o in outcomes if o.query.answerable]
    offtopic = [o for o in outcomes if not o.query.answerable]
    out: dict[str, Any] = {"n": len(answerable)}
    for k in CUTOFFS:
        out[f"recall@{k}"] = _mean(recall_at(o.ranked, o.query.relevant, k) for o in answerable)
    for k in CUTOFFS:  # any relevant article in the first k (= recall@k with one relevant)
        hits = (mrr_at(o.ranked, o.query.relevant, k) > 0 for o in answerable)
        out[f"hit@{k}"] = _mean(float(h) for h in hits)
    out["mrr@10"] = _mean(mrr_at(o.ranked, o.query.relevant, 10) for o in answerable)
    out["ndcg@10"] = _mean(ndcg_at(o.ranked, o.query.relevant, 10) for o in answerable)
    ms = [o.ms for o in outcomes]
    out["query_ms_p50"] = round(percentile(ms, 50), 2)
    out["query_ms_p95"] = round(percentile(ms, 95), 2)
    out["false_refusal"] = _mean(float(o.refused) for o in answerable) if answerable else None
    out["n_offtopic"] = len(offtopic)
    out["false_answer"] = _mean(float(not o.refused) for o in offtopic) if offtopic else None
    out["wrong_answer"] = _mean(float(o.wrong_answer) for o in answerable) if answerable else None
    with_answers = [o for o in answerable if o.query.answers]
    if with_answers:
        out["quote_has_answer"] = _mean(
            float(o.quote is not None and contains_answer(o.quote, o.query.answers))
            for o in with_answers
        )
    with_gold = [o for o in answerable if o.query.gold_sentence]
    if with_gold:
        out["quote_is_gold_sentence"] = _mean(
            float(o.quote is not None and same_sentence(o.quote, o.query.gold_sentence or ""))
            for o in with_gold
        )
    return out


def _mean(values: Iterable[float]) -> float:
    vals = list(values)
    return round(sum(vals) / len(vals), 4) if vals else 0.0


def report(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """Overall figures, then the same per query set and language, and per half of each."""
    out = summarise(outcomes)
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups[f"{o.query.set or 'queries'}/{o.query.language}"].append(o)
    if len(groups) > 1:
        out["by_set"] = {name: summarise(group) for name, group in sorted(groups.items())}
    halves: dict[str, list[Outcome]] = defaultdict(list)
    for name, group in groups.items():
        for o in group:
            if o.query.split:
                halves[f"{name}/{o.query.split}"].append(o)
    if halves:
        out["by_split"] = {name: summarise(group) for name, group in sorted(halves.items())}
    directions: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        if o.query.direction:
            directions[f"{o.query.set or 'queries'}/{o.query.direction}"].append(o)
            if o.query.split:
                key = f"{o.query.set or 'queries'}/{o.query.direction}/{o.query.split}"
                directions[key].append(o)
    if directions:
        out["by_direction"] = {name: summarise(group) for name, group in sorted(directions.items())}
    return out


# --- refusal: false answers against false refusals over a score threshold ---------------------


def refusal_curve(
    rows: Sequence[tuple[bool, float]], thresholds: Sequence[float] | None = None
) -> list[dict[str, float]]:
    """False answers and false refusals when a query is answered iff its score >= a threshold.

    ``rows`` are (answerable, score) pairs. The thresholds default to every distinct score plus
    one above the highest (refuse all). A false answer is an unanswerable query answered (share
    of the unanswerable ones), a false refusal an answerable one refused (share of those).
    """
    pos = sorted(s for a, s in rows if a)
    neg = sorted(s for a, s in rows if not a)
    if thresholds is None:
        scores = sorted({s for _, s in rows})
        thresholds = [*scores, (scores[-1] + 1.0) if scores else 0.0]
    out = []
    for t in thresholds:
        refused_pos = _count_below(pos, t)
        answered_neg = len(neg) - _count_below(neg, t)
        out.append(
            {
                "threshold": float(t),
                "false_answer": answered_neg / len(neg) if neg else 0.0,
                "false_refusal": refused_pos / len(pos) if pos else 0.0,
            }
        )
    return out


def _count_below(sorted_scores: Sequence[float], t: float) -> int:
    return int(np.searchsorted(np.asarray(sorted_scores, dtype=float), t, side="left"))


def operating_point(
    curve: Sequence[dict[str, float]], max_false_refusal: float = 0.05
) -> dict[str, float] | None:
    """The point of ``curve`` with the fewest false answers whose false refusals stay within
    ``max_false_refusal`` (ties: the lower threshold); None when no point qualifies."""
    ok = [p for p in curve if p["false_refusal"] <= max_false_refusal + 1e-12]
    if not ok:
        return None
    return min(ok, key=lambda p: (p["false_answer"], p["threshold"]))


def evaluate(
    settings: Settings,
    corpus: Sequence[Path],
    queries: Sequence[Query],
    k: int = 10,
    index_dir: Path | None = None,
    channels: Sequence[str] | None = None,
    progress: Any = None,
    details: Path | None = None,
    on_skipped: Callable[[Skipped], None] | None = None,
    on_query: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Index ``corpus`` (into ``index_dir``, kept, or a temporary folder) and run ``queries``.

    ``progress`` follows the indexing, ``on_skipped`` hears of each file the index skipped and
    ``on_query(done, total)`` of each query answered.
    """
    with tempfile.TemporaryDirectory(prefix="newsbot-eval-") as tmp:
        # Always an embedded store of its own: an evaluation must never write into the
        # collection a Chroma server serves to users.
        settings = settings.model_copy(
            update={"store_dir": index_dir or Path(tmp), "chroma_url": None}
        )
        built = reindex(settings, list(corpus), progress=progress)
        for skipped in built.skipped:
            if on_skipped:
                on_skipped(skipped)
        weights = Weights.only(channels) if channels else None
        retriever = Retriever(settings, weights=weights)
        try:
            articles, chunks = retriever.manifest.counts()
            answerer = Answerer(settings, retriever)
            retriever.search("warm-up", k=1)  # model and store load outside the timings
            outcomes = _run(retriever, answerer, queries, max(k, 10), settings.top_k, on_query)
        finally:
            retriever.manifest.close()
    result = report(outcomes)
    result.update(
        articles=articles,
        chunks=chunks,
        index_seconds=round(built.seconds, 2),
        index_chunks_embedded=built.chunks,
        index_chunks_per_s=round(built.chunks / built.seconds, 2) if built.chunks else None,
        channels=list(channels) if channels else ["dense", "sentence", "lexical"],
    )
    if details:
        with details.open("w", encoding="utf-8") as fh:
            for o in outcomes:
                fh.write(json.dumps(o.row(), ensure_ascii=False) + "\n")
    return result


def _run(
    retriever: Any,
    answerer: Any,
    queries: Sequence[Query],
    k: int,
    top_k: int,
    on_query: Callable[[int, int], None] | None = None,
) -> list[Outcome]:
    outcomes = []
    for i, q in enumerate(queries, 1):
        started = time.perf_counter()
        found = retriever.search(q.question, k=max(CHUNKS_PER_QUERY, k))
        ms = (time.perf_counter() - started) * 1000
        ranked = dedupe(p.chunk.article_id for p in found.passages)[:k]
        # `ask` shows the first top_k passages; the refusal and quotes are decided on those.
        decision = answerer.decide(Question.of(q.question), found.top(top_k))
        first = decision.citations[0] if decision.citations else None
        outcomes.append(
            Outcome(
                q,
                ranked,
                ms,
                refused=first is None,
                quote=first.quote if first else None,
                features=dict(decision.features),
                quote_article=first.passage.chunk.article_id if first else None,
            )
        )
        if on_query:
            on_query(i, len(queries))
    return outcomes


def format_report(result: dict[str, Any]) -> str:
    """The report as aligned plain text."""
    lines = [
        f"articles {result['articles']}, chunks {result['chunks']}; indexed in "
        f"{result['index_seconds']}s ({result['index_chunks_embedded']} chunks embedded"
        + (f", {result['index_chunks_per_s']} chunks/s)" if result["index_chunks_per_s"] else ")"),
        f"channels: {', '.join(result['channels'])}",
        "",
    ]
    header = (
        f"{'queries':<22}{'n':>6}{'R@1':>7}{'R@5':>7}{'R@10':>7}{'MRR@10':>8}{'nDCG@10':>9}"
        f"{'refused':>9}{'off-n':>7}{'answered':>10}{'quote~ans':>11}"
    )
    lines.append(header)
    rows = [
        ("all", result),
        *result.get("by_set", {}).items(),
        *result.get("by_split", {}).items(),
    ]
    for name, r in rows:

        def f(key: str, r: dict[str, Any] = r) -> str:
            v = r.get(key)
            ranking = key.startswith(("recall", "mrr", "ndcg"))
            return "-" if v is None or (ranking and not r["n"]) else f"{v:.3f}"

        lines.append(
            f"{name:<22}{r['n']:>6}{f('recall@1'):>7}{f('recall@5'):>7}{f('recall@10'):>7}"
            f"{f('mrr@10'):>8}{f('ndcg@10'):>9}{f('false_refusal'):>9}{r['n_offtopic']:>7}"
            f"{f('false_answer'):>10}{f('quote_has_answer'):>11}"
        )
    lines.append("")
    lines.append(f"query latency p50 {result['query_ms_p50']} ms, p95 {result['query_ms_p95']} ms")
    return "\n".join(lines)
