"""Articles and the loaders that read them from files.

A loader turns one file's bytes into articles. Loaders are a registry keyed by file suffix
(``register_loader``), so feeds and URLs can join later without touching the walker.
Bad input never raises out of here: each bad file or record becomes a ``Skipped`` with a reason.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index import boilerplate
from index.dates import iso_date
from index.documents import DOCUMENT_SUFFIXES, DocumentError, read_document, skip_reason
from index.errors import SourceError
from index.feeds import FeedError, parse_feed
from index.text import (
    NotText,
    clean_line,
    clean_text,
    decode_bytes,
    detect_language,
    escape_invisible,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Article:
    """One news article, ready to chunk."""

    id: str
    text: str
    title: str | None = None
    source: str | None = None
    url: str | None = None
    published: str | None = None
    language: str | None = None
    path: str | None = None

    @property
    def content_hash(self) -> str:
        """Hash of what gets embedded and shown; file dates and paths are left out."""
        key = json.dumps(
            [self.text, self.title, self.source, self.url, self.published, self.language],
            ensure_ascii=False,
        )
        return hashlib.sha256(key.encode()).hexdigest()

    def metadata(self) -> dict[str, str]:
        """Non-empty metadata fields, as stored beside each chunk."""
        fields = {
            "article_id": self.id,
            "title": self.title,
            "source": self.source,
            "url": self.url,
            "published": self.published,
            "language": self.language,
            "path": self.path,
        }
        return {k: v for k, v in fields.items() if v}


@dataclass(frozen=True)
class Skipped:
    """A file or record left out, and why."""

    path: str
    reason: str

    def __post_init__(self) -> None:
        # File names need not be UTF-8 and may hold bidi marks or line breaks; reports print
        # each skip on one line, showing such marks as escapes.
        object.__setattr__(self, "path", escape_invisible(self.path))
        object.__setattr__(self, "reason", escape_invisible(self.reason))


@dataclass(frozen=True)
class SourceFile:
    """A file found under a source root; ``key`` is stable when the corpus folder moves."""

    path: Path
    key: str
    size: int
    # (st_dev, st_ino) of the file the walk found: what is read later must be that file, not
    # one swapped in since (a symlink to /etc/... in its place). None: not checked.
    identity: tuple[int, int] | None = None

    def raw_hash(self) -> str:
        digest = hashlib.sha256()
        with self.path.open("rb") as f:  # in pieces: the file may have grown since the walk
            for piece in iter(lambda: f.read(1 << 20), b""):
                digest.update(piece)
        return digest.hexdigest()

    def read(self, max_bytes: int) -> bytes:
        """The file's bytes, at most ``max_bytes`` (BadInput beyond, or if it is not the file
        the walk found); OSError when it cannot be read."""
        with self.path.open("rb") as f:
            if self.identity is not None:
                st = os.fstat(f.fileno())
                if (st.st_dev, st.st_ino) != self.identity:
                    raise BadInput("replaced since it was found (by a link or another file)")
            raw = f.read(max_bytes + 1)
        if len(raw) > max_bytes:
            raise BadInput(f"larger than the {max_bytes / 1e6:g} MB cap (it grew)")
        return raw


@dataclass
class Loaded:
    """What loading one file gave."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


class BadInput(Exception):
    """Raised inside a loader for a whole file that cannot be used; becomes a Skipped."""


Record = dict[str, Any]
Loader = Callable[[str, SourceFile], Iterable[Record | Skipped]]
LOADERS: dict[str, Loader] = {}


def register_loader(*suffixes: str) -> Callable[[Loader], Loader]:
    """Register ``fn(text, source_file)`` for files ending in ``suffixes``.

    It yields records (dicts with text and optional id, title, source, url, published, language)
    or ``Skipped`` items for bad records inside the file.
    """

    def wrap(fn: Loader) -> Loader:
        for suffix in suffixes:
            LOADERS[suffix.lower()] = fn
        return fn

    return wrap


# --- loaders -----------------------------------------------------------------------------------


# Front matter is a few fields: a larger block is not parsed (YAML is slow and can nest).
MAX_FRONT_MATTER = 64_000
# The longest value each metadata field may have, in characters. A longer title or source is
# cut (with "…"); a longer url, date or language is dropped; a longer id skips its record.
FIELD_CAPS = {"id": 200, "title": 500, "source": 200, "url": 2048, "published": 64, "language": 35}


class _NoAliases(Exception):
    pass


@functools.cache
def _yaml_loader() -> type:
    """PyYAML's safe loader refusing aliases: a few hundred bytes of nested aliases ("billion
    laughs") expand to gigabytes; front matter has no use for them."""
    import yaml

    class Loader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                raise _NoAliases
            return super().compose_node(parent, index)

    return Loader


