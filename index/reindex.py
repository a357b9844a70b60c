"""Incremental reindex: diff by content hash, embed only what changed, never lose the old index.

A file (or a feed's item) whose bytes are unchanged since the last run is not even parsed; an
article whose content hash is unchanged is not embedded. Local files and remote items go through
one change-detection loop (``_Changes.take``). Nothing heavy (llama-index, chromadb, the model,
httpx) is imported unless there is something to fetch or write, so a no-op reindex costs a stat
and a hash per file.

``ensure_index`` is the "build the index on first ask" policy every face (CLI, Telegram) shares.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.articles import Article, Loaded, Skipped, SourceFile, find_files, load_file
from index.cache import SEEN, open_index, sync
from index.chunking import Chunk, Embedded, chunk_article
from index.embedding import Embedder, calls_at_once, embed_chunks, get_embedder
from index.errors import ManifestDamaged, NewsbotError, StoreReadOnly
from index.manifest import Manifest, background_vectors, storage_errors
from index.remote import Remote, RemoteReader
from index.settings import Settings
from index.sources import RemoteSpec, is_url, read_sources
from index.store import ServerIndex, Vectors, lease_owner_id

logger = logging.getLogger(__name__)

# Chunks embedded and written together: a batch is the unit a kill can lose.
WRITE_BATCH_CHUNKS = 32


class Progress(Protocol):
    def start(self, articles: int) -> None: ...

    def advance(self, articles: int, chunks: int) -> None: ...

    def finish(self) -> None: ...


class NoProgress:
    def start(self, articles: int) -> None:
        pass

    def advance(self, articles: int, chunks: int) -> None:
        pass

    def finish(self) -> None:
        pass


@dataclass
class Report:
    """What a reindex did; ``chunks`` counts the chunks embedded by this run."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["skipped"] = [{"path": s.path, "reason": s.reason} for s in self.skipped]
        out["seconds"] = round(self.seconds, 3)
        return out


@dataclass
class _Work:
    article: Article
    root: str
    file_key: str
    is_new: bool


class _Item(Protocol):
    """One unit of change detection: a local file, or one article a feed or page offers."""

    @property
    def key(self) -> str: ...

    @property
    def digest(self) -> str: ...

    @property
    def load(self) -> Callable[[], Loaded]: ...


@dataclass(frozen=True)
class _FileItem:
    key: str
    digest: str
    load: Callable[[], Loaded]


def _file_items(files: Sequence[SourceFile], max_bytes: int) -> Iterator[_FileItem]:
    for src in files:
        try:
            raw_hash = src.raw_hash()
        except OSError:
            raw_hash = ""  # load_file reports why it cannot be read
        yield _FileItem(src.key, raw_hash, partial(load_file, src, max_bytes))


class _Changes:
    """What a run has to write, gathered source by source through one change-detection loop."""

    def __init__(self, manifest: Manifest, report: Report, full: bool) -> None:
        self.manifest = manifest
        self.report = report
        self.full = full
        self.known = manifest.article_hashes()
        self.seen: set[str] = set()
        self.work: list[_Work] = []
        self.file_updates: list[tuple[str, str, str, list[str]]] = []

    def take(
        self,
        root: str,
        items: Iterable[_Item],
        previous: dict[str, tuple[str, list[str]]],
        report_duplicates: bool,
    ) -> bool:
        """Queue the new and changed articles of one source's items; False when any item had
        a problem. ``previous`` is the manifest's ``file_hashes(root)``."""
        clean = True
        for item in items:
            before = previous.get(item.key)
            if (
                not self.full
                and before
                and before[0] == item.digest
                and all(a in self.known for a in before[1])
            ):
                self.seen.update(before[1])
                self.report.unchanged += len(before[1])
                continue
            loaded = item.load()  # a remote item fetches its page here, when the feed lacks it
            self.report.skipped.extend(loaded.skipped)
            if loaded.skipped:
                clean = False
                if not loaded.articles:
                    # Nothing usable, only problems (unreadable, malformed, every record bad):
                    # keep the last good version of this item answering until it is fixed.
                    if before:
                        self.seen.update(before[1])
                    continue
            ids = []
            for article in loaded.articles:
                if article.id in self.seen:
                    if report_duplicates:
                        self.report.skipped.append(
                            Skipped(
                                article.path or item.key, f"duplicate article id {article.id!r}"
                            )
                        )
                    else:  # the same article in two feeds (or twice in one): not a problem
                        logger.debug("%s: already read from another source", article.id)
                    continue
                self.seen.add(article.id)
                ids.append(article.id)
                if not self.full and self.known.get(article.id) == article.content_hash:
                    self.report.unchanged += 1
                    self.manifest.move_article(article.id, root, item.key)
                else:
                    self.work.append(_Work(article, root, item.key, article.id not in self.known))
            if not loaded.skipped:
                # An item with skipped parts is read again next time, so its problems keep
                # being reported (and --strict keeps failing) until it is fixed.
                self.file_updates.append((root, item.key, item.digest, ids))
        return clean


