"""Where articles come from besides the articles folder: feeds and article pages.

The sources file (``Settings.sources_file``, default data/sources.toml) lists them::

    [[feed]]
    url = "https://example.com/world/rss.xml"   # http(s), or a path to a feed file
    name = "Example News"                       # optional: shown as the source
    language = "en"                             # optional: when the feed does not say

    [[page]]
    url = "https://example.com/2024/11/12/story.html"

A relative file path is read relative to the sources file. A missing sources file means no
feeds. Reading it is cheap (tomllib): `reindex` with nothing new never imports httpx.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from index.errors import ConfigError


@dataclass(frozen=True)
class RemoteSpec:
    """A feed or an article page to read: ``url`` is http(s) or a local file path."""

    url: str
    kind: Literal["feed", "page", "auto"] = "auto"  # auto: decided by what the URL serves
    name: str | None = None
    language: str | None = None


def is_url(text: str) -> bool:
    """An http(s) address (as opposed to a file path)."""
    return text.lower().startswith(("http://", "https://"))


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str
    name: str | None = None
    language: str | None = None


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    feed: list[_Entry] = []
    page: list[_Entry] = []


def read_sources(path: Path) -> list[RemoteSpec]:
    """The feeds and pages listed in ``path``; [] when the file does not exist.

    Raises ConfigError naming the file and the problem when it is malformed.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise ConfigError(f"cannot read the sources file {path}: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
        parsed = _File.model_validate(data)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"the sources file {path} is not valid TOML: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"the sources file {path} is malformed: {problems}") from exc
    out: list[RemoteSpec] = []
    for kind, entries in (("feed", parsed.feed), ("page", parsed.page)):
        for e in entries:
            url = e.url.strip()
            if not url:
                raise ConfigError(f"the sources file {path} has a {kind} with an empty url")
            if not is_url(url) and not Path(url).is_absolute():
                url = str((path.parent / url).resolve())
            out.append(RemoteSpec(url, kind, e.name, e.language))  # type: ignore[arg-type]
    return out