def _parse_front_matter(block: str) -> Record:
    """The fields of a front matter block; BadInput saying why it cannot be used."""
    import yaml

    if len(block) > MAX_FRONT_MATTER:
        raise BadInput(f"larger than {MAX_FRONT_MATTER // 1000} KB")
    try:
        meta = yaml.load(block, Loader=_yaml_loader()) or {}  # a SafeLoader, without aliases
    except _NoAliases:
        raise BadInput("YAML aliases (*name) are not allowed") from None
    except yaml.YAMLError as exc:
        raise BadInput(str(exc).splitlines()[0]) from exc
    except RecursionError:
        raise BadInput("nested too deeply") from None
    except ValueError as exc:  # a number of more than 4,300 digits
        raise BadInput(str(exc).split(":")[0]) from exc
    if not isinstance(meta, dict):
        raise BadInput("not a mapping of fields")
    return meta


def _front_matter(text: str, where: str) -> tuple[Record, str]:
    """Front matter fields and the body. Broken front matter keeps the body: it is indexed
    without metadata, with a warning."""
    if not text.startswith("---"):
        return {}, text
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return {}, text
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            body = "\n".join(lines[i + 1 :])
            try:
                return _parse_front_matter("\n".join(lines[1:i])), body
            except BadInput as exc:
                logger.warning(
                    "%s: malformed front matter (%s): the body is indexed without it",
                    escape_invisible(where), exc,
                )  # fmt: skip
                return {}, body
    logger.warning(
        "%s: malformed front matter (no closing '---' line): the file is read as text",
        escape_invisible(where),
    )
    return {}, "\n".join(lines[1:])


def _text_title(body: str, markdown: bool) -> tuple[str | None, str]:
    """A title line at the top: a Markdown '# heading', or a short first line then a blank."""
    lines = body.strip().split("\n")
    if not lines:
        return None, body
    first = lines[0].strip()
    if markdown and first.startswith("#"):
        return first.lstrip("#").strip() or None, "\n".join(lines[1:])
    short = len(first.split()) <= 14 and not first.endswith((".", "؟", "?", "!", ":", "؛"))
    if short and len(lines) > 2 and not lines[1].strip():
        return first, "\n".join(lines[2:])
    return None, body


@register_loader(".txt", ".md", ".markdown")
def load_text(text: str, src: SourceFile) -> Iterator[Record]:
    meta, body = _front_matter(text, src.key)
    record: Record = dict(meta)
    if not record.get("title"):
        title, body = _text_title(body, markdown=src.path.suffix.lower() != ".txt")
        record["title"] = title
    record["text"] = body
    yield record


@register_loader(".html", ".htm")
def load_html(text: str, src: SourceFile) -> Iterator[Record]:
    import trafilatura

    try:
        doc = trafilatura.bare_extraction(text, with_metadata=True, include_comments=False)
    except Exception as exc:  # trafilatura raises many lxml errors on broken markup
        raise BadInput(f"malformed HTML ({type(exc).__name__})") from exc
    if doc is None:
        raise BadInput("no article text found in the HTML")
    found: dict[str, Any] = doc if isinstance(doc, dict) else doc.as_dict()
    if not found.get("text"):
        raise BadInput("no article text found in the HTML")
    yield {
        "text": found["text"],
        "title": found.get("title"),
        "source": found.get("sitename") or found.get("hostname"),
        "url": found.get("url"),
        "published": found.get("date"),
        "language": found.get("language"),
    }


def _json_records(items: Any, where: str) -> Iterator[Record | Skipped]:
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list):
        raise BadInput("JSON must be an object or a list of objects")
    for i, item in enumerate(items, 1):
        if isinstance(item, dict) and isinstance(item.get("text"), str):
            yield {**item, "_ordinal": i}
        else:
            yield Skipped(f"{where}#{i}", "record has no 'text' string")