def split_sources(
    settings: Settings, paths: Sequence[Path | str | RemoteSpec] | None
) -> tuple[list[Path], list[RemoteSpec]]:
    """Local roots and remote sources; none given = the articles dir and the sources file."""
    if not paths:
        return [settings.articles_dir], read_sources(settings.sources_file)
    local: list[Path] = []
    remote: list[RemoteSpec] = []
    for p in paths:
        if isinstance(p, RemoteSpec):
            remote.append(p)
        elif isinstance(p, str) and is_url(p):
            remote.append(RemoteSpec(p))
        else:
            local.append(Path(p))
    return local, remote


def reindex(
    settings: Settings,
    paths: Sequence[Path | str | RemoteSpec] | None = None,
    full: bool = False,
    progress: Progress | None = None,
) -> Report:
    """Bring the index in line with the sources (default: the articles dir and sources file).

    ``paths`` may mix folders and files with feed or page URLs (and ``RemoteSpec``s). Articles
    of a feed stay indexed when they drop out of the feed: feeds list only their latest items.
    """
    started = time.perf_counter()
    progress = progress or NoProgress()
    report = Report()
    roots, remote_specs = split_sources(settings, paths)
    follow = settings.follow_symlinks
    found = [(root, find_files([root], follow)) for root in roots]  # raises SourceError first

    manifest = _open_for_writing(settings)
    held: list[_Publisher] = []  # the server-mode lease, to give back however the run ends
    try:
        with storage_errors(settings.manifest_path):
            _reindex(settings, manifest, found, remote_specs, full, report, progress, held)
    finally:
        for publisher in held:
            with contextlib.suppress(NewsbotError):
                publisher.server.release(publisher.owner)
        manifest.close()
    report.seconds = time.perf_counter() - started
    logger.info(
        "reindex: %d added, %d updated, %d removed, %d unchanged, %d skipped, %d chunks, %.2fs",
        report.added, report.updated, report.removed, report.unchanged, len(report.skipped),
        report.chunks, report.seconds,
    )  # fmt: skip
    return report


def _open_for_writing(settings: Settings) -> Manifest:
    """The manifest; a damaged one is reported, moved aside and rebuilt (server mode: from the
    server; embedded: from the sources, the vectors whose ids come back being kept)."""
    try:
        manifest = Manifest(settings.manifest_path, create=True)
    except ManifestDamaged as exc:
        logger.warning("%s", exc.user_message)
        manifest = Manifest(settings.manifest_path, create=True)
        manifest.set_meta("dirty", "1")  # sweep what the lost manifest listed
    if manifest.read_only:
        manifest.close()
        raise StoreReadOnly(
            f"the index at {settings.manifest_path.parent} cannot be written; questions are "
            "still answered from it, but a reindex needs a writable store folder"
        )
    return manifest


class _Publisher:
    """Server mode's writes: each batch stamped with the next generation, then published."""

    def __init__(self, server: ServerIndex, owner: str, generation: int) -> None:
        self.server = server
        self.owner = owner
        self.generation = generation

    def upsert(self, items: Sequence[Embedded]) -> None:
        if not items:
            return
        # Still ours? (A run stalled past its lease must not write under another's.)
        self.server.publish(self.generation, self.owner)
        self.generation += 1
        self.server.vectors.upsert(items, generation=self.generation)
        self.server.publish(self.generation, self.owner)

    def delete(self, ids: Sequence[str]) -> None:
        if not ids:
            return
        self.server.vectors.delete(ids)
        self.generation += 1  # readers see the deletion at their next look
        self.server.publish(self.generation, self.owner)


