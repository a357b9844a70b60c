"""index.chunking: chunks are exact slices of the article, within the token budget, with
sentence spans that index into the chunk; the tiktoken encoding comes from local files."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.articles import Article
from index.chunking import Chunk, chunk_article, count_tokens, encoding, ensure_tiktoken_cache
from index.text import sentence_spans

DECEMBER = "أوائل كانون الأول/ديسمبر"


def check_chunks(article: Article, chunks: list[Chunk], chunk_tokens: int) -> None:
    """The invariants every chunking must keep."""
    assert chunks, "an article with text gives at least one chunk"
    last_end = 0
    for ordinal, chunk in enumerate(chunks):
        assert chunk.ordinal == ordinal
        assert chunk.article_id == article.id
        assert article.text[chunk.start : chunk.end] == chunk.text
        assert chunk.start >= last_end, "chunks are in order and do not overlap"
        assert chunk.text == chunk.text.strip()
        assert count_tokens(chunk.text) <= chunk_tokens
        assert chunk.sentences, "every chunk has a sentence"
        previous = 0
        for a, b in chunk.sentences:
            assert previous <= a < b <= len(chunk.text)
            previous = b
        last_end = chunk.end
    # nothing is lost: only white space lies between chunks
    kept = "".join(c.text for c in chunks)
    assert re.sub(r"\s", "", kept) == re.sub(r"\s", "", article.text)


@pytest.mark.parametrize("chunk_tokens", [32, 64, 200, 480])
def test_sample_chunks_keep_the_invariants(sample_article, chunk_tokens):
    check_chunks(sample_article, chunk_article(sample_article, chunk_tokens), chunk_tokens)


def test_sample_default_chunks(sample_article):
    chunks = chunk_article(sample_article, 200)
    assert len(chunks) == 4
    # paragraphs are not cut: each chunk ends at the end of a sentence
    assert all(c.text.endswith((".", "”.")) for c in chunks)


@pytest.mark.parametrize("chunk_tokens", [100, 200, 480])
def test_december_sentence_is_one_whole_span(sample_article, chunk_tokens):
    first_sentence = sample_article.text.split("\n")[0]
    assert DECEMBER in first_sentence and first_sentence.endswith("في غزة.")
    spans = [s for c in chunk_article(sample_article, chunk_tokens) for s in c.sentence_texts()]
    assert first_sentence in spans


def test_sentence_spans_are_the_sentences_of_the_chunk(sample_article):
    for chunk in chunk_article(sample_article, 200):
        assert list(chunk.sentences) == sentence_spans(chunk.text)
        assert "،" not in [t[-1] for t in chunk.sentence_texts()]


def test_chunk_ids_are_stable_and_follow_the_content(sample_article):
    ids = [c.id for c in chunk_article(sample_article, 200)]
    assert ids == [c.id for c in chunk_article(sample_article, 200)]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith(sample_article.id + ":") for i in ids)
    edited = Article(id=sample_article.id, text=sample_article.text + "\n\nجملة جديدة.")
    assert not set(ids) & {c.id for c in chunk_article(edited, 200)}


def test_empty_article_gives_no_chunks():
    assert chunk_article(Article(id="e", text=""), 200) == []


def test_long_sentence_with_repeated_commas_stays_a_slice():
    """A sentence longer than a chunk is cut at commas; ",," once dropped a comma."""
    words = " ".join(f"word{i}" for i in range(60))
    article = Article(id="c", text=f"{words},, {words}، ،{words}.")
    check_chunks(article, chunk_article(article, 32), 32)


def test_long_sentence_cut_at_words_stays_within_budget():
    """llama-index sums token counts of the parts it joins; BPE can count the join higher."""
    text = (
        "أشخاص، وإسرائيليين أسفر القانون واتهموا فقط أو الدفاع أو حيث سيجتمعون هذه مخاوف الهجمات "
        "الحرب قررت ذلك، أعضاء ذلك، الأسلحة عدم هذا المستمرة"
    )
    article = Article(id="w", text=text)
    check_chunks(article, chunk_article(article, 32), 32)


_WORDS = (
    Path(__file__).resolve().parents[1] / "data" / "articles" / "000_df79775a9f276dd4.txt"
).read_text("utf-8").split() + (
    "The U.S. envoy Mr. Smith said on Tuesday that talks, which began in 2023, would resume; "
    "officials disagreed. Why? Nobody knows! ، ؛ ؟ ۔ ,, \n\n \n"
).split(" ")


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(st.sampled_from(_WORDS), min_size=1, max_size=150),
    chunk_tokens=st.sampled_from([32, 48, 64, 200]),
)
def test_chunk_invariants_hold_for_any_news_like_text(words, chunk_tokens):
    text = " ".join(words).strip()
    if not text:
        return
    article = Article(id="h", text=text)
    check_chunks(article, chunk_article(article, chunk_tokens), chunk_tokens)


# --- tiktoken from local files -----------------------------------------------------------------


def test_ensure_tiktoken_cache_points_at_llama_index_files(monkeypatch):
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    ensure_tiktoken_cache()
    cache = Path(os.environ["TIKTOKEN_CACHE_DIR"])
    assert cache.parts[-2:] == ("_static", "tiktoken_cache")
    assert len(list(cache.iterdir())) >= 2  # o200k_base and cl100k_base files


def test_ensure_tiktoken_cache_keeps_a_users_choice(monkeypatch, tmp_path):
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    ensure_tiktoken_cache()
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(tmp_path)


def test_token_counts_are_o200k():
    assert encoding().name == "o200k_base"
    assert count_tokens("") == 0
    assert count_tokens("<|endoftext|>") > 1  # special tokens are counted as text
    assert count_tokens("كانون الأول") < count_tokens("كانون الأول ديسمبر")
