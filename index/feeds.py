"""RSS/Atom documents and HTML fragments, parsed: no fetching, nothing else from index/.

``parse_feed(raw, url, media_type, max_entries)`` reads the entries of a feed document (fetched
by index/remote.py, or saved in the articles folder and read by the .rss/.atom loader);
``html_text`` gives the visible text of an entry's HTML content. A document that is not a
usable feed raises ``FeedError``, whose reason is fit to show::

    XML           "malformed feed XML (...)" when nothing could be read from it
    not a feed    "not an RSS or Atom feed"
    size of feed  a feed of more entries than ``max_entries`` is cut to its first ones before
                  parsing (``ParsedFeed.total`` says how many it held)

feedparser is imported only when a feed is parsed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any, ClassVar

_ITEM_END = re.compile(rb"</(?:item|entry)\s*>", re.I)


class FeedError(Exception):
    """A document is not a usable RSS/Atom feed; ``reason`` says why, fit to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _TextOfHTML(HTMLParser):
    """Visible text of an HTML fragment (a feed entry's content), paragraphs kept."""

    BLOCKS: ClassVar[set[str]] = {
        "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
        "tr", "section", "article", "figure", "figcaption", "pre", "table", "hr",
    }  # fmt: skip

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style", "template"):
            self._hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n" if tag == "br" else "\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template"):
            self._hidden = max(0, self._hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def html_text(fragment: str) -> str:
    """Plain text of an HTML fragment, one blank line between paragraphs."""
    if "<" not in fragment:
        return fragment.strip()
    parser = _TextOfHTML()
    parser.feed(fragment)
    parser.close()
    lines = [" ".join(line.split()) for line in "".join(parser.parts).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


@dataclass(frozen=True)
class Entry:
    """One feed entry, as much as the feed says."""

    key: str
    link: str | None
    title: str | None
    published: str | None
    text: str  # the longer of content and summary, as plain text
    digest: str  # hash of what the feed says about this entry


@dataclass
class ParsedFeed:
    title: str | None
    language: str | None
    entries: list[Entry]
    total: int  # entries the feed holds (more than ``entries`` when cut)
    problems: list[str] = field(default_factory=list)


def _struct_iso(value: Any) -> str | None:
    if not value:
        return None
    try:
        when = dt.datetime.fromtimestamp(calendar.timegm(value), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError):
        return None
    return when.isoformat()


def _first_line(error: BaseException) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def parse_feed(raw: bytes, url: str, media_type: str | None, max_entries: int) -> ParsedFeed:
    """Entries of an RSS/Atom document, at most ``max_entries`` (the first ones, as listed).

    A feed is cut *before* parsing when it holds more entries: feedparser takes about a
    millisecond per entry, so a runaway feed of 10,000 would stall the reindex. Raises
    FeedError when the document is not a feed or nothing could be read from it.
    """
    import feedparser

    ends = [m.end() for m in _ITEM_END.finditer(raw)]
    total = len(ends)
    if total > max_entries:
        raw = raw[: ends[max_entries - 1]]  # feedparser closes what is left open
    parsed = feedparser.parse(
        raw,
        response_headers={"content-location": url, "content-type": media_type or "text/xml"},
        sanitize_html=False,
        resolve_relative_uris=True,
    )
    error = parsed.get("bozo_exception")
    if not parsed.entries:
        if parsed.get("bozo") and error is not None:
            raise FeedError(f"malformed feed XML ({_first_line(error)})")
        if not parsed.get("version"):
            raise FeedError("not an RSS or Atom feed")
    feed = parsed.get("feed", {})
    language = feed.get("language")
    out = ParsedFeed(
        title=(feed.get("title") or "").strip() or None,
        language=language.split("-")[0].lower() if language else None,
        entries=[],
        total=max(total, len(parsed.entries)),
    )
    if parsed.get("bozo") and error is not None and total <= max_entries:
        out.problems.append(f"feed XML is not well-formed ({_first_line(error)})")
    for i, e in enumerate(parsed.entries, 1):
        link = e.get("link")
        bodies = [c.get("value", "") for c in e.get("content", []) or []]
        bodies.append(e.get("summary", "") or "")
        text = max((html_text(b) for b in bodies), key=len, default="")
        # dict.get: feedparser maps a missing "updated" to "published" with a warning
        updated = dict.get(e, "updated_parsed")
        published = _struct_iso(dict.get(e, "published_parsed") or updated)
        key = link or e.get("id") or f"{url}#{i}"
        digest_src = [e.get("id"), link, e.get("title"), published, dict.get(e, "updated"), text]
        digest = hashlib.sha256(json.dumps(digest_src, ensure_ascii=False).encode()).hexdigest()
        title = html_text(e.get("title") or "") or None
        out.entries.append(Entry(key, link, title, published, text, digest))
    if error is not None and not any(e.link or e.text for e in out.entries):
        # The loose parser salvaged only fragments: nothing here can be indexed.
        raise FeedError(f"malformed feed XML ({_first_line(error)})")
    return out