def _chroma_marker(settings: Settings) -> str:
    """Embedded mode: which Chroma database file the manifest was last written beside (its
    inode), so a no-op reindex notices, without importing chromadb, that it was deleted or
    replaced and checks every id."""
    try:
        st = (settings.store_dir / "chroma.sqlite3").stat()
    except OSError:
        return "none"
    return f"{st.st_dev}:{st.st_ino}"


def _repair(manifest: Manifest, vectors: Vectors) -> set[str]:
    """Drop from the manifest the articles whose vectors are missing (so this run embeds
    them again from their sources); return the ids of Chroma's orphans."""
    stored = vectors.all_ids()
    listed = manifest.all_chunk_ids()
    lost = sorted(manifest.articles_of_chunks(sorted(listed - stored)))
    if lost:
        logger.warning("%d articles had lost their vectors: embedding them again", len(lost))
        manifest.delete_articles(lost)
    return stored - manifest.all_chunk_ids()


def _reindex(
    settings: Settings,
    manifest: Manifest,
    found: list[tuple[Path, Any]],
    remote_specs: list[RemoteSpec],
    full: bool,
    report: Report,
    progress: Progress,
    held: list[_Publisher],
) -> None:
    publisher: _Publisher | None = None
    orphans: set[str] = set()
    repair_next = False
    if settings.chroma_url:
        server = ServerIndex(Vectors(settings))
        owner = lease_owner_id()
        state = server.acquire(owner)
        publisher = _Publisher(server, owner, state.generation)
        held.append(publisher)
        synced = sync(manifest, server, scan=True)  # the cache as the server has it
        orphans = synced.unknown  # unpublished, superseded or half-written by a killed run
        interrupted = bool(orphans)
    else:
        marker = _chroma_marker(settings)
        changed = manifest.counts()[1] > 0 and manifest.get_meta("chroma_file") != marker
        # dirty: a run was interrupted; repair: `newsbot status` or `check` found a difference
        flagged = manifest.get_meta("dirty") == "1" or manifest.get_meta("repair") == "1"
        interrupted = flagged or changed
        if interrupted or full:
            orphans = _repair(manifest, Vectors(settings))
    changes = _Changes(manifest, report, full)
    forgotten: list[tuple[str, list[str]]] = []
    max_bytes = int(settings.max_file_mb * 1_000_000)

    for root, files in found:
        root_id = str(root.resolve())
        previous = manifest.file_hashes(root_id)
        report.skipped.extend(files.skipped)
        items = _file_items(files.files, max_bytes)
        changes.take(root_id, items, previous, report_duplicates=True)
        present = {src.key for src in files.files}
        gone = [k for k in previous if k not in present]
        if gone:
            forgotten.append((root_id, gone))

    remotes: list[tuple[Remote, bool]] = []
    if remote_specs:
        with RemoteReader(settings, full) as reader:  # imports httpx on first fetch
            for spec in remote_specs:
                validators = None  # the ETag / Last-Modified saved by the last clean read
                if not full and is_url(spec.url):
                    stored = manifest.get_meta(Remote(spec).meta_key)
                    validators = json.loads(stored) if stored else None
                remote = reader.read(spec, validators)
                report.skipped.extend(remote.skipped)
                previous = manifest.file_hashes(remote.root)
                if remote.not_modified:
                    report.unchanged += sum(len(ids) for _, ids in previous.values())
                    clean = True
                else:
                    taken = changes.take(
                        remote.root, remote.items, previous, report_duplicates=False
                    )
                    clean = taken and not remote.skipped
                remotes.append((remote, clean))

    removed = sorted(
        {a for root, _ in found for a in manifest.articles_under(str(root.resolve()))}
        - changes.seen
    )
    work = changes.work
    needs_sweep = interrupted or full
    if work or removed or needs_sweep:
        manifest.set_meta("dirty", "1")
        vectors: _Sink = publisher or Vectors(settings)
        if orphans:
            # Only ids of this index's own collection, never listed by its manifest (or
            # by any published article, in server mode): another index is another
            # collection, and its vectors are never looked at.
            logger.info("removing %d orphan chunks left by an earlier run", len(orphans))
            vectors.delete(sorted(orphans))
        if work:
            _write(settings, manifest, vectors, work, report, progress)
        if removed:
            old = manifest.chunk_ids_of(removed)
            manifest.delete_articles(removed)
            vectors.delete([c for ids in old.values() for c in ids])
            report.removed = len(removed)
        if publisher is None:
            Vectors(settings).settle()  # the next cold `ask` replays nothing (store.py)
        if publisher is None and Vectors(settings).count() != manifest.counts()[1]:
            # After this run's writes the counts should agree: if not, something else went
            # wrong (vectors lost meanwhile), and the next run checks every id.
            manifest.set_meta("repair", "1")
            repair_next = True
    for root_id, key, raw_hash, ids in changes.file_updates:
        manifest.set_file(root_id, key, raw_hash, ids)
    for root_id, keys in forgotten:
        manifest.forget_files(root_id, keys)
    for remote, clean in remotes:
        # Validators are kept only when every item was read: a 304 must not hide an entry
        # whose page failed this time.
        manifest.set_meta(remote.meta_key, json.dumps(remote.validators) if clean else "")
    if manifest.get_meta("centroids_pending") == "1":
        _fill_centroids(manifest, Vectors(settings))
    if work or removed or needs_sweep:
        manifest.recluster()
    if publisher is not None:
        manifest.set_meta(SEEN, str(publisher.generation))
    elif work or removed or needs_sweep or manifest.get_meta("chroma_file") is None:
        manifest.set_meta("chroma_file", _chroma_marker(settings))
    if not repair_next:
        manifest.set_meta("repair", "0")
    manifest.set_meta("dirty", "0")
    manifest.set_meta("last_reindex", str(time.time()))


