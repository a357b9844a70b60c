"""index.articles: every loader, stable ids, and each kind of bad input skipped with a reason."""

from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path

import pytest

from index.articles import Article, Loaded, find_files, load_file
from index.errors import SourceError

MB = 1_000_000

HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Bridge opens | River Times</title>
<meta property="og:title" content="Bridge opens after three years">
<meta property="og:site_name" content="River Times">
<link rel="canonical" href="https://rivertimes.example/2024/05/bridge-opens">
<meta property="article:published_time" content="2024-05-06T09:00:00Z">
</head><body><nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Bridge opens after three years</h1>
<p>The new bridge over the river opened on Monday after three years of work, the mayor said.</p>
<p>Mr. Smith of the U.S. embassy attended the ceremony with hundreds of residents.</p>
<p>Traffic is expected to ease in the town centre within weeks.</p>
</article><footer>Copyright 2024 River Times. All rights reserved.</footer></body></html>
"""


def load_dir(root: Path) -> dict[str, Loaded]:
    """Every file under ``root`` loaded, by its key (path relative to root)."""
    return {src.key: load_file(src, 5 * MB) for src in find_files([root]).files}


def load_one(root: Path, name: str, content: str | bytes) -> Loaded:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return load_dir(root)[name]


def only_article(loaded: Loaded) -> Article:
    assert loaded.skipped == []
    assert len(loaded.articles) == 1
    return loaded.articles[0]


# --- the sample --------------------------------------------------------------------------------


def test_sample_article(sample_article):
    a = sample_article
    assert a.text.startswith("أعلنت وزارة الخارجية الأميركية")
    assert a.text.endswith("استنادا إلى أرقام رسمية إسرائيلية.")
    assert "شاركها" not in a.text  # the page's "share it" line is not article text
    assert a.language == "ar"
    assert a.path == "000_df79775a9f276dd4.txt"
    assert a.id.startswith("p-")
    assert a.title is None  # the first line is a whole sentence, not a title


# --- text and Markdown -------------------------------------------------------------------------


def test_front_matter_gives_every_field(tmp_path):
    a = only_article(
        load_one(
            tmp_path,
            "news/meeting.md",
            "---\n"
            "id: state-dept-2024-11-26\n"
            "title: US and Israeli officials to meet\n"
            "source: AFP\n"
            "url: https://example.org/news/1\n"
            "published: 2024-11-26\n"
            "language: AR\n"
            "---\n"
            "# A heading that is not the title\n\n"
            "Senior officials will meet in early December.\n",
        )
    )
    assert a.id == "state-dept-2024-11-26"
    assert a.title == "US and Israeli officials to meet"
    assert a.source == "AFP"
    assert a.url == "https://example.org/news/1"
    assert a.published == "2024-11-26"
    assert a.language == "ar"  # given, lower-cased, not detected
    assert a.path == "news/meeting.md"
    assert (
        a.text
        == "# A heading that is not the title\n\nSenior officials will meet in early December."
    )


def test_markdown_heading_is_the_title(tmp_path):
    a = only_article(
        load_one(tmp_path, "a.md", "# Bridge opens\n\nThe bridge opened on Monday. Traffic eased.")
    )
    assert a.title == "Bridge opens"
    assert a.text == "The bridge opened on Monday. Traffic eased."
    assert a.language == "en"


def test_text_short_first_line_then_blank_is_the_title(tmp_path):
    a = only_article(
        load_one(tmp_path, "a.txt", "اجتماع أميركي إسرائيلي\n\nسيجتمع المسؤولون في ديسمبر.\n")
    )
    assert a.title == "اجتماع أميركي إسرائيلي"
    assert a.text == "سيجتمع المسؤولون في ديسمبر."
    assert a.language == "ar"


def test_hash_heading_in_txt_is_not_a_markdown_title(tmp_path):
    a = only_article(load_one(tmp_path, "a.txt", "# 1 of 3 in a series.\nThe bridge opened."))
    assert a.title is None
    assert a.text.startswith("# 1 of 3")


@pytest.mark.parametrize(
    "front",
    [
        "---\ntitle: [unclosed\n---\nBody text here.",
        "---\ntitle: no closing line\nBody text here.",
        "---\n- just\n- a list\n---\nBody text here.",
    ],
    ids=["yaml-error", "no-closing-line", "not-a-mapping"],
)
def test_malformed_front_matter_keeps_the_body_with_a_warning(tmp_path, front, caplog):
    with caplog.at_level(logging.WARNING, logger="index.articles"):
        a = only_article(load_one(tmp_path, "bad.md", front))
    assert a.text.endswith("Body text here.") and a.source is None and a.url is None
    assert a.title is None or "closing" in a.title  # no closing line: all of it is text
    [warning] = [r.getMessage() for r in caplog.records]
    assert warning.startswith("bad.md: malformed front matter")


def billion_laughs(levels: int = 9) -> str:
    """Nested YAML aliases: 390 bytes that expand to 10**9 strings."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, name = chr(96 + i), chr(97 + i)
        lines.append(f"{name}: &{name} [{','.join(['*' + prev] * 10)}]")
    return "---\n" + "\n".join(lines) + f"\ntitle: *{chr(96 + levels)}\n---\nThe body stays.\n"