def _parse_json(text: str) -> Any:
    """``json.loads``, every way it can fail as a BadInput: a 100,000-digit number raises
    ValueError, arrays nested 100,000 deep RecursionError, neither a JSONDecodeError."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadInput(f"malformed JSON: {exc.msg} at line {exc.lineno}") from exc
    except RecursionError:
        raise BadInput("malformed JSON: nested too deeply") from None
    except ValueError as exc:
        raise BadInput(f"malformed JSON: {str(exc).split(':')[0]}") from exc


@register_loader(".json")
def load_json(text: str, src: SourceFile) -> Iterator[Record | Skipped]:
    yield from _json_records(_parse_json(text), src.key)


_XML_ENCODING = re.compile(r"""^(\s*<\?xml[^>]*?)\s+encoding\s*=\s*["'][^"']*["']""")


@register_loader(".rss", ".atom")
def load_feed_file(text: str, src: SourceFile) -> Iterator[Record | Skipped]:
    """A saved RSS/Atom feed: each entry with the text it carries.

    Only the text the feed carries is indexed: reading a folder never goes to the network. A
    feed file listed in the sources file is read like a fetched feed instead (links fetched).
    """
    # The text is decoded already; a leftover encoding="..." would make feedparser decode again.
    raw = _XML_ENCODING.sub(r"\1", text, count=1).encode("utf-8")
    try:
        feed = parse_feed(raw, src.key, None, max_entries=1_000_000)
    except FeedError as exc:
        raise BadInput(exc.reason) from exc
    for i, e in enumerate(feed.entries, 1):
        if not e.text:
            reason = "feed entry carries no text (links in a feed file are not fetched)"
            yield Skipped(f"{src.key}#{i}", reason)
            continue
        yield {
            "text": e.text, "title": e.title, "url": e.link, "published": e.published,
            "source": feed.title, "language": feed.language, "_ordinal": i,
        }  # fmt: skip


@register_loader(".jsonl", ".ndjson")
def load_jsonl(text: str, src: SourceFile) -> Iterator[Record | Skipped]:
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            item = _parse_json(line)
        except BadInput as exc:
            reason = str(exc).replace("malformed JSON", "malformed JSON line", 1)
            yield Skipped(f"{src.key}:{lineno}", reason.split(" at line ")[0])
            continue
        if isinstance(item, dict) and isinstance(item.get("text"), str):
            yield {**item, "_ordinal": lineno}
        else:
            yield Skipped(f"{src.key}:{lineno}", "record has no 'text' string")


@register_loader(*DOCUMENT_SUFFIXES)
def load_document(text: str, src: SourceFile) -> Iterator[Record | Skipped]:
    """PDF and DOCX: text and metadata read from the file's bytes (index/documents.py)."""
    try:
        yield read_document(src.path.read_bytes(), src.path.suffix)
    except (DocumentError, OSError) as exc:
        yield Skipped(str(src.path), str(exc))


# --- records to articles -----------------------------------------------------------------------


def _field(record: Record, name: str, where: str) -> str | None:
    """A metadata field as one clean line within its cap (``FIELD_CAPS``), or None."""
    value = record.get(name)
    if value is None or isinstance(value, bool):
        return None
    if not isinstance(value, str | int | float | dt.date):
        logger.warning("%s: %s is not text (%s): dropped", where, name, type(value).__name__)
        return None
    text = clean_line(str(value))
    cap = FIELD_CAPS[name]
    if len(text) > cap:
        if name == "id":
            raise BadInput(f"id longer than {cap} characters")
        logger.warning("%s: %s of %d characters (cap %d)", where, name, len(text), cap)
        if name not in ("title", "source"):
            return None
        text = text[: cap - 1].rsplit(" ", 1)[0] + "…"
    return text or None


def _article_id(record: Record, where: str) -> str | None:
    """The record's own id, checked: control characters or invisible marks refuse it."""
    value = record.get("id")
    if value is None:
        return None
    raw = str(value) if isinstance(value, str | int) else ""
    if not raw and value != "":
        raise BadInput(f"id is not text ({type(value).__name__})")
    bad = next((ch for ch in raw if clean_line(ch) == "" and not ch.isspace()), None)
    if bad is not None:
        raise BadInput(f"id contains a control or invisible character (U+{ord(bad):04X})")
    return _field(record, "id", where)


def to_article(record: Record, src: SourceFile) -> Article:
    """A loader's record as an Article; raises BadInput when it holds no text."""
    text = boilerplate.strip(clean_text(str(record.get("text") or "")))
    if not text:
        raise BadInput("no text")
    ordinal = record.get("_ordinal")
    location = src.key if ordinal is None else f"{src.key}#{ordinal}"
    explicit = _article_id(record, location)
    url = _field(record, "url", location)
    if explicit:
        article_id = explicit
    elif url:
        article_id = "u-" + hashlib.sha256(url.encode()).hexdigest()[:16]
    else:
        article_id = "p-" + hashlib.sha256(location.encode()).hexdigest()[:16]
    raw_date = record.get("published") or record.get("date")
    if isinstance(raw_date, dt.date):
        published = iso_date(raw_date)
    else:
        given = _field({"published": raw_date}, "published", location)
        published = iso_date(given)
        if given and published is None:
            logger.warning("%s: published date %r not understood", location, given)
    language = _field(record, "language", location) or detect_language(text)
    return Article(
        id=article_id,
        text=text,
        title=_field(record, "title", location),
        source=_field(record, "source", location),
        url=url,
        published=published,
        language=language.lower() if language else None,
        path=location,
    )