class _Sink(Protocol):
    """Where a batch's vectors go: Chroma (embedded), or the server through a _Publisher."""

    def upsert(self, items: Sequence[Embedded]) -> None: ...

    def delete(self, ids: Sequence[str]) -> None: ...


def _fill_centroids(manifest: Manifest, vectors: Vectors) -> None:
    """Give articles indexed before the per-language centroids existed their vector sums."""
    missing = manifest.articles_without_sums()
    ids = [c for cs in missing.values() for c in cs]
    found: dict[str, np.ndarray] = {}
    for i in range(0, len(ids), 1000):
        found.update(vectors.embeddings(ids[i : i + 1000]))
    filled = manifest.fill_centroids(found)
    logger.info("centroids: vector sums of %d older articles filled in", filled)
    if filled == len(missing):
        manifest.set_meta("centroids_pending", "0")


def _batches(
    work: list[_Work], embedder: Embedder, chunk_tokens: int, report: Report
) -> Iterator[list[tuple[_Work, list[Chunk]]]]:
    """The articles of ``work`` chunked, in batches of about WRITE_BATCH_CHUNKS chunks."""
    batch: list[tuple[_Work, list[Chunk]]] = []
    pending_chunks = 0
    for item in work:
        chunks = chunk_article(item.article, chunk_tokens)
        if not chunks:
            report.skipped.append(Skipped(item.article.path or item.article.id, "no text to index"))
            continue
        too_long = [c for c in chunks if embedder.token_count(c.text) > embedder.max_tokens]
        if too_long:
            logger.warning(
                "%s: %d chunks exceed the model's %d-token window; lower NEWSBOT_CHUNK_TOKENS",
                item.article.id, len(too_long), embedder.max_tokens,
            )  # fmt: skip
        batch.append((item, chunks))
        pending_chunks += len(chunks)
        if pending_chunks >= WRITE_BATCH_CHUNKS:
            yield batch
            batch, pending_chunks = [], 0
    if batch:
        yield batch


_Vecs = tuple[np.ndarray, list[np.ndarray]]