def test_yaml_aliases_are_refused_and_the_body_kept(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="index.articles"):
        a = only_article(load_one(tmp_path, "bomb.md", billion_laughs()))
    assert (a.text, a.title, a.source) == ("The body stays.", None, None)
    assert "YAML aliases (*name) are not allowed" in caplog.text
    # a harmless anchor without an alias is still fine
    a = only_article(load_one(tmp_path, "anchor.md", "---\ntitle: &t Fine\n---\nBody."))
    assert a.title == "Fine"


@pytest.mark.parametrize(
    ("front", "why"),
    [
        ("---\ntitle: " + "[" * 5000 + "]" * 5000 + "\n---\nBody.", "nested too deeply"),
        ("---\nn: " + "7" * 5000 + "\ntitle: T\n---\nBody.", "Exceeds the limit"),
        ("---\ntitle: " + "x" * 70_000 + "\n---\nBody.", "larger than 64 KB"),
    ],
    ids=["deep", "huge-number", "huge-block"],
)
def test_front_matter_that_would_blow_up_is_dropped(tmp_path, caplog, front, why):
    with caplog.at_level(logging.WARNING, logger="index.articles"):
        a = only_article(load_one(tmp_path, "x.md", front))
    assert (a.text, a.title) == ("Body.", None)
    assert why in caplog.text


def test_metadata_fields_are_capped(tmp_path, caplog):
    record = {"text": "Body text.", "title": "word " * 300, "source": "S" * 300,
              "url": "http://x/" + "a" * 3000, "language": "en" * 40,
              "published": "2" * 100}  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="index.articles"):
        a = only_article(load_one(tmp_path, "a.json", json.dumps(record)))
    assert a.title and len(a.title) <= 500 and a.title.endswith("word…")
    assert a.source and len(a.source) <= 200 and a.source.endswith("…")
    assert (a.url, a.published) == (None, None) and a.language == "en"  # detected instead
    long_id = load_one(tmp_path, "b.json", json.dumps({"id": "i" * 201, "text": "Body."}))
    assert [s.reason for s in long_id.skipped] == ["id longer than 200 characters"]
    nested = load_one(tmp_path, "c.json", json.dumps({"title": {"a": [1]}, "text": "Body."}))
    assert only_article(nested).title is None


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"text": "t", "n": ' + "1" * 100_000 + "}", "malformed JSON: Exceeds the limit (4300"),
        ("[" * 100_000 + "]" * 100_000, "malformed JSON: nested too deeply"),
    ],
    ids=["100k-digit-number", "100k-deep"],
)
def test_json_that_would_abort_python_is_skipped_with_its_reason(tmp_path, content, reason):
    loaded = load_one(tmp_path, "x.json", content)
    assert loaded.articles == [] and [s.reason[: len(reason)] for s in loaded.skipped] == [reason]
    lines = load_one(tmp_path, "x.jsonl", '{"text": "Fine text."}\n' + content + "\n")
    assert [a.text for a in lines.articles] == ["Fine text."]
    assert [s.path for s in lines.skipped] == ["x.jsonl:2"]
    assert lines.skipped[0].reason.startswith("malformed JSON line")