def load_file(src: SourceFile, max_bytes: int) -> Loaded:
    """All articles of one file; bad files and records come back as skipped, never raised."""
    out = Loaded()
    loader = LOADERS.get(src.path.suffix.lower())
    if loader is None:
        out.skipped.append(Skipped(str(src.path), f"unsupported file type '{src.path.suffix}'"))
        return out
    try:
        if src.size > max_bytes:
            raise BadInput(f"larger than the {max_bytes / 1e6:g} MB cap ({src.size / 1e6:.1f} MB)")
        try:
            raw = src.read(max_bytes)
        except OSError as exc:
            raise BadInput(f"unreadable: {exc.strerror or exc}") from exc
        if not raw.strip():
            raise BadInput("empty file")
        try:  # PDF and DOCX are binary: their loader reads the bytes
            document = src.path.suffix.lower() in DOCUMENT_SUFFIXES
            text, encoding = ("", "binary") if document else decode_bytes(raw, refuse_binary=True)
        except NotText as exc:
            raise BadInput(str(exc)) from exc
        if encoding == "cp1256":
            logger.warning("%s: not UTF-8; read as Windows-1256 (Arabic)", src.path)
        for item in loader(text, src):
            if isinstance(item, Skipped):
                out.skipped.append(item)
                continue
            try:
                out.articles.append(to_article(item, src))
            except BadInput as exc:
                where = src.key if item.get("_ordinal") is None else f"{src.key}#{item['_ordinal']}"
                out.skipped.append(Skipped(where, str(exc)))
    except BadInput as exc:
        out.skipped.append(Skipped(str(src.path), str(exc)))
    return out


# --- walking sources ---------------------------------------------------------------------------


@dataclass
class Found:
    files: list[SourceFile] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def find_files(paths: Iterable[Path], follow_symlinks: bool = False) -> Found:
    """Files under each source path, in a stable order; loops and oddities skipped.

    A symlink inside a folder that points outside it (to /etc/hostname, to a home folder) is
    skipped unless ``follow_symlinks`` (NEWSBOT_FOLLOW_SYMLINKS): whoever can write into the
    articles folder should not be able to make the bot read, and quote, any file it can read.
    The paths named themselves are followed. Raises SourceError when one does not exist.
    """
    found = Found()
    for root in paths:
        if not root.exists() and not root.is_symlink():
            raise SourceError(f"source not found: {root}")
        if root.is_file():
            found.files.append(SourceFile(root, escape_invisible(root.name), root.stat().st_size))
            continue
        if not root.is_dir():
            found.skipped.append(Skipped(str(root), "not a file or folder"))
            continue
        _walk(root, root, {root.resolve()}, found, None if follow_symlinks else root.resolve())
    # One article can only come from one file: the first occurrence wins.
    seen: set[str] = set()
    unique = []
    for f in found.files:
        real = str(f.path.resolve())
        if real not in seen:
            seen.add(real)
            unique.append(f)
    found.files = unique
    return found


def _walk(
    root: Path, folder: Path, ancestors: set[Path], found: Found, inside: Path | None
) -> None:
    """``inside``: the resolved root that symlinks must stay within (None: follow any)."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        found.skipped.append(Skipped(str(folder), f"unreadable folder: {exc.strerror or exc}"))
        return
    for entry in entries:
        path = Path(entry.path)
        if entry.name.startswith("."):
            continue
        try:
            st = path.stat()  # follows links
        except OSError as exc:
            if path.is_symlink():
                reason = "broken symlink" if not os.path.exists(path) else "symlink loop"
                if exc.errno == 40:  # ELOOP
                    reason = "symlink loop"
            else:
                reason = f"unreadable: {exc.strerror or exc}"
            found.skipped.append(Skipped(str(path), reason))
            continue
        if inside is not None and entry.is_symlink() and not path.resolve().is_relative_to(inside):
            reason = "symlink to outside the folder, not followed (NEWSBOT_FOLLOW_SYMLINKS=true)"
            found.skipped.append(Skipped(str(path), reason))
            continue
        if stat.S_ISDIR(st.st_mode):
            real = path.resolve()
            if real in ancestors:
                found.skipped.append(Skipped(str(path), "symlink loop (folder links to itself)"))
                continue
            _walk(root, path, ancestors | {real}, found, inside)
        elif stat.S_ISREG(st.st_mode):
            if path.suffix.lower() not in LOADERS:  # every file left out is said, with its kind
                found.skipped.append(Skipped(str(path), skip_reason(path.name)))
                continue
            key = escape_invisible(path.relative_to(root).as_posix())
            found.files.append(SourceFile(path, key, st.st_size, (st.st_dev, st.st_ino)))
        else:
            found.skipped.append(Skipped(str(path), "not a regular file"))
