"""Incremental reindex: diff by content hash, embed only what changed, never lose the old index.

A file whose bytes are unchanged since the last run is not even parsed; an article whose content
hash is unchanged is not embedded. Nothing heavy (llama-index, chromadb, the model) is imported
unless there is something to write, so a no-op reindex costs a stat and a hash per file.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from index import dedupe
from index.articles import Article, Skipped, find_files, load_file
from index.settings import Settings
from index.sources import RemoteSpec, is_url, read_sources
from index.store import Embedded, Manifest, Vectors, background_vectors

if TYPE_CHECKING:
    from index.feeds import Remote

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
    found = [(root, find_files([root])) for root in roots]  # raises SourceError first

    manifest = Manifest(settings.manifest_path, create=True)
    try:
        interrupted = manifest.get_meta("dirty") == "1"
        known = manifest.article_hashes()
        seen: set[str] = set()
        work: list[_Work] = []
        file_updates: list[tuple[str, str, str, list[str]]] = []
        forgotten: list[tuple[str, list[str]]] = []
        max_bytes = int(settings.max_file_mb * 1_000_000)

        for root, files in found:
            root_id = str(root.resolve())
            previous = manifest.file_hashes(root_id)
            report.skipped.extend(files.skipped)
            present = set()
            for src in files.files:
                present.add(src.key)
                try:
                    raw_hash = src.raw_hash()
                except OSError:
                    raw_hash = ""  # load_file reports why it cannot be read
                before = previous.get(src.key)
                if (
                    not full
                    and before
                    and before[0] == raw_hash
                    and all(a in known for a in before[1])
                ):
                    seen.update(before[1])
                    report.unchanged += len(before[1])
                    continue
                loaded = load_file(src, max_bytes)
                report.skipped.extend(loaded.skipped)
                # Nothing usable, only problems (unreadable, malformed, every record bad):
                # keep the last good version of this file answering until it is fixed.
                whole_file_failed = not loaded.articles and bool(loaded.skipped)
                if whole_file_failed and before:
                    seen.update(before[1])
                    continue
                ids = []
                for article in loaded.articles:
                    if article.id in seen:
                        report.skipped.append(
                            Skipped(article.path or src.key, f"duplicate article id {article.id!r}")
                        )
                        continue
                    seen.add(article.id)
                    ids.append(article.id)
                    if not full and known.get(article.id) == article.content_hash:
                        report.unchanged += 1
                        manifest.move_article(article.id, root_id, src.key)
                    else:
                        work.append(_Work(article, root_id, src.key, article.id not in known))
                if not loaded.skipped:
                    # A file with skipped parts is read again next time, so its problems keep
                    # being reported (and --strict keeps failing) until it is fixed.
                    file_updates.append((root_id, src.key, raw_hash, ids))
            gone = [k for k in previous if k not in present]
            if gone:
                forgotten.append((root_id, gone))

        remotes: list[tuple[Remote, bool]] = []
        if remote_specs:
            from index.feeds import RemoteReader  # httpx and feedparser only when needed

            with RemoteReader(settings, manifest, full) as reader:
                for spec in remote_specs:
                    remote = reader.read(spec)
                    clean = _take_remote(remote, manifest, known, seen, work, file_updates, full)
                    report.skipped.extend(remote.skipped)
                    report.unchanged += remote.unchanged
                    remotes.append((remote, clean))

        removed = sorted(
            {a for root, _ in found for a in manifest.articles_under(str(root.resolve()))} - seen
        )
        needs_sweep = interrupted or full
        if work or removed or needs_sweep:
            manifest.set_meta("dirty", "1")
            vectors = Vectors(settings)
            if work:
                _write(settings, manifest, vectors, work, report, progress)
            if removed:
                old = manifest.chunk_ids_of(removed)
                manifest.delete_articles(removed)
                vectors.delete([c for ids in old.values() for c in ids])
                report.removed = len(removed)
            if needs_sweep:
                orphans = vectors.all_ids() - manifest.all_chunk_ids()
                if orphans:
                    logger.info("removing %d orphan chunks left by an earlier run", len(orphans))
                    vectors.delete(sorted(orphans))
        for root_id, key, raw_hash, ids in file_updates:
            manifest.set_file(root_id, key, raw_hash, ids)
        for root_id, keys in forgotten:
            manifest.forget_files(root_id, keys)
        for remote, clean in remotes:
            # Validators are kept only when every item was read: a 304 must not hide an entry
            # whose page failed this time.
            manifest.set_meta(remote.meta_key, json.dumps(remote.validators) if clean else "")
        if work or removed or needs_sweep:
            dedupe.recluster(manifest.db)
        manifest.set_meta("dirty", "0")
        manifest.set_meta("last_reindex", str(time.time()))
    finally:
        manifest.close()
    report.seconds = time.perf_counter() - started
    logger.info(
        "reindex: %d added, %d updated, %d removed, %d unchanged, %d skipped, %d chunks, %.2fs",
        report.added, report.updated, report.removed, report.unchanged, len(report.skipped),
        report.chunks, report.seconds,
    )  # fmt: skip
    return report


def _take_remote(
    remote: Remote,
    manifest: Manifest,
    known: dict[str, str],
    seen: set[str],
    work: list[_Work],
    file_updates: list[tuple[str, str, str, list[str]]],
    full: bool,
) -> bool:
    """Queue a feed's or page's new and changed articles; False when any item failed."""
    previous = manifest.file_hashes(remote.root)
    if remote.not_modified:
        remote.unchanged = sum(len(ids) for _, ids in previous.values())
        return True
    clean = not remote.skipped
    for item in remote.items:
        before = previous.get(item.key)
        if not full and before and before[0] == item.digest and all(a in known for a in before[1]):
            seen.update(before[1])
            remote.unchanged += len(before[1])
            continue
        loaded = item.load()  # fetches the page, when the feed does not carry the text
        remote.skipped.extend(loaded.skipped)
        if loaded.skipped:
            clean = False
            if not loaded.articles:
                if before:
                    seen.update(before[1])  # the last good version keeps answering
                continue
        ids = []
        for article in loaded.articles:
            if article.id in seen:  # the same article in two feeds (or twice in one)
                logger.debug("%s: already read from another source", article.id)
                continue
            seen.add(article.id)
            ids.append(article.id)
            if not full and known.get(article.id) == article.content_hash:
                remote.unchanged += 1
                manifest.move_article(article.id, remote.root, item.key)
            else:
                work.append(_Work(article, remote.root, item.key, article.id not in known))
        if not loaded.skipped:
            file_updates.append((remote.root, item.key, item.digest, ids))
    return clean


def _write(
    settings: Settings,
    manifest: Manifest,
    vectors: Vectors,
    work: list[_Work],
    report: Report,
    progress: Progress,
) -> None:
    from index.chunking import chunk_article
    from index.embedding import get_embedder

    embedder = get_embedder(settings.embed_model)
    progress.start(len(work))
    batch: list[tuple[_Work, list[Any]]] = []
    pending_chunks = 0
    for item in work:
        chunks = chunk_article(item.article, settings.chunk_tokens)
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
            _flush(manifest, vectors, embedder, batch, report, progress)
            batch, pending_chunks = [], 0
    if batch:
        _flush(manifest, vectors, embedder, batch, report, progress)
    background_vectors(manifest, embedder)  # so the first question does not pay for it
    progress.finish()


def _flush(
    manifest: Manifest,
    vectors: Vectors,
    embedder: Any,
    batch: list[tuple[_Work, list[Any]]],
    report: Report,
    progress: Progress,
) -> None:
    import numpy as np

    texts = [c.text for _, chunks in batch for c in chunks]
    chunk_vecs = embedder.passages(texts)
    sentences = [s for _, chunks in batch for c in chunks for s in c.sentence_texts()]
    sent_vecs = embedder.passages(sentences)
    embedded: list[Embedded] = []
    ci = si = 0
    for item, chunks in batch:
        per_chunk = []
        for c in chunks:
            n = len(c.sentences)
            per_chunk.append(sent_vecs[si : si + n] if n else np.zeros((0, chunk_vecs.shape[1])))
            si += n
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
    dedupe.record(manifest.db, [(e.article.id, e.article.text) for e in embedded])
    new_ids = {c.id for e in embedded for c in e.chunks}
    vectors.delete([c for cs in old.values() for c in cs if c not in new_ids])
    for item, chunks in batch:
        if item.is_new:
            report.added += 1
        else:
            report.updated += 1
        report.chunks += len(chunks)
    progress.advance(len(batch), len(texts))