@pytest.mark.parametrize("bad", ["a\u0000b", "\u0000ab", "ab\u001b", "a\u202eb", "a\u200bb"])
def test_ids_with_control_or_invisible_characters_are_refused(tmp_path, bad):
    records = [{"id": bad, "text": "T."}, {"text": "Fine."}]
    loaded = load_one(tmp_path, "x.json", json.dumps(records))  # "\\u0000" escapes in the file
    assert [a.text for a in loaded.articles] == ["Fine."]
    [skip] = loaded.skipped
    assert skip.path == "x.json#1" and skip.reason.startswith("id contains a control or invisible")


def test_bidi_and_invisible_marks_are_stripped_from_metadata(tmp_path):
    record = {"id": "inv-1", "title": "Invoice \u202etxt.exe", "source": "\u200fAFP\u0000\u061c",
              "url": "https://x.example/\u2066a\u2069", "text": "Body \u202etext."}  # fmt: skip
    a = only_article(load_one(tmp_path, "a.json", json.dumps(record)))
    assert (a.title, a.source, a.url, a.text) == (
        "Invoice txt.exe",
        "AFP",
        "https://x.example/a",
        "Body text.",
    )
    fm = only_article(load_one(tmp_path, "b.md", '---\ntitle: "\\0Hi\\u202e there\\0"\n---\nB.'))
    assert fm.title == "Hi there"


def test_a_file_name_with_bidi_marks_is_shown_escaped(tmp_path):
    (tmp_path / "Invoice \u202etxt.exe.txt").write_text("Some text.")
    (tmp_path / "line\nbreak.txt").write_text("")
    found = find_files([tmp_path])
    assert sorted(f.key for f in found.files) == [
        "Invoice \\u202etxt.exe.txt",
        "line\\x0abreak.txt",
    ]
    skipped = [s for f in found.files for s in load_file(f, MB).skipped]
    assert [s.path.rsplit("/", 1)[1] for s in skipped] == ["line\\x0abreak.txt"]


# --- HTML --------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".html", ".htm"])
def test_html_text_and_metadata(tmp_path, suffix):
    a = only_article(load_one(tmp_path, f"page{suffix}", HTML))
    assert "opened on Monday after three years of work" in a.text
    assert "Traffic is expected to ease" in a.text
    assert "Home" not in a.text and "Copyright" not in a.text  # boilerplate left out
    assert a.title == "Bridge opens after three years"
    assert a.source == "River Times"
    assert a.url == "https://rivertimes.example/2024/05/bridge-opens"
    assert a.published == "2024-05-06"
    assert a.language == "en"
    assert a.id.startswith("u-")  # from the canonical URL


@pytest.mark.parametrize(
    "markup",
    ["<div><p>unclosed <b>bold", "<html><body><div><p></p></div></body></html>"],
    ids=["broken-fragment", "no-text"],
)
def test_malformed_or_empty_html_is_skipped(tmp_path, markup):
    loaded = load_one(tmp_path, "bad.html", markup)
    assert loaded.articles == []
    [skip] = loaded.skipped
    assert skip.path == str(tmp_path / "bad.html")
    assert "HTML" in skip.reason


# --- JSON and JSON lines -----------------------------------------------------------------------


def test_json_object(tmp_path):
    record = {
        "id": 42,
        "title": "Bridge opens",
        "text": "The bridge opened on Monday.",
        "source": "River Times",
        "url": "https://rivertimes.example/b",
        "published": "Mon, 06 May 2024 09:00:00 GMT",
        "language": "en",
    }
    a = only_article(load_one(tmp_path, "one.json", json.dumps(record)))
    assert a.id == "42"
    assert a.title == "Bridge opens"
    assert a.published == "2024-05-06T09:00:00+00:00"
    assert a.path == "one.json#1"


