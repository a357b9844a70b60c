"""Retrieval: Arabic-aware lexical matching, the lexical channel, score fusion, refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bot.answer import Answerer
from bot.citations import REFUSAL
from bot.retrieve import Retriever, Weights, _covered, _foreign_share, fuse
from index.manifest import COMMON_TERM_MIN, Manifest, StoredChunk
from index.settings import Settings
from index.text import match_tokens, query_terms

BENCH = Path(__file__).resolve().parents[1] / "bench"

# --- normalisation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("مُحَمَّد", ["محمد"]),  # tashkeel
        ("القــاهرة", ["قاهره"]),  # tatweel, ال, ة -> ه
        ("أحمد إبراهيم آمال ٱلله", ["احمد", "ابراهيم", "امال", "له"]),  # alef forms
        ("مستشفى", ["مستشفي"]),  # ى -> ي
        ("مؤتمر رئيس", ["موتمر", "رييس"]),  # hamza carriers
        ("٤٣٩٧٢ ۱۲", ["43972", "12"]),  # Arabic-Indic and Persian digits
        ("والحرب بالمدينة للمدنيين", ["حرب", "مدينه", "مدنيين"]),  # prefixes
        ("ومسؤولين", ["مسوولين"]),  # a one-letter conjunction on a long word is stripped
        ("GAZA Strip", ["gaza", "strip"]),  # English: lower-cased
    ],
)
def test_match_tokens_normalise(text: str, tokens: list[str]) -> None:
    assert match_tokens(text) == tokens


def test_english_plurals_meet_their_singulars() -> None:
    assert match_tokens("talks countries taxes churches") == ["talk", "country", "tax", "church"]
    # not plurals: kept whole, so "news" never matches "new"
    assert match_tokens("news bus Paris glass famous US") == [
        "news",
        "bus",
        "paris",
        "glass",
        "famous",
        "us",
    ]


def test_query_terms_drop_stopwords_but_never_everything() -> None:
    assert query_terms("When is the meeting?") == ["meeting"]
    assert query_terms("What weapons concerns does the US have?") == ["weapon", "concern", "us"]
    assert query_terms("متى سيعقد الاجتماع؟") == ["سيعقد", "اجتماع"]
    # The one-letter prefix rule can guess wrong: a question asks for both forms.
    assert set(query_terms("وزارة")) == {"زاره", "وزاره"}
    assert set(query_terms("الوزارة")) == {"وزاره", "زاره"}
    assert query_terms("What is it?") == ["what", "is", "it"]  # only stopwords: keep them
    assert query_terms("the war, the war") == ["war"]


# --- lexical channel ---------------------------------------------------------------------------


def _manifest(tmp_path: Path, texts: dict[str, str]) -> Manifest:
    manifest = Manifest(tmp_path / "m.sqlite3")
    for cid, text in texts.items():
        manifest.db.execute(
            "INSERT INTO chunks_fts (tokens, chunk_id) VALUES (?, ?)",
            (" ".join(match_tokens(text)), cid),
        )
    return manifest


def test_lexical_matches_across_spelling_variants_and_digits(tmp_path: Path) -> None:
    manifest = _manifest(
        tmp_path,
        {
            "gaza": "وتقول وزارة الصحة في غزة إن عدد القتلى وصل إلى 43972 شخصا.",
            "meeting": "سيجتمع المسؤولون في أوائل كانون الأول لبحث الأسلحة.",
            "other": "The museum opens at nine in the morning.",
        },
    )
    ranked = manifest.lexical("كم عدد القَتْلى في غزّة؟", 10)
    assert ranked[0][0] == "gaza" and ranked[0][1] > 0
    assert [cid for cid, _ in manifest.lexical("the toll was ٤٣٩٧٢", 10)] == ["gaza"]
    assert manifest.lexical("?!", 10) == []
    # "وزارة" alone loses its و to the prefix rule, "الوزارة" keeps it; they still match.
    assert [cid for cid, _ in manifest.lexical("الوزارة", 10)] == ["gaza"]
    manifest.close()


def test_lexical_leaves_out_terms_most_chunks_contain(tmp_path: Path) -> None:
    n = COMMON_TERM_MIN * 3
    texts = {f"c{i}": f"report number {i} from the city" for i in range(n)}
    texts["rare"] = "report about the harbour"
    manifest = _manifest(tmp_path, texts)
    assert manifest._selective(["report", "harbour"]) == ["harbour"]
    assert [cid for cid, _ in manifest.lexical("report harbour", 5)] == ["rare"]
    # When every term is common, the rarest are still asked.
    assert manifest._selective(["report", "city"]) == ["city", "report"]
    manifest.close()


def test_an_older_lexical_index_is_retokenised_on_open(tmp_path: Path) -> None:
    manifest = Manifest(tmp_path / "m.sqlite3")
    manifest.db.execute("INSERT INTO articles (id, title) VALUES ('a', 'Talks')")
    manifest.db.execute("INSERT INTO chunks (id, article_id, text) VALUES ('c', 'a', 'weapons')")
    # as an older version wrote it: no plural rule
    manifest.db.execute("INSERT INTO chunks_fts (tokens, chunk_id) VALUES ('talks weapons', 'c')")
    manifest.set_meta("lexical_version", "1")
    manifest.close()
    manifest = Manifest(tmp_path / "m.sqlite3")
    assert manifest.db.execute("SELECT tokens FROM chunks_fts").fetchall() == [("talk weapon",)]
    assert [cid for cid, _ in manifest.lexical("weapon talks", 5)] == ["c"]
    manifest.close()


# --- fusion ------------------------------------------------------------------------------------


def test_fusion_is_a_weighted_sum_with_normalised_bm25() -> None:
    w = Weights(dense=0.5, sentence=0.5, lexical=0.1)
    fused = fuse({"a": 0.8, "b": 0.9}, {"a": 0.9, "b": 0.8}, {"a": 10.0, "c": 5.0}, w)
    assert fused["a"] == pytest.approx(0.5 * 0.8 + 0.5 * 0.9 + 0.1 * 1.0)
    assert fused["b"] == pytest.approx(0.85)
    assert fused["c"] == pytest.approx(0.1 * 0.5)  # found by BM25 alone
    assert max(fused, key=fused.__getitem__) == "a"
    assert fuse({}, {}, {}, w) == {}


def test_weights_for_ablations() -> None:
    assert Weights.only(["dense"]) == Weights(
        dense=Weights().dense, sentence=0.0, lexical=0.0, names=0.0, foreign=0.0, foreign_ar=0.0
    )
    with pytest.raises(ValueError, match="channels are"):
        Weights.only(["vectors"])


# --- refusals on the sample article --------------------------------------------------------------


def _questions(name: str) -> list[dict[str, object]]:
    lines = (BENCH / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _chunk(cid: str, text: str, language: str) -> StoredChunk:
    return StoredChunk(
        id=cid, article_id=cid, ordinal=0, text=text, sentences=((0, len(text)),),
        sent_vecs=np.zeros((0, 0), dtype=np.float32), title=None, source=None, url=None,
        published=None, language=language, path=None,
    )  # fmt: skip


def test_the_foreign_script_bonus_gives_way_to_a_passage_that_shares_the_question_words() -> None:
    question = "Which rocket carried the satellite into orbit?"  # rocket, carried, satellite, orbit
    chunks = {
        "ar": _chunk("ar", "أطلقت الصين القمر الاصطناعي على متن الصاروخ.", "ar"),
        "en1": _chunk("en1", "The satellite reached its orbit.", "en"),  # 2 of the 4 words
        "en2": _chunk("en2", "A rocket carried the satellite into orbit on Friday.", "en"),  # all
    }
    fused = {"ar": 0.3, "en1": 0.2, "en2": 0.1}
    assert _covered(question, chunks, fused, ["en1", "en2"]) == 1.0
    assert _covered(question, chunks, fused, ["en1"]) == 0.5
    assert _covered(question, chunks, fused, []) == 0.0
    w = Weights()
    assert _foreign_share(w, 0.5) == 1.0  # the bias is corrected in full
    assert _foreign_share(w, 1.0) == 0.0  # a passage of the question's language holds every word
    assert _foreign_share(w, (w.foreign_from + w.foreign_to) / 2) == pytest.approx(0.5)


def test_golden_questions_are_answered_from_the_sample_article(sample_settings: Settings) -> None:
    answerer = Answerer(sample_settings)
    refused = [
        q["question"]
        for q in _questions("golden.jsonl")
        if answerer.answer(str(q["question"])).refused
    ]
    assert refused == []


def test_offtopic_questions_are_refused(sample_settings: Settings) -> None:
    answerer = Answerer(sample_settings)
    questions = [str(q["question"]) for q in _questions("offtopic.jsonl")]
    answered = [q for q in questions if not answerer.answer(q).refused]
    # Measured: 5 of 61 answered (8%; news-like questions on other stories). The goal is 5%;
    # this guards against getting worse (docs/RETRIEVAL.md).
    assert len(answered) <= len(questions) * 0.10, answered
    answer = answerer.answer("How do I bake sourdough bread?")
    assert answer.refused and answer.text == REFUSAL


def test_search_returns_the_same_first_passages_for_any_k(sample_settings: Settings) -> None:
    retriever = Retriever(sample_settings)
    few = retriever.search("Who is the State Department spokesman?", k=3)
    many = retriever.search("Who is the State Department spokesman?", k=20)
    assert [p.chunk.id for p in few.passages] == [p.chunk.id for p in many.passages[:3]]
    assert [p.chunk.id for p in many.top(3).passages] == [p.chunk.id for p in few.passages]
