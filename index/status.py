"""What the index holds and where: the facts behind `newsbot status` and Telegram's /status.

The wording for people lives with each face (bot/cli.py, bot/render.py); this is plain data.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from index.errors import NewsbotError
from index.manifest import open_manifest
from index.settings import Settings
from index.store import Vectors


def index_status(settings: Settings) -> dict[str, Any]:
    """Store mode and location, counts, the last reindex, the newest article, the settings.

    Never raises for an unreachable store: ``store_reachable`` is False and ``store_error``
    says why (``vectors`` is None then).
    """
    info: dict[str, Any] = {
        "mode": "server" if settings.chroma_url else "embedded",
        "location": settings.chroma_url or str(settings.store_dir),
        "collection": settings.collection_name,
        "embed_model": settings.embed_model,
        "articles": 0,
        "chunks": 0,
        "last_reindex": None,
        "newest_article": None,
    }
    manifest = open_manifest(settings)
    if manifest is not None:
        try:
            info["articles"], info["chunks"] = manifest.counts()
            last = manifest.get_meta("last_reindex")
            if last:
                when = dt.datetime.fromtimestamp(float(last), tz=dt.UTC)
                info["last_reindex"] = when.isoformat(timespec="seconds")
            title, published = manifest.newest_article()
            if published:
                info["newest_article"] = {"title": title, "published": published}
        finally:
            manifest.close()
    try:
        info["vectors"] = Vectors(settings).count() if manifest is not None else 0
        info["store_reachable"] = True
    except NewsbotError as exc:
        info["vectors"] = None
        info["store_reachable"] = False
        info["store_error"] = exc.user_message
    info["settings"] = settings.masked()
    return info