def test_json_list_keeps_good_records_and_skips_bad_ones(tmp_path):
    records = [
        {"text": "First article about the bridge."},
        {"title": "no text here"},
        "not an object",
        {"text": "Third article about the river.", "date": "2024-05-07"},
    ]
    loaded = load_one(tmp_path, "many.json", json.dumps(records))
    assert [a.text for a in loaded.articles] == [
        "First article about the bridge.",
        "Third article about the river.",
    ]
    assert [a.path for a in loaded.articles] == ["many.json#1", "many.json#4"]
    assert loaded.articles[1].published == "2024-05-07"  # "date" is read too
    assert [(s.path, s.reason) for s in loaded.skipped] == [
        ("many.json#2", "record has no 'text' string"),
        ("many.json#3", "record has no 'text' string"),
    ]


def test_malformed_json_skips_the_file(tmp_path):
    loaded = load_one(tmp_path, "bad.json", '[{"text": "cut off here"')
    assert loaded.articles == []
    [skip] = loaded.skipped
    assert skip.path == str(tmp_path / "bad.json")
    assert skip.reason.startswith("malformed JSON")


def test_jsonl_keeps_good_lines_and_reports_the_bad_one(tmp_path):
    lines = [
        json.dumps({"id": "a1", "text": "الخبر الأول عن الاجتماع.", "source": "AFP"}),
        '{"text": "broken line',
        "",
        json.dumps({"text": "The second story.", "url": "https://example.org/2"}),
    ]
    loaded = load_one(tmp_path, "feed.jsonl", "\n".join(lines) + "\n")
    assert [(a.id, a.language) for a in loaded.articles] == [
        ("a1", "ar"),
        (loaded.articles[1].id, "en"),
    ]
    assert loaded.articles[1].id.startswith("u-")
    [skip] = loaded.skipped
    assert skip.path == "feed.jsonl:2"
    assert skip.reason.startswith("malformed JSON line")


# --- ids ---------------------------------------------------------------------------------------


def test_id_precedence_front_matter_then_url_then_path(tmp_path):
    url = "url: https://example.org/x\n"
    loaded = load_dir_with(
        tmp_path,
        {
            "with-id.md": f"---\nid: mine\n{url}---\nText one.",
            "with-url.md": f"---\n{url}---\nText two.",
            "plain.md": "Text three.",
        },
    )
    ids = {key: only_article(got).id for key, got in loaded.items()}
    assert ids["with-id.md"] == "mine"
    assert ids["with-url.md"].startswith("u-")
    assert ids["plain.md"].startswith("p-")
    assert len(set(ids.values())) == 3


def load_dir_with(root: Path, files: dict[str, str]) -> dict[str, Loaded]:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return load_dir(root)


def test_ids_survive_copying_and_moving_the_corpus(tmp_path):
    first = tmp_path / "here" / "corpus"
    files = {
        "a.txt": "A short note about the bridge.",
        "deep/b.md": "# Title\n\nAnother note, in a subfolder.",
        "feed.jsonl": '{"text": "line one"}\n{"text": "line two"}\n',
    }
    before = load_dir_with(first, files)
    copied = tmp_path / "elsewhere" / "copy"
    shutil.copytree(first, copied)
    moved = tmp_path / "moved"
    first.rename(moved)

    def ids(loaded: dict[str, Loaded]) -> dict[str, list[str]]:
        return {key: [a.id for a in got.articles] for key, got in loaded.items()}

    assert ids(load_dir(copied)) == ids(before)
    assert ids(load_dir(moved)) == ids(before)
    assert len({i for got in ids(before).values() for i in got}) == 4


def test_same_file_name_in_two_folders_gets_two_ids(tmp_path):
    loaded = load_dir_with(tmp_path, {"x/a.txt": "Same text.", "y/a.txt": "Same text."})
    assert only_article(loaded["x/a.txt"]).id != only_article(loaded["y/a.txt"]).id


