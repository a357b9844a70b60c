"""PDF and DOCX articles (index/documents.py), their bad-input cases, and what a folder
reindex says of every file it leaves out. The PDFs are written here byte by byte (a real text
layer in Helvetica), the DOCX files with python-docx: the real readers parse them."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader, PdfWriter

from index.articles import find_files, load_file
from index.documents import DocumentError, read_document, skip_reason


def make_pdf(lines: list[str], title: str | None = None, date: str | None = None) -> bytes:
    """A one-page PDF with ``lines`` of text and an Info dictionary (exact xref offsets)."""

    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    content = "BT /F1 12 Tf 72 720 Td 14 TL " + " ".join(f"({esc(t)}) '" for t in lines) + " ET"
    info = " ".join(
        part
        for part in (f"/Title ({esc(title)})" if title else "",
                     f"/CreationDate (D:{date})" if date else "")
        if part
    )  # fmt: skip
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(content)} >>\nstream\n{content}\nendstream",
        f"<< {info} >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{off:010d} 00000 n \n".encode() for off in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return out


def make_docx(paragraphs: list[str], title: str | None = None, created=None) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if title:
        document.core_properties.title = title
    if created:
        document.core_properties.created = created
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


FLOODS = ["Floods hit the coast on Monday.", "Rescue teams reached the villages."]


def test_a_pdf_gives_its_text_title_and_date():
    record = read_document(make_pdf(FLOODS, "Coastal floods", "20240903101500+00'00'"), ".pdf")
    assert record["text"].split("\n") == FLOODS
    assert record["title"] == "Coastal floods"
    assert record["published"] == "2024-09-03T10:15:00+00:00"


def test_a_pdf_with_a_user_password_is_refused_one_without_is_read():
    plain = make_pdf(FLOODS)
    locked, open_ = io.BytesIO(), io.BytesIO()
    for target, password in ((locked, "secret"), (open_, "")):
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(plain)))
        writer.encrypt(user_password=password, owner_password="owner", algorithm="RC4-128")
        writer.write(target)
    with pytest.raises(DocumentError, match="needs a password"):
        read_document(locked.getvalue(), ".pdf")
    assert read_document(open_.getvalue(), ".pdf")["text"].startswith("Floods hit the coast")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"%PDF-1.7\n", "damaged PDF"),
        (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R", "damaged PDF"),
        (b"<html>not a pdf</html>", "not a PDF"),
        (make_pdf([]), "without a text layer"),
    ],
    ids=["header only", "truncated", "html named .pdf", "scan without text"],
)
def test_bad_pdfs_say_why(raw, reason):
    with pytest.raises(DocumentError, match=reason):
        read_document(raw, ".pdf")


def test_a_docx_gives_its_paragraphs_tables_title_and_date():
    document = docx.Document()
    document.add_paragraph("المحادثات في ليبيا مستمرة.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "Tripoli", "talks"
    document.core_properties.title = "Libya talks"
    document.core_properties.created = dt.datetime(2024, 9, 2, 8, 0)
    buffer = io.BytesIO()
    document.save(buffer)
    record = read_document(buffer.getvalue(), ".docx")
    assert record["text"] == "المحادثات في ليبيا مستمرة.\n\nTripoli | talks"
    assert record["title"] == "Libya talks"
    assert record["published"].startswith("2024-09-02T08:00:00")


def test_a_docx_from_a_bare_template_has_no_invented_date():
    assert "published" not in read_document(make_docx(["Text."]), ".docx")


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 an old .doc", "not a .docx"),
        (_zip({"a.txt": "x"}), "damaged .docx"),
        (_zip({"[Content_Types].xml": "<Types"}), "damaged .docx"),
        (make_docx([]), "empty .docx"),
    ],
    ids=["old .doc renamed", "zip, not docx", "broken xml", "no text"],
)
def test_bad_docx_files_say_why(raw, reason):
    with pytest.raises(DocumentError, match=reason):
        read_document(raw, ".docx")


def test_every_file_left_out_is_reported_with_its_kind(tmp_path: Path):
    files = {
        "floods.pdf": make_pdf(FLOODS, "Coastal floods"),
        "talks.docx": make_docx(["Talks resumed in Tripoli on Tuesday."], "Libya talks"),
        "broken.pdf": b"%PDF-1.7\n",
        "photo.JPG": b"\xff\xd8\xff",
        "old.doc": b"\xd0\xcf\x11\xe0",
        "bundle.zip": _zip({"a.txt": "x"}),
        "README": b"notes",
        "data.parquet": b"PAR1",
    }
    for name, raw in files.items():
        (tmp_path / name).write_bytes(raw)
    found = find_files([tmp_path])
    assert [f.key for f in found.files] == ["broken.pdf", "floods.pdf", "talks.docx"]
    reasons = {Path(s.path).name: s.reason for s in found.skipped}
    assert reasons == {
        "photo.JPG": skip_reason("photo.JPG"),
        "old.doc": skip_reason("old.doc"),
        "bundle.zip": skip_reason("bundle.zip"),
        "README": skip_reason("README"),
        "data.parquet": "no loader for '.parquet' files",
    }
    assert reasons["photo.JPG"].startswith("an image (.jpg)")
    assert "save it as .docx" in reasons["old.doc"] and "unpack" in reasons["bundle.zip"]
    loaded = {f.key: load_file(f, max_bytes=10_000_000) for f in found.files}
    [pdf] = loaded["floods.pdf"].articles
    assert (pdf.title, pdf.language) == ("Coastal floods", "en") and "Rescue teams" in pdf.text
    [word] = loaded["talks.docx"].articles
    assert word.title == "Libya talks" and word.text.startswith("Talks resumed")
    assert loaded["broken.pdf"].articles == []
    assert loaded["broken.pdf"].skipped[0].reason.startswith("damaged PDF")
