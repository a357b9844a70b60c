"""`newsbot eval`: metric functions on hand-made rankings, and the command end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bot.cli import main
from bot.evaluate import (
    Outcome,
    Query,
    contains_answer,
    dedupe,
    load_queries,
    mrr_at,
    ndcg_at,
    operating_point,
    percentile,
    recall_at,
    refusal_curve,
    report,
    same_sentence,
    summarise,
)
from index.errors import NewsbotError

# --- metrics -----------------------------------------------------------------------------------


def test_recall_counts_relevant_ids_within_the_cutoff() -> None:
    ranked = ["a", "b", "c", "d"]
    assert recall_at(ranked, ["a"], 1) == 1.0
    assert recall_at(ranked, ["c"], 1) == 0.0
    assert recall_at(ranked, ["c"], 5) == 1.0
    assert recall_at(ranked, ["b", "z"], 5) == 0.5
    assert recall_at(ranked, [], 5) == 0.0


def test_mrr_is_the_reciprocal_of_the_first_relevant_rank() -> None:
    ranked = ["a", "b", "c"]
    assert mrr_at(ranked, ["a"], 10) == 1.0
    assert mrr_at(ranked, ["c", "b"], 10) == 0.5
    assert mrr_at(ranked, ["c"], 2) == 0.0
    assert mrr_at(ranked, ["z"], 10) == 0.0


def test_ndcg_with_binary_gains() -> None:
    assert ndcg_at(["a", "b"], ["a"], 10) == 1.0
    assert ndcg_at(["x", "a"], ["a"], 10) == pytest.approx(1 / math.log2(3))
    # two relevant, found at ranks 1 and 3: (1 + 1/log2(4)) / (1 + 1/log2(3))
    expected = (1 + 0.5) / (1 + 1 / math.log2(3))
    assert ndcg_at(["a", "x", "b"], ["a", "b"], 10) == pytest.approx(expected)
    assert ndcg_at(["x"] * 10 + ["a"], ["a"], 10) == 0.0


def test_chunks_of_one_article_count_once() -> None:
    # A paragraph can give several chunks: relevance is per article, first occurrence kept.
    ranked = dedupe(["p1", "p1", "p2", "p1", "p3"])
    assert ranked == ["p1", "p2", "p3"]
    assert mrr_at(ranked, ["p3"], 10) == pytest.approx(1 / 3)


def test_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile([], 50) == 0.0


def test_evidence_matching_is_normalised() -> None:
    quote = "وبلغ عدد القتلى ٤٣٩٧٢ شخصاً في غزّة."
    assert contains_answer(quote, ["43972"])
    assert contains_answer(quote, ["غزة"])
    assert not contains_answer(quote, ["4397"])  # whole tokens, not substrings
    assert same_sentence("The meeting is in December.", "the meeting is in december")
    assert not same_sentence("The meeting is in December.", "Prices rose in March.")


def test_summary_separates_answerable_and_offtopic_queries() -> None:
    answerable = Query("q1", "When?", ("a",), answers=("December",))
    offtopic = Query("q2", "Recipe?", ())
    outcomes = [
        Outcome(answerable, ["b", "a"], 10.0, refused=False, quote="In December."),
        Outcome(offtopic, ["a"], 30.0, refused=True, quote=None),
    ]
    s = summarise(outcomes)
    assert s["n"] == 1 and s["n_offtopic"] == 1
    assert s["recall@1"] == 0.0 and s["recall@5"] == 1.0 and s["mrr@10"] == 0.5
    assert s["hit@1"] == 0.0 and s["hit@5"] == 1.0
    assert s["false_refusal"] == 0.0 and s["false_answer"] == 0.0
    assert s["quote_has_answer"] == 1.0
    assert s["query_ms_p50"] == 20.0


def test_figures_per_direction_and_split() -> None:
    # An English question about an Arabic article found first, an Arabic one about an English
    # article found second: each direction gets its own figures, per half too.
    en_ar = Query("a/en", "When?", ("p1",), split="tune", set="x", lang="en", direction="en->ar")
    ar_en = Query("b/ar", "متى؟", ("p2",), split="test", set="x", lang="ar", direction="ar->en")
    outcomes = [
        Outcome(en_ar, ["p1", "p2"], 1.0, refused=False, quote="q", quote_article="p1"),
        Outcome(ar_en, ["p1", "p2"], 1.0, refused=False, quote="q", quote_article="p1"),
    ]
    by = report(outcomes)["by_direction"]
    assert set(by) == {"x/en->ar", "x/en->ar/tune", "x/ar->en", "x/ar->en/test"}
    assert by["x/en->ar"]["recall@1"] == 1.0 and by["x/ar->en"]["recall@1"] == 0.0
    assert by["x/ar->en/test"]["recall@5"] == 1.0
    # The Arabic question was answered from the wrong article: a wrong answer, not a refusal.
    assert by["x/ar->en"]["wrong_answer"] == 1.0 and by["x/ar->en"]["false_refusal"] == 0.0
    assert by["x/en->ar"]["wrong_answer"] == 0.0


def test_per_query_row_carries_outcome_and_features() -> None:
    q = Query("q/en", "When?", ("p1",), split="test", answers=("December",), direction="en->ar")
    o = Outcome(
        q, ["p2", "p1"], 2.0, refused=False, quote="In December.", quote_article="p1",
        features={"relevance": 0.12, "margin": 0.3},
    )  # fmt: skip
    row = o.row()
    assert row["lang"] == "en" and row["direction"] == "en->ar" and row["split"] == "test"
    assert row["answerable"] and not row["refused"] and row["hit1"] is False
    assert row["quote_holds_answer"] is True and row["quote_is_gold"] is None
    assert row["features"] == {"relevance": 0.12, "margin": 0.3} and row["relevance"] == 0.12
    unanswerable = Outcome(Query("u", "متى؟", ()), ["p1"], 1.0, refused=True, quote=None)
    row = unanswerable.row()
    assert row["lang"] == "ar" and not row["answerable"] and row["quote_holds_answer"] is None
    assert not row["wrong_answer"]  # an unanswerable question is never a wrong answer


def test_refusal_curve_trades_false_answers_for_false_refusals() -> None:
    # (answerable, score): answerable scores 0.3, 0.5, 0.9; unanswerable 0.1, 0.4
    rows = [(True, 0.3), (True, 0.5), (True, 0.9), (False, 0.1), (False, 0.4)]
    curve = {p["threshold"]: p for p in refusal_curve(rows)}
    assert curve[0.1] == {"threshold": 0.1, "false_answer": 1.0, "false_refusal": 0.0}
    assert curve[0.3]["false_answer"] == 0.5 and curve[0.3]["false_refusal"] == 0.0
    assert curve[0.5]["false_answer"] == 0.0 and curve[0.5]["false_refusal"] == pytest.approx(1 / 3)
    top = max(curve)  # above every score: everything refused
    assert curve[top]["false_answer"] == 0.0 and curve[top]["false_refusal"] == 1.0
    fa = [p["false_answer"] for p in refusal_curve(rows)]
    fr = [p["false_refusal"] for p in refusal_curve(rows)]
    assert fa == sorted(fa, reverse=True) and fr == sorted(fr)
    # No false refusal allowed: the best is 0.3 (one false answer of two); 40% allowed: 0.5.
    assert operating_point(refusal_curve(rows), 0.0) == curve[0.3]
    assert operating_point(refusal_curve(rows), 0.4) == curve[0.5]
    assert operating_point(refusal_curve(rows, [0.95]), 0.05) is None
    assert refusal_curve([(True, 0.2)], [0.1]) == [
        {"threshold": 0.1, "false_answer": 0.0, "false_refusal": 0.0}
    ]


def test_bad_query_files_are_reported_by_line(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "1", "question": "ok", "relevant": ["a"]}\n{"id": 2}\n')
    with pytest.raises(NewsbotError, match=r"q.jsonl:2"):
        load_queries([path])
    path.write_text('{"question": "ok", "relevant": "a"}\n')
    with pytest.raises(NewsbotError, match="list of article ids"):
        load_queries([path])


# --- end to end --------------------------------------------------------------------------------

CORPUS = [
    {"id": "ar-meeting", "text": "سيجتمع مسؤولون أميركيون وإسرائيليون في أوائل كانون الأول/ديسمبر "
     "لبحث المخاوف بشأن المدنيين في غزة."},
    {"id": "ar-harvest", "text": "بدأ موسم قطاف الزيتون في فلسطين هذا الأسبوع، ويتوقع المزارعون "
     "محصولاً أقل من العام الماضي بسبب الجفاف."},
    {"id": "en-rocket", "text": "The space agency launched a weather satellite on Friday. The "
     "rocket lifted off at 6:12 a.m. from the coast.", "language": "en"},
    {"id": "en-bank", "text": "The central bank kept interest rates at 4.5 percent, citing slowing "
     "inflation and a weaker labour market."},
]  # fmt: skip
QUERIES = [
    {"id": "1", "question": "When will the US and Israeli officials meet?",
     "relevant": ["ar-meeting"], "answers": ["أوائل كانون الأول/ديسمبر"], "split": "tune"},
    {"id": "2", "question": "متى بدأ موسم قطاف الزيتون؟", "relevant": ["ar-harvest"],
     "split": "test"},
    {"id": "3", "question": "What time did the rocket lift off?", "relevant": ["en-rocket"],
     "set": "en"},
    {"id": "4", "question": "At what level did the central bank keep rates?",
     "relevant": ["en-bank"]},
    {"id": "5", "question": "How do I bake sourdough bread?", "relevant": []},
]  # fmt: skip

KEYS = {
    "n": int,
    "recall@1": float,
    "recall@5": float,
    "recall@10": float,
    "mrr@10": float,
    "ndcg@10": float,
    "query_ms_p50": float,
    "query_ms_p95": float,
}


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_eval_end_to_end_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], embedder: object
) -> None:
    corpus = _write(tmp_path / "corpus.jsonl", CORPUS)
    queries = _write(tmp_path / "queries.jsonl", QUERIES)
    index_dir = tmp_path / "idx"
    empty = tmp_path / "empty.txt"
    empty.write_text("")  # skipped, and said so on stderr by the command
    argv = ["eval", "--corpus", str(corpus), "--corpus", str(empty), "--queries", str(queries)]
    argv.append("--json")
    details = tmp_path / "details.jsonl"
    assert main([*argv, "--index-dir", str(index_dir), "--details", str(details)]) == 0
    captured = capsys.readouterr()
    assert f"skipped {empty}: " in captured.err and "R@1" in captured.err  # the table too
    out = captured.out.strip().split("\n")
    result = json.loads(out[-1])
    for key, kind in KEYS.items():
        assert isinstance(result[key], kind), key
    assert result["n"] == 4 and result["n_offtopic"] == 1
    assert 0.0 <= result["recall@1"] <= result["recall@5"] <= result["recall@10"] <= 1.0
    assert result["recall@5"] == 1.0  # four articles: every relevant one is in the top 5
    assert result["articles"] == 4 and result["index_chunks_embedded"] >= 4
    assert result["query_ms_p50"] > 0
    # One row per query, with the decision's features for a fitted refusal model.
    rows = [json.loads(line) for line in details.read_text("utf-8").splitlines()]
    assert [r["id"] for r in rows] == [q["id"] for q in QUERIES]
    assert all("relevance" in r["features"] for r in rows)
    assert [r["answerable"] for r in rows] == [True, True, True, True, False]
    assert rows[1]["lang"] == "ar" and rows[0]["lang"] == "en"
    for r in rows:
        assert r["refused"] == (r["quote"] is None) == (r["quote_article"] is None)

    # The kept index is reused: nothing is embedded again; the split keeps its own queries.
    assert main([*argv, "--index-dir", str(index_dir), "--split", "test", "-k", "5"]) == 0
    again = json.loads(capsys.readouterr().out.strip().split("\n")[-1])
    assert again["index_chunks_embedded"] == 0
    assert again["n"] == 3 and again["n_offtopic"] == 1  # query 1 is in the tuning half

    # Ablation: one channel alone still ranks.
    assert main([*argv, "--index-dir", str(index_dir), "--channels", "lexical"]) == 0
    lexical = json.loads(capsys.readouterr().out.strip().split("\n")[-1])
    assert lexical["channels"] == ["lexical"]


def test_eval_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    corpus = _write(tmp_path / "corpus.jsonl", CORPUS[:1])
    queries = _write(tmp_path / "queries.jsonl", QUERIES[:1])
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--corpus", str(corpus)])
    assert exc.value.code == 2
    code = main(["eval", "--corpus", str(corpus), "--queries", str(tmp_path / "missing.jsonl")])
    assert code == 1
    assert "cannot read queries" in capsys.readouterr().err
    assert (
        main(["eval", "--corpus", str(corpus), "--queries", str(queries), "--channels", "x"]) == 2
    )
