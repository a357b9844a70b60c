"""Watching the feeds: poll them, index new or changed articles, wait, and again.

Each poll is an incremental reindex of the feeds only (``index.reindex.reindex`` with
``RemoteSpec``s): feeds are fetched with conditional requests (ETag / Last-Modified), an entry
whose feed item is unchanged is not fetched again, and only new or changed articles are
embedded. A failed poll (store unreachable, every feed down) is logged and retried next time.
Nothing here prints: each poll's Report goes to an ``on_report`` callback (``newsbot watch``, in
bot/cli.py, prints it).

For the Telegram bot (or any long-running process)::

    from bot.watch import start_background_watch
    watcher = start_background_watch(settings)   # a daemon thread; polls every watch_minutes
    ...
    watcher.stop()                                # returns once the current poll has finished

Run it when ``settings.telegram_watch`` is true. The watcher writes to the same index that the
bot reads: SQLite (WAL) and Chroma allow that, and a reader sees each article wholly old or new.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from index.errors import ConfigError, NewsbotError
from index.reindex import Report, reindex
from index.settings import Settings
from index.sources import RemoteSpec, is_url, read_sources

logger = logging.getLogger(__name__)

OnReport = Callable[[Report], None]


def watched(settings: Settings, sources: Sequence[str] | None = None) -> list[RemoteSpec]:
    """What a poll reads: the given URLs or feed files, else the sources file's feeds and pages.

    Raises ConfigError when there is nothing to watch.
    """
    if sources:
        return [RemoteSpec(s, "auto" if is_url(s) else "feed") for s in sources]
    specs = read_sources(settings.sources_file)
    if not specs:
        raise ConfigError(
            f"no feeds to watch: add [[feed]] entries to {settings.sources_file} "
            "(NEWSBOT_SOURCES_FILE) or pass feed URLs"
        )
    return specs


def poll(settings: Settings, specs: Sequence[RemoteSpec]) -> Report:
    """One poll: an incremental reindex of the feeds and pages."""
    return reindex(settings, list(specs))


class Watcher:
    """Polls every ``settings.watch_minutes`` until stopped; in a thread or in the caller's."""

    def __init__(
        self,
        settings: Settings,
        specs: Sequence[RemoteSpec],
        on_report: OnReport | None = None,
    ) -> None:
        self.settings = settings
        self.specs = list(specs)
        self.on_report = on_report
        self.polls = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run(self, once: bool = False) -> None:
        """Poll until ``stop()`` (or once); never raises for a failed poll."""
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                report = poll(self.settings, self.specs)
            except NewsbotError as exc:
                self.last_error = exc.user_message
                logger.warning("watch: poll failed: %s", exc.user_message)
            else:
                self.last_error = None
                if self.on_report:
                    self.on_report(report)
            self.polls += 1
            if once:
                return
            wait = self.settings.watch_minutes * 60 - (time.monotonic() - started)
            self._stop.wait(max(wait, 0.0))

    def start(self) -> Watcher:
        """Run in a daemon thread."""
        self._thread = threading.Thread(target=self._run_logged, name="newsbot-watch", daemon=True)
        self._thread.start()
        return self

    def _run_logged(self) -> None:
        try:
            self.run()
        except Exception:  # a bug: log it rather than let a background thread die silently
            logger.exception("watch: stopped by an unexpected error")

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the current poll; wait up to ``timeout`` seconds for it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def start_background_watch(
    settings: Settings, on_report: OnReport | None = None, sources: Sequence[str] | None = None
) -> Watcher:
    """Poll the feeds in a daemon thread every ``settings.watch_minutes``; call ``.stop()``."""
    return Watcher(settings, watched(settings, sources), on_report).start()
