"""What the index holds and where: the facts behind `newsbot status`, `newsbot check` and
Telegram's /status.

The wording for people lives with each face (bot/cli.py, bot/render.py); this is plain data,
except ``problems``: one sentence each, saying what is wrong and what mends it.

``index_status`` compares the manifest (server mode: the local cache, synced first) with the
vectors cheaply: the counts, and ``SAMPLE`` ids picked at random on each side. ``check_index``
compares every id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from index.cache import open_index
from index.errors import NewsbotError, StoreUnavailable
from index.manifest import Manifest
from index.settings import Settings
from index.store import Vectors

SAMPLE = 20


@dataclass
class Integrity:
    """How the manifest (or cache) and the vectors differ; ``ok`` when they do not."""

    listed: int = 0
    stored: int = 0
    missing: list[str] = field(default_factory=list)  # listed, without a vector
    orphans: list[str] = field(default_factory=list)  # vectors nothing lists
    checked: str = "sample"
    sampled: int = 0  # ids looked at on each side, when ``checked`` is "sample"

    @property
    def ok(self) -> bool:
        return not self.missing and not self.orphans and self.listed == self.stored

    def problems(self, server: bool) -> list[str]:
        out: list[str] = []
        if self.missing:
            out.append(
                f"{self._count(self.missing)} listed by the "
                f"{'local cache' if server else 'manifest'} have no vector in Chroma (e.g. "
                f"{self.missing[0]}): questions about them are refused; `newsbot reindex` "
                "embeds them again"
            )
        if self.orphans:
            out.append(
                f"{self._count(self.orphans)} in Chroma are not part of the index "
                f"(e.g. {self.orphans[0]}; left by an interrupted reindex); `newsbot reindex` "
                "removes them"
            )
        if not out and self.listed != self.stored:
            out.append(
                f"the {'cache' if server else 'manifest'} lists {self.listed} chunks but Chroma "
                f"holds {self.stored} vectors; `newsbot check` says which"
            )
        return out

    def _count(self, ids: list[str]) -> str:
        n = len(ids)
        noun = "chunk" if n == 1 else "chunks"
        return (
            f"{n} of {self.sampled} sampled {noun}" if self.checked == "sample" else f"{n} {noun}"
        )


def compare(manifest: Manifest, vectors: Vectors, full: bool = False) -> Integrity:
    """The manifest against the vectors: counts and a sample of ids, or (``full``) every id."""
    listed = manifest.counts()[1]
    if full:
        listed_ids = manifest.all_chunk_ids()
        stored_ids = vectors.all_ids()
        return Integrity(
            listed=len(listed_ids),
            stored=len(stored_ids),
            missing=sorted(listed_ids - stored_ids),
            orphans=sorted(stored_ids - listed_ids),
            checked="all",
        )
    stored = vectors.count()
    mine = manifest.sample_chunk_ids(SAMPLE)
    theirs = vectors.sample_ids(SAMPLE)
    have = vectors.existing(mine)
    known = manifest.chunks(theirs)
    return Integrity(
        listed=listed,
        stored=stored,
        missing=[c for c in mine if c not in have],
        orphans=[c for c in theirs if c not in known],
        sampled=max(len(mine), len(theirs)),
    )


def index_status(settings: Settings) -> dict[str, Any]:
    """Store mode and location, counts, the last reindex, the newest article, the settings,
    and ``problems``: what the quick comparison of manifest and vectors found wrong.

    Never raises for an unreachable store or a damaged manifest: ``store_reachable`` is False
    and ``store_error`` says why (``vectors`` is None then), or ``problems`` says it.
    """
    info: dict[str, Any] = {
        "mode": "server" if settings.chroma_url else "embedded",
        "location": settings.chroma_url or str(settings.store_dir),
        "index": settings.index_name,
        "collection": settings.collection_name,
        "embed_model": settings.embed_model,
        "articles": 0,
        "chunks": 0,
        "last_reindex": None,
        "newest_article": None,
        "problems": [],
    }
    manifest: Manifest | None = None
    try:
        manifest = open_index(settings)
    except StoreUnavailable as exc:  # server mode, nothing cached: nothing more to say
        info.update(vectors=None, store_reachable=False, store_error=exc.user_message)
        info["settings"] = settings.masked()
        return info
    except NewsbotError as exc:
        info["problems"].append(exc.user_message)
    try:
        if manifest is not None:
            info["articles"], info["chunks"] = manifest.counts()
            last = manifest.get_meta("last_reindex")
            if last:
                when = dt.datetime.fromtimestamp(float(last), tz=dt.UTC)
                info["last_reindex"] = when.isoformat(timespec="seconds")
            title, published = manifest.newest_article()
            if published:
                info["newest_article"] = {"title": title, "published": published}
        try:
            vectors = Vectors(settings)
            if manifest is not None:
                found = compare(manifest, vectors)
                info["vectors"] = found.stored
                info["problems"].extend(found.problems(bool(settings.chroma_url)))
                if not found.ok:
                    manifest.ask_for_repair()
            else:
                info["vectors"] = 0
            info["store_reachable"] = True
        except NewsbotError as exc:
            info["vectors"] = None
            info["store_reachable"] = False
            info["store_error"] = exc.user_message
    finally:
        if manifest is not None:
            manifest.close()
    info["settings"] = settings.masked()
    return info


def check_index(settings: Settings) -> tuple[Integrity, list[str]]:
    """Every id of the manifest (or cache) against every vector: the differences, and the
    sentences saying what is wrong (empty when the two agree)."""
    manifest = open_index(settings)
    if manifest is None:
        return Integrity(), []
    try:
        found = compare(manifest, Vectors(settings), full=True)
        if not found.ok:
            manifest.ask_for_repair()
    finally:
        manifest.close()
    return found, found.problems(bool(settings.chroma_url))