def test_content_hash_ignores_the_path_but_not_the_text():
    a = Article(id="1", text="Text.", path="a.txt")
    assert a.content_hash == Article(id="1", text="Text.", path="moved/a.txt").content_hash
    assert a.content_hash != Article(id="1", text="Text!", path="a.txt").content_hash
    assert a.content_hash != Article(id="1", text="Text.", title="T", path="a.txt").content_hash


# --- encodings ---------------------------------------------------------------------------------

ARABIC = "أعلنت وزارة الخارجية أن الاجتماع سيعقد في أوائل كانون الأول."


@pytest.mark.parametrize(
    "raw",
    [
        b"\xef\xbb\xbf" + ARABIC.encode("utf-8"),
        ARABIC.encode("utf-16"),  # BOM + native order
        b"\xff\xfe" + ARABIC.encode("utf-16-le"),
        b"\xfe\xff" + ARABIC.encode("utf-16-be"),
    ],
    ids=["utf8-bom", "utf16", "utf16le-bom", "utf16be-bom"],
)
def test_byte_order_marks_load(tmp_path, raw):
    a = only_article(load_one(tmp_path, "bom.txt", raw))
    assert a.text == ARABIC
    assert a.language == "ar"


def test_cp1256_arabic_loads_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="index.articles"):
        a = only_article(load_one(tmp_path, "old.txt", ARABIC.encode("cp1256")))
    assert a.text == ARABIC
    assert any(
        "Windows-1256" in r.getMessage() and "old.txt" in r.getMessage() for r in caplog.records
    )


def test_bom_and_front_matter_together(tmp_path):
    raw = b"\xef\xbb\xbf---\ntitle: T\n---\nBody."
    a = only_article(load_one(tmp_path, "a.md", raw))
    assert (a.title, a.text) == ("T", "Body.")


# --- bad files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.txt", b" \n\t\n", "empty file"),
        ("binary.txt", b"PK\x03\x04\x00\x00\x08\x00binary", "binary file"),
        ("odd.htm", b"\x00\x01<html>", "binary file"),
        ("utf16-odd-length.txt", b"\xff\xfeA\x00B", "not valid UTF-16"),
    ],
)
def test_bad_file_is_skipped_with_path_and_reason(tmp_path, name, content, reason):
    loaded = load_one(tmp_path, name, content)
    assert loaded.articles == []
    [skip] = loaded.skipped
    assert skip.path == str(tmp_path / name)
    assert reason in skip.reason


def test_only_a_bom_or_only_front_matter_is_no_text(tmp_path):
    for name, raw in [("bom.txt", b"\xef\xbb\xbf\n"), ("fm.md", b"---\ntitle: T\n---\n\n")]:
        loaded = load_one(tmp_path, name, raw)
        assert loaded.articles == []
        assert [s.reason for s in loaded.skipped] == ["no text"]


