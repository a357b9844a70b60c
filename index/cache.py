"""Opening the index for reading, and server mode's local cache of it.

Embedded mode: the manifest beside the Chroma folder is the index's other half (index/manifest.py).

Server mode (``NEWSBOT_CHROMA_URL``): the server is the index. Each chunk record holds its text,
sentence spans and vectors, its article's metadata and content hash (``store.ServerIndex``), so
the local manifest is only a cache, rebuilt from the server by any process with any folder: an
empty or damaged one is filled again on open, and a bot whose index another process changed
catches up when the generation published in the collection's metadata moves. A bot looks at
that generation at most every ``cache_check_seconds`` (one small request), just before the
reads of a question (``Manifest.refresher``); when it moved, it copies the records of the new
generations, drops the articles whose chunks left the server, and re-clusters.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from index.errors import ManifestDamaged, NewsbotError
from index.manifest import Manifest, open_manifest, storage_errors
from index.settings import Settings
from index.store import ServerIndex, Vectors

logger = logging.getLogger(__name__)

SEEN = "server_generation"
COLLECTION = "server_collection"


@dataclass
class Synced:
    """What one refresh of the cache did; ``unknown``: server ids no published article owns."""

    generation: int = 0
    written: int = 0
    dropped: int = 0
    unknown: set[str] = field(default_factory=set)
    server_ids: set[str] | None = None


def sync(manifest: Manifest, server: ServerIndex, scan: bool = False) -> Synced:
    """Bring the cache up to the server's published generation.

    ``scan``: compare all ids even when the generation has not moved (a reindex does, to find
    what an interrupted run left; ``newsbot check`` too).
    """
    state = server.state()
    out = Synced(generation=state.generation)
    if manifest.get_meta(COLLECTION) != state.collection_id:
        # A new or re-created collection, or a manifest from before the server was the index.
        if manifest.counts()[0]:
            logger.info("the local cache is of another collection: rebuilding it from the server")
        manifest.clear()
        manifest.set_meta(COLLECTION, state.collection_id)
    seen = int(manifest.get_meta(SEEN) or 0)
    if state.generation == seen and not scan:
        return out
    if state.generation != seen:
        versions = server.versions(min(seen, state.generation), state.generation)
        known = manifest.article_hashes()
        new = [v for v in versions if known.get(v.item.article.id) != v.item.article.content_hash]
        if new:
            manifest.write_articles([v.item for v in new])
            manifest.set_sketches(
                (v.item.article.id, v.sketch) for v in new if v.sketch is not None
            )
        out.written = len(new)
    out.server_ids = server.vectors.all_ids()
    listed = manifest.all_chunk_ids()
    gone = sorted(manifest.articles_of_chunks(sorted(listed - out.server_ids)))
    if gone:
        manifest.delete_articles(gone)
        out.dropped = len(gone)
    out.unknown = out.server_ids - manifest.all_chunk_ids()
    if out.written or out.dropped:
        manifest.recluster()
    manifest.set_meta(SEEN, str(state.generation))
    if out.written or out.dropped:
        logger.info(
            "cache: %d articles copied from the server, %d dropped (generation %d)",
            out.written, out.dropped, state.generation,
        )  # fmt: skip
    return out


class _Refresher:
    """Looks at the server's generation at most every ``every`` seconds; syncs when it moved."""

    def __init__(self, manifest: Manifest, server: ServerIndex, every: float) -> None:
        self.manifest = manifest
        self.server = server
        self.every = every
        self.last = time.monotonic()

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        try:
            with storage_errors(self.manifest.path):
                sync(self.manifest, self.server)
        except NewsbotError as exc:  # the server is down: answer from the cache meanwhile
            logger.debug("cache refresh skipped: %s", exc.user_message)


def open_cache(settings: Settings) -> Manifest:
    """Server mode's cache, created if missing; a damaged one is moved aside and rebuilt."""
    try:
        manifest = Manifest(settings.manifest_path, create=True)
    except ManifestDamaged as exc:
        logger.warning("%s", exc.user_message)
        manifest = Manifest(settings.manifest_path, create=True)
    return manifest


def open_index(settings: Settings) -> Manifest | None:
    """The manifest to answer from, or None when there is no index yet.

    Server mode: the local cache, brought up to date with the server (an empty folder is
    filled from it), and refreshed before later questions as ``cache_check_seconds`` allows.
    """
    if not settings.chroma_url:
        return open_manifest(settings)
    manifest = open_cache(settings)
    server = ServerIndex(Vectors(settings))
    if manifest.read_only:  # a cache nobody can refresh: answer from it as it is
        logger.warning("%s cannot be written: answering from it as it is", manifest.path)
        return manifest if manifest.counts()[0] else None
    try:
        with storage_errors(manifest.path):
            sync(manifest, server)
    except NewsbotError as exc:
        if not manifest.counts()[0]:
            manifest.close()
            raise
        logger.warning("answering from the local cache: %s", exc.user_message)
    if not manifest.counts()[0]:
        manifest.close()
        return None
    manifest.refresher = _Refresher(manifest, server, settings.cache_check_seconds)
    return manifest