def _write(
    settings: Settings,
    manifest: Manifest,
    vectors: _Sink,
    work: list[_Work],
    report: Report,
    progress: Progress,
) -> None:
    """Embed and write ``work`` batch by batch, the embedding of the next batches running
    while one is written (``calls_at_once``): embedding servers never wait for Chroma and the
    manifest. Writes stay in this thread and in order, so a kill still loses at most the
    batches not yet written, each whole."""
    embedder = get_embedder(settings.embed_model, settings.embed_url)
    progress.start(len(work))
    ahead = calls_at_once(embedder)
    batches = _batches(work, embedder, settings.chunk_tokens, report)
    if ahead == 0:
        for batch in batches:
            vecs = embed_chunks(embedder, [c for _, chunks in batch for c in chunks])
            _flush(manifest, vectors, batch, vecs, report, progress)
    else:
        pending: deque[tuple[list[tuple[_Work, list[Chunk]]], Future[_Vecs]]] = deque()
        pool = ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="newsbot-embed")
        try:
            for batch in batches:
                chunks = [c for _, cs in batch for c in cs]
                pending.append((batch, pool.submit(embed_chunks, embedder, chunks)))
                if len(pending) > ahead:
                    done, future = pending.popleft()
                    _flush(manifest, vectors, done, future.result(), report, progress)
            while pending:
                done, future = pending.popleft()
                _flush(manifest, vectors, done, future.result(), report, progress)
        finally:  # a failed batch: the ones after it are not embedded for nothing
            pool.shutdown(wait=True, cancel_futures=True)
    background_vectors(manifest, embedder)  # so the first question does not pay for it
    progress.finish()


def _flush(
    manifest: Manifest,
    vectors: _Sink,
    batch: list[tuple[_Work, list[Chunk]]],
    vecs: _Vecs,
    report: Report,
    progress: Progress,
) -> None:
    """Write one embedded batch: Chroma first, then the manifest, then the replaced chunks go."""
    chunk_vecs, sent_vecs = vecs
    embedded: list[Embedded] = []
    ci = 0
    for item, chunks in batch:
        per_chunk = sent_vecs[ci : ci + len(chunks)]
        embedded.append(
            Embedded(
                article=item.article,
                root=item.root,
                file_key=item.file_key,
                chunks=chunks,
                vectors=chunk_vecs[ci : ci + len(chunks)],
                sentence_vectors=per_chunk,
            )
        )
        ci += len(chunks)
    ids = [e.article.id for e in embedded]
    old = manifest.chunk_ids_of(ids)
    vectors.upsert(embedded)
    manifest.write_articles(embedded)
    manifest.record_sketches([(e.article.id, e.article.text) for e in embedded])
    new_ids = {c.id for e in embedded for c in e.chunks}
    vectors.delete([c for cs in old.values() for c in cs if c not in new_ids])
    for item, chunks in batch:
        if item.is_new:
            report.added += 1
        else:
            report.updated += 1
        report.chunks += len(chunks)
    progress.advance(len(batch), ci)


class EmptyIndexError(NewsbotError):
    """A first build found nothing to index; ``report`` says what was skipped, and why."""

    def __init__(self, user_message: str, report: Report) -> None:
        super().__init__(user_message)
        self.report = report


def ensure_index(
    settings: Settings,
    progress: Progress | None = None,
    announce: Callable[[str], None] | None = None,
) -> Report | None:
    """Build the index from the articles dir when none exists yet, so a first question answers.

    Returns the build's report, or None when an index already existed; ``announce`` hears the
    one sentence worth telling a person before a build starts. Raises ``NewsbotError`` when
    there is nothing to build from (``EmptyIndexError``, with the report, when every file was
    skipped).
    """
    manifest = open_index(settings)
    if manifest is not None:
        try:
            if manifest.counts()[0] > 0:
                return None
        finally:
            manifest.close()
    if not settings.articles_dir.exists():
        raise NewsbotError(
            f"there is no index yet and no articles folder at {settings.articles_dir}: "
            "add articles there (or set NEWSBOT_ARTICLES_DIR) and run `newsbot reindex`"
        )
    if announce is not None:
        announce(f"No index yet: building one from {settings.articles_dir} ...")
    report = reindex(settings, progress=progress)
    if report.added == 0 and report.unchanged == 0:
        raise EmptyIndexError(
            f"the index is empty: no readable articles in {settings.articles_dir}; add .txt, .md, "
            ".html, .json or .jsonl files there and run `newsbot reindex`",
            report,
        )
    return report