def test_file_over_the_size_cap_is_skipped_unread(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("word " * 400)  # 2,000 bytes
    [src] = find_files([tmp_path]).files
    assert load_file(src, max_bytes=1_999).articles == []
    [skip] = load_file(src, max_bytes=1_999).skipped
    assert (skip.path, skip.reason.split(" (")[0]) == (str(path), "larger than the 0.001999 MB cap")
    assert len(load_file(src, max_bytes=2_000).articles) == 1


def test_read_error_is_skipped(tmp_path):
    """/proc/self/mem reads fail with EIO even for root (chmod does not stop root)."""
    (tmp_path / "bad.txt").symlink_to("/proc/self/mem")
    [src] = find_files([tmp_path], follow_symlinks=True).files
    loaded = load_file(src, 5 * MB)
    assert loaded.articles == []
    [skip] = loaded.skipped
    assert skip.path == str(tmp_path / "bad.txt")
    assert skip.reason.startswith("unreadable:")


def test_symlinks_loops_and_odd_entries_are_reported(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "ok.txt").write_text("Fine text.")
    (tmp_path / "sub" / "up").symlink_to("..")  # a folder link to its own parent
    (tmp_path / "self.txt").symlink_to("self.txt")
    (tmp_path / "gone.txt").symlink_to("nowhere.txt")
    os.mkfifo(tmp_path / "fifo.txt")
    (tmp_path / ".hidden.txt").write_text("Not indexed.")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n")

    found = find_files([tmp_path])
    assert [f.key for f in found.files] == ["sub/ok.txt"]
    reasons = {Path(s.path).name: s.reason for s in found.skipped}
    assert reasons == {
        "up": "symlink loop (folder links to itself)",
        "self.txt": "symlink loop",
        "gone.txt": "broken symlink",
        "fifo.txt": "not a regular file",
        "photo.png": "an image (.png): newsbot reads text, not this kind of file",
    }


def test_symlinks_out_of_the_folder_are_not_followed_unless_asked(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Not for the bot.")
    root = tmp_path / "articles"
    (root / "sub").mkdir(parents=True)
    (root / "ok.txt").write_text("Fine text.")
    (root / "hostname.txt").symlink_to("/etc/hostname")
    (root / "secret.txt").symlink_to(outside / "secret.txt")
    (root / "away").symlink_to(outside)
    (root / "sub" / "inside.txt").symlink_to(root / "ok.txt")  # inside: followed (then deduped)
    (root / "sub" / "dir").symlink_to(root / "sub")  # inside, but a loop
    found = find_files([root])
    assert [f.key for f in found.files] == ["ok.txt"]
    reasons = {Path(s.path).name: s.reason for s in found.skipped}
    out = "symlink to outside the folder, not followed (NEWSBOT_FOLLOW_SYMLINKS=true)"
    assert reasons == {"away": out, "hostname.txt": out, "secret.txt": out,
                       "dir": "symlink loop (folder links to itself)"}  # fmt: skip
    followed = find_files([root], follow_symlinks=True)
    assert {f.key for f in followed.files} == {"away/secret.txt", "hostname.txt", "ok.txt"}
    # a folder named as a source may itself be a link
    (tmp_path / "link").symlink_to(root)
    assert [f.key for f in find_files([tmp_path / "link"]).files] == ["ok.txt"]


def test_a_file_swapped_or_grown_after_the_walk_is_not_read(tmp_path):
    (tmp_path / "secret.txt").write_text("Not for the bot.")
    root = tmp_path / "articles"
    root.mkdir()
    (root / "a.txt").write_text("Fine text.")
    (root / "b.txt").write_text("Short.")
    a, b = find_files([root]).files
    (root / "a.txt").unlink()
    (root / "a.txt").symlink_to(tmp_path / "secret.txt")  # swapped in after the check
    with (root / "b.txt").open("a") as f:
        f.write("x" * 2_000)
    [swapped] = load_file(a, MB).skipped
    assert swapped.reason == "replaced since it was found (by a link or another file)"
    [grown] = load_file(b, max_bytes=1_000).skipped
    assert grown.reason == "larger than the 0.001 MB cap (it grew)"


def test_a_file_reached_twice_is_loaded_once(tmp_path):
    (tmp_path / "a.txt").write_text("Text.")
    (tmp_path / "b.txt").symlink_to("a.txt")
    assert [f.key for f in find_files([tmp_path]).files] == ["a.txt"]


def test_missing_source_raises_source_error(tmp_path):
    with pytest.raises(SourceError) as err:
        find_files([tmp_path / "nope"])
    assert str(tmp_path / "nope") in err.value.user_message


def test_a_single_file_can_be_a_source(tmp_path):
    (tmp_path / "one.txt").write_text("Just this one.")
    [src] = find_files([tmp_path / "one.txt"]).files
    assert src.key == "one.txt"


# --- dates -------------------------------------------------------------------------------------


def test_unknown_date_is_dropped_with_a_warning(tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="index.articles"):
        a = only_article(load_one(tmp_path, "a.md", "---\npublished: someday\n---\nText."))
    assert a.published is None
    assert any("someday" in r.getMessage() for r in caplog.records)
