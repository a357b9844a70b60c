"""PDF and DOCX articles, and why other files in an articles folder are left out.

``read_document(raw, suffix)`` turns a PDF (pypdf) or a Word .docx (python-docx) into one record
as the other loaders make them: its text, and the title, author and date its metadata carry.
Both libraries are pure Python (python-docx rests on lxml, already a dependency), read files
offline and are maintained. A file they cannot use raises ``DocumentError``, whose message is
the reason shown when the file is skipped: encrypted, damaged, no text layer (a scan), empty.

``skip_reason(name)`` says, for a file no loader reads, what kind it is (an image, a .doc, an
archive...), so a folder reindex reports every file it leaves out instead of ignoring it.

Imports nothing from ``index/`` but dates, so ``index/articles.py`` can register the loaders.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import zipfile
from pathlib import PurePath
from typing import Any

from index.dates import iso_date

logger = logging.getLogger(__name__)

DOCUMENT_SUFFIXES = (".pdf", ".docx")
# A PDF's text is read page by page; past this many pages the rest is left out (and said).
MAX_PAGES = 500

_KINDS = {
    "an image": (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".svg",
                 ".heic", ".ico", ".avif"),
    "audio or video": (".mp3", ".wav", ".ogg", ".m4a", ".flac", ".mp4", ".mov", ".avi", ".mkv",
                       ".webm"),
    "an archive (unpack it first)": (".zip", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".7z", ".rar"),
    "an old or other word-processor format (save it as .docx or .txt)": (
        ".doc", ".rtf", ".odt", ".pages", ".wpd"),
    "a spreadsheet or slides": (".xls", ".xlsx", ".ods", ".csv", ".ppt", ".pptx", ".odp"),
    "an e-book": (".epub", ".mobi", ".azw3"),
    "a program or library": (".exe", ".dll", ".so", ".bin", ".pyc", ".class", ".jar"),
}  # fmt: skip
_KIND_OF = {suffix: kind for kind, suffixes in _KINDS.items() for suffix in suffixes}


class DocumentError(Exception):
    """A PDF or DOCX that cannot be used; the message says why (shown with the skipped file)."""


def skip_reason(name: str) -> str:
    """Why a file no loader reads is left out: 'an image (.png): newsbot reads text'."""
    suffix = PurePath(name).suffix.lower()
    if not suffix:
        return "no file extension: name it .txt, .md, .html, .json, .pdf or .docx to index it"
    kind = _KIND_OF.get(suffix)
    if kind:
        return f"{kind} ({suffix}): newsbot reads text, not this kind of file"
    return f"no loader for '{suffix}' files"


def read_document(raw: bytes, suffix: str) -> dict[str, Any]:
    """One record (text, title, author, published) from a PDF's or DOCX's bytes."""
    kind = suffix.lower()
    if kind == ".pdf":
        return _pdf(raw)
    if kind == ".docx":
        return _docx(raw)
    raise DocumentError(f"not a PDF or DOCX: '{suffix}'")


def _clean(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _pdf(raw: bytes) -> dict[str, Any]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, PdfReadError, PyPdfError

    if not raw.lstrip().startswith(b"%PDF"):
        raise DocumentError("not a PDF (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")  # many "protected" PDFs only forbid editing
            except (PyPdfError, DependencyError, NotImplementedError) as exc:  # AES: cryptography
                raise DocumentError(f"encrypted PDF that cannot be opened: {exc}") from None
            if not opened:
                raise DocumentError("encrypted PDF: it needs a password")
        pages = reader.pages
        count = len(pages)
        texts = []
        for page in list(pages)[:MAX_PAGES]:
            texts.append(page.extract_text() or "")
        meta = reader.metadata
    except DocumentError:
        raise
    except (PdfReadError, PyPdfError, DependencyError, ValueError, KeyError, TypeError) as exc:
        raise DocumentError(f"damaged PDF: {exc}") from None
    except RecursionError:
        raise DocumentError("damaged PDF: its structure nests without end") from None
    except Exception as exc:  # zlib.error and other surprises of a broken file: skipped too
        raise DocumentError(f"damaged PDF: {type(exc).__name__}: {exc}") from None
    if count > MAX_PAGES:
        logger.warning("PDF of %d pages: only the first %d are read", count, MAX_PAGES)
    text = "\n\n".join(t.strip() for t in texts if t.strip())
    if not text:
        raise DocumentError("PDF without a text layer (a scan? run OCR on it first)")
    record: dict[str, Any] = {"text": text}
    if meta is not None:
        record["title"] = _clean(meta.title)
        record["author"] = _clean(meta.author)
        try:
            created = meta.creation_date
        except (ValueError, TypeError):  # a date pypdf cannot read: no date rather than no text
            created = None
        record["published"] = iso_date(created) if created else None
    return {k: v for k, v in record.items() if v is not None}


# python-docx's own template carries this creation time: a file saved from it has no real date.
_TEMPLATE_CREATED = dt.datetime(2013, 12, 23, 23, 15, tzinfo=dt.UTC)


def _authored(created: Any) -> bool:
    if not isinstance(created, dt.datetime):
        return False
    when = created if created.tzinfo else created.replace(tzinfo=dt.UTC)
    return when != _TEMPLATE_CREATED


def _docx(raw: bytes) -> dict[str, Any]:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    if not zipfile.is_zipfile(io.BytesIO(raw)):
        raise DocumentError("not a .docx (a .docx is a zip archive; an old .doc is not)")
    try:
        document = docx.Document(io.BytesIO(raw))
        paragraphs = [p.text for p in document.paragraphs]
        for table in document.tables:
            for row in table.rows:
                paragraphs.append(" | ".join(cell.text for cell in row.cells))
        props = document.core_properties
        title, author, created, language = props.title, props.author, props.created, props.language
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile, OSError) as exc:
        raise DocumentError(f"damaged .docx: {exc}") from None
    except Exception as exc:  # lxml's XMLSyntaxError and friends: a broken part inside the zip
        raise DocumentError(f"damaged .docx: {type(exc).__name__}: {exc}") from None
    text = "\n\n".join(p.strip() for p in paragraphs if p and p.strip())
    if not text:
        raise DocumentError("empty .docx: no text in its paragraphs or tables")
    record: dict[str, Any] = {
        "text": text,
        "title": _clean(title),
        "author": _clean(author),
        "published": iso_date(created) if _authored(created) else None,
        "language": _clean(language),
    }
    return {k: v for k, v in record.items() if v is not None}
