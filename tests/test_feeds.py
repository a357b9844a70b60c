"""Feeds and article URLs, against a real HTTP server on 127.0.0.1 (tests/fake_web.py).

Every failure the issue lists (DNS, refused, 4xx/5xx, timeouts, not HTML, wrong charset,
malformed XML, a feed of 10,000 entries, a redirect loop) skips its item with a reason while the
rest is indexed. No request leaves loopback: the DNS failure uses a name under .invalid.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from fake_web import atom, closed_port, page, rss, serve

from bot.cli import build_parser, cmd_watch, watch
from bot.watch import Watcher, start_background_watch, watched
from index.errors import ConfigError
from index.feeds import FeedError, html_text, parse_feed
from index.manifest import Manifest
from index.reindex import Report, reindex
from index.remote import page_text
from index.sources import RemoteSpec, read_sources

REPO = Path(__file__).resolve().parents[1]
LONG = " ".join(
    ["The council approved the new budget after a long debate about schools and roads."] * 7
)


@pytest.fixture
def web():
    with serve() as w:
        yield w


@pytest.fixture
def net(settings, tmp_path):
    """Settings with short timeouts, a small download cap and a sources file under tmp_path;
    fetching from loopback allowed (the fake web server is on 127.0.0.1)."""
    return settings.model_copy(
        update={
            "fetch_timeout": 0.5,
            "fetch_max_mb": 0.2,
            "sources_file": tmp_path / "sources.toml",
            "fetch_allow_private": True,
        }
    )


def articles(settings) -> dict[str, dict[str, object]]:
    manifest = Manifest(settings.manifest_path, create=False)
    try:
        rows = manifest.db.execute(
            "SELECT url, title, source, published, language, published_epoch FROM articles"
        )
        keys = ("url", "title", "source", "published", "language", "published_epoch")
        return {r[0]: dict(zip(keys, r, strict=True)) for r in rows}
    finally:
        manifest.close()


def reasons(report: Report) -> dict[str, str]:
    return {s.path: s.reason for s in report.skipped}


# --- parsing, no network -----------------------------------------------------------------------


def test_parse_rss_and_atom():
    doc = rss(
        "World",
        [
            {
                "title": "Full",
                "link": "http://x/1",
                "guid": "1",
                "content": f"<p>{LONG}</p>",
                "pubDate": "Tue, 12 Nov 2024 10:00:00 GMT",
            },
            {"title": "Teaser & more", "link": "http://x/2", "description": "<b>Short</b>"},
        ],
        language="en-GB",
    ).encode()
    feed = parse_feed(doc, "http://x/feed", "application/rss+xml", 50)
    assert feed.title == "World" and feed.language == "en" and feed.total == 2
    full, teaser = feed.entries
    assert full.published == "2024-11-12T10:00:00+00:00" and full.text.startswith("The council")
    assert teaser.title == "Teaser & more" and teaser.text == "Short" and teaser.published is None
    doc = atom("Atom news", [{"title": "A", "link": "http://x/a", "updated": "2024-11-13T08:00:00Z",
                              "summary": "Hello"}]).encode()  # fmt: skip
    (entry,) = parse_feed(doc, "http://x/atom", None, 50).entries
    assert entry.link == "http://x/a" and entry.published == "2024-11-13T08:00:00+00:00"


def test_a_runaway_feed_is_cut_before_parsing():
    items = [{"title": f"Item {i}", "link": f"http://x/{i}", "guid": str(i)} for i in range(10_000)]
    feed = parse_feed(rss("Big", items).encode(), "http://x/feed", None, 25)
    assert feed.total == 10_000 and len(feed.entries) == 25
    assert feed.entries[0].title == "Item 0" and feed.entries[-1].title == "Item 24"


def test_malformed_and_non_feeds_are_refused():
    with pytest.raises(FeedError, match="malformed feed XML"):
        parse_feed(b"<?xml version='1.0'?><rss><channel><item><title>x</ti", "u", None, 5)
    with pytest.raises(FeedError, match=r"malformed feed XML|not an RSS or Atom feed"):
        parse_feed(b"just some text, not XML <<<", "u", None, 5)


def test_page_text_recovers_a_wrong_charset():
    arabic = "<html><body><p>أعلنت وزارة الخارجية</p></body></html>"
    assert "أعلنت" in page_text(arabic.encode("cp1256"), "utf-8")  # declared UTF-8, is cp1256
    assert "أعلنت" in page_text(arabic.encode("utf-8"), "iso-8859-1")  # declared Latin-1
    meta = b"<html><head><meta charset='windows-1256'></head><body>" + "سلام".encode("cp1256")
    assert "سلام" in page_text(meta, None)
    assert "é" in page_text("<p>café</p>".encode("latin-1"), "iso-8859-1")


def test_html_text_keeps_paragraphs_and_drops_scripts():
    text = html_text("<p>One &amp; two</p><script>x()</script><p>Three<br>four</p>")
    assert text == "One & two\n\nThree\nfour"


# --- fetching and indexing ---------------------------------------------------------------------


def test_feed_entries_and_linked_pages_are_indexed(net, web):
    web.route(
        "/news/1",
        page("Council approves budget", [LONG[:300], "Schools get more money."],
             date="2024-11-14T09:00:00Z", site="City Times"),
    )  # fmt: skip
    web.route("/news/2", page("Undated note", ["A page that gives no date at all. " * 4]))
    feed = web.route(
        "/feed.xml",
        rss("City feed", [
            {"title": "Budget approved", "link": web.url("/news/1"), "guid": "1",
             "pubDate": "Thu, 14 Nov 2024 10:00:00 GMT", "description": "Teaser only"},
            {"title": "Full text in feed", "link": web.url("/news/full"), "guid": "f",
             "pubDate": "Wed, 13 Nov 2024 10:00:00 GMT", "content": f"<p>{LONG}</p>"},
            {"title": "No date anywhere", "link": web.url("/news/2"), "guid": "2"},
        ], language="en"),
        content_type="application/rss+xml",
    )  # fmt: skip
    report = reindex(net, [feed])
    assert report.added == 3 and not report.skipped, report.skipped
    got = articles(net)
    one = got[web.url("/news/1")]
    assert one["title"] == "Budget approved" and one["source"] == "City Times"
    assert one["published"] == "2024-11-14T10:00:00+00:00"  # the feed entry's date first
    assert one["published_epoch"] == 1731578400
    full = got[web.url("/news/full")]
    assert full["source"] == "City feed" and full["language"] == "en"
    assert not web.requests_to("/news/full")  # the feed carried the text: no page fetch
    assert got[web.url("/news/2")]["published"] is None  # undated stays undated
    ua = {h.headers.get("user-agent") for h in web.hits}
    assert ua == {net.fetch_user_agent} and "newsbot" in net.fetch_user_agent


def test_every_failure_skips_only_its_item(net, web):
    ok = web.route("/ok", page("Harbour reopens", ["The harbour reopened on Monday. " * 5]))
    arabic = page(
        "افتتاح الميناء", ["أعلنت السلطات إعادة فتح الميناء يوم الاثنين بعد الإصلاحات. " * 4]
    )
    web.route("/cp1256", arabic.encode("cp1256"), content_type="text/html; charset=utf-8")
    web.route("/500", "oops", status=500)
    web.route("/slow", page("Slow", ["late"]), stall=5)
    web.route("/big", b"<html>" + b"x" * 300_000)
    web.route("/endless", b"", endless=True)
    web.route("/pdf", b"%PDF-1.4 binary", content_type="application/pdf")
    web.redirect("/loop/a", web.url("/loop/b"))
    web.redirect("/loop/b", web.url("/loop/a"))
    for i in range(10):
        web.redirect(f"/hops/{i}", web.url(f"/hops/{i + 1}"))
    expected = {
        "/404": "HTTP 404 Not Found",
        "/500": "HTTP 500 Internal Server Error",
        "/slow": "no response from 127.0.0.1",
        "/big": "larger than the 0.2 MB download cap",
        "/endless": "larger than the 0.2 MB download cap",
        "/pdf": "not an HTML page (application/pdf)",
        "/loop/a": "redirect loop",
        "/hops/0": "too many redirects (more than 5)",
    }
    items = [{"title": p, "link": web.url(p), "guid": p} for p in ["/ok", "/cp1256", *expected]]
    feed = web.route("/feed.xml", rss("Mixed", items), content_type="application/rss+xml")
    malformed = web.route("/bad.xml", "<?xml version='1.0'?><rss><channel><item><title>x</ti")
    dead = f"http://127.0.0.1:{closed_port()}/feed.xml"
    sources = [feed, malformed, dead, "http://news.invalid/feed.xml"]

    report = reindex(net, sources)

    got = reasons(report)
    for path, reason in expected.items():
        assert reason in got.pop(web.url(path)), (path, report.skipped)
    assert "malformed feed XML" in got.pop(malformed)
    assert got.pop(dead).startswith("connection refused (127.0.0.1:")
    assert got.pop("http://news.invalid/feed.xml") == "DNS lookup failed for news.invalid"
    assert not got, got
    assert report.added == 2  # the good page and the mislabelled Arabic one
    titles = {a["title"] for a in articles(net).values()}
    assert titles == {"/ok", "/cp1256"}
    assert ok in articles(net)


def test_a_feed_of_ten_thousand_entries_is_cut_and_reported(net, web):
    items = [
        {"title": f"Item {i}", "link": web.url(f"/item/{i}"), "guid": str(i)} for i in range(10_000)
    ]
    for i in range(2):
        web.route(f"/item/{i}", page(f"Item {i}", [f"Entry number {i} of a very long feed. " * 4]))
    feed = web.route("/huge.xml", rss("Huge", items), content_type="application/rss+xml")
    big = net.model_copy(update={"feed_max_entries": 2, "fetch_max_mb": 5.0})
    report = reindex(big, [feed])
    assert report.added == 2
    (skipped,) = report.skipped
    assert skipped.path == feed
    assert "lists 10000 entries; read the first 2" in skipped.reason


def test_conditional_requests_fetch_only_what_changed(net, web):
    def publish(entries):
        web.route("/feed.xml", rss("Local", entries), content_type="application/rss+xml")

    one = {"title": "Storm", "link": web.url("/a/1"), "guid": "1",
           "pubDate": "Tue, 12 Nov 2024 10:00:00 GMT"}  # fmt: skip
    two = {"title": "Market", "link": web.url("/a/2"), "guid": "2",
           "pubDate": "Tue, 12 Nov 2024 11:00:00 GMT"}  # fmt: skip
    web.route("/a/1", page("Storm", ["A storm hit the coast overnight, cutting power. " * 4]))
    web.route("/a/2", page("Market", ["The market opened with fresh fish and fruit. " * 4]))
    publish([one, two])
    feed = web.url("/feed.xml")

    first = reindex(net, [feed])
    assert (first.added, first.unchanged) == (2, 0)

    second = reindex(net, [feed])
    assert (second.added, second.updated, second.unchanged) == (0, 0, 2)
    last = web.requests_to("/feed.xml")[-1]
    assert last.status == 304 and last.headers.get("if-none-match")
    assert len(web.requests_to("/a/1")) == 1  # nothing fetched again

    # The storm story is updated (new time, new text) and a third story appears.
    web.route("/a/1", page("Storm", ["The storm left 3 people injured, officials said. " * 4]))
    web.route("/a/3", page("Bridge", ["The old bridge will close for repairs in March. " * 4]))
    three = {"title": "Bridge", "link": web.url("/a/3"), "guid": "3"}
    publish([{**one, "pubDate": "Wed, 13 Nov 2024 08:00:00 GMT"}, two, three])
    third = reindex(net, [feed])
    assert (third.added, third.updated, third.unchanged) == (1, 1, 1)
    assert len(web.requests_to("/a/2")) == 1  # unchanged entry: its page is not fetched again

    # Stories that drop out of the feed stay indexed: a feed lists only its latest items.
    publish([three])
    fourth = reindex(net, [feed])
    assert fourth.removed == 0 and len(articles(net)) == 3


def test_article_urls_and_the_sources_file(net, web, write_files, tmp_path):
    url = web.route(
        "/story",
        page("Port strike ends", ["Dock workers ended their strike on Friday. " * 5],
             date="2024-11-15", site="Harbour News"),
    )  # fmt: skip
    report = reindex(net, [url])
    assert report.added == 1, report.skipped
    story = articles(net)[url]
    assert story["title"] == "Port strike ends" and story["source"] == "Harbour News"
    assert story["published"] == "2024-11-15"

    # `reindex` with no arguments: the articles dir and the feeds of the sources file
    write_files(net.articles_dir, {"local.md": "# Local note\n\nThe library opens late today."})
    feed_file = tmp_path / "feeds" / "local.rss"
    feed_file.parent.mkdir()
    feed_file.write_text(
        rss(
            "File feed",
            [
                {
                    "title": "From a file",
                    "link": "https://example.invalid/x",
                    "guid": "x",
                    "content": f"<p>{LONG}</p>",
                }
            ],
        ),
        "utf-8",
    )
    net.sources_file.write_text(
        f'[[feed]]\nurl = "feeds/local.rss"\nname = "Town Hall"\n\n[[page]]\nurl = "{url}"\n',
        "utf-8",
    )
    specs = read_sources(net.sources_file)
    assert specs[0] == RemoteSpec(str(feed_file), "feed", "Town Hall", None)
    report = reindex(net)
    assert (report.added, report.unchanged) == (2, 1), report.skipped
    sources = {a["title"]: a["source"] for a in articles(net).values()}
    assert sources["From a file"] == "Town Hall" and sources["Local note"] is None


def test_sources_file_errors_and_the_shipped_example():
    assert read_sources(REPO / "data" / "sources.toml") == []  # examples only, all commented
    assert "[[feed]]" in (REPO / "data" / "sources.toml").read_text("utf-8")


@pytest.mark.parametrize(
    "content,message",
    [("[[feed]]\nurl = 3\n", "malformed"), ("[[feed]\n", "not valid TOML"),
     ('[[feeds]]\nurl = "x"\n', "malformed")],
)  # fmt: skip
def test_a_malformed_sources_file_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "sources.toml"
    path.write_text(content, "utf-8")
    with pytest.raises(ConfigError, match=message):
        read_sources(path)
    assert read_sources(tmp_path / "missing.toml") == []


# --- watching ----------------------------------------------------------------------------------


def test_watch_polls_in_the_background_with_conditional_requests(net, web):
    web.route("/w/1", page("Ferry", ["The ferry service resumes next week. " * 5]))
    feed = web.route(
        "/watch.xml",
        rss("Watch", [{"title": "Ferry", "link": web.url("/w/1"), "guid": "1"}]),
        content_type="application/rss+xml",
    )
    reports: list[Report] = []
    two = threading.Event()

    def on_report(report: Report) -> None:
        reports.append(report)
        if len(reports) >= 2:
            two.set()

    fast = net.model_copy(update={"watch_minutes": 0.001})
    watcher = start_background_watch(fast, on_report, sources=[feed])
    try:
        assert two.wait(60), "the watcher did not poll twice"
    finally:
        watcher.stop(timeout=30)
    assert reports[0].added == 1 and reports[1].added == 0 and reports[1].unchanged == 1
    assert web.requests_to("/watch.xml")[1].status == 304
    assert len(web.requests_to("/w/1")) == 1


def test_watch_needs_something_to_watch(net):
    with pytest.raises(ConfigError, match="no feeds to watch"):
        watched(net)


def test_a_failed_poll_is_reported_and_the_watcher_goes_on(net, web):
    broken = net.model_copy(update={"chroma_url": "http://127.0.0.1:1"})
    feed = web.route(
        "/f.xml", rss("F", [{"title": "T", "link": "http://x/1", "content": f"<p>{LONG}</p>"}])
    )
    watcher = Watcher(broken, [RemoteSpec(feed)])
    watcher.run(once=True)
    assert watcher.polls == 1 and watcher.last_error and "Chroma" in watcher.last_error


def test_cli_reindex_url_and_watch_once(net, web, capsys):
    url = web.route(
        "/cli",
        page("Museum", ["The museum reopens on Saturday after repairs. " * 4], site="City Post"),
    )
    feed = web.route(
        "/cli.xml",
        rss("CLI", [{"title": "Museum", "link": url, "guid": "m"}]),
        content_type="application/rss+xml",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update(
        NEWSBOT_STORE_DIR=str(net.store_dir),
        NEWSBOT_ARTICLES_DIR=str(net.articles_dir),
        NEWSBOT_SOURCES_FILE=str(net.sources_file),
        NEWSBOT_FETCH_TIMEOUT="2",
        NEWSBOT_FETCH_ALLOW_PRIVATE="true",
    )
    newsbot = str(Path(sys.executable).parent / "newsbot")
    run = subprocess.run(
        [newsbot, "reindex", url, "http://news.invalid/x", "--json"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout.strip().splitlines()[-1])
    assert data["added"] == 1
    assert data["skipped"] == [{"path": "http://news.invalid/x",
                                "reason": "DNS lookup failed for news.invalid"}]  # fmt: skip
    assert "skipped http://news.invalid/x: DNS lookup failed" in run.stderr
    args = build_parser().parse_args(["watch", feed, "--once", "--json", "--every", "5"])
    assert args.func is cmd_watch and args.watch_minutes == 5.0
    assert watch(net, [feed], once=True, as_json=True) == 0  # what cmd_watch runs, in-process
    data = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # the same article, already indexed from its URL: the feed changes nothing
    assert (data["unchanged"], data["added"], data["updated"]) == (1, 0, 0)


def test_a_feed_file_in_the_articles_folder_is_read_offline(settings, write_files):
    doc = rss(
        "أخبار محلية",
        [
            {"title": "افتتاح الجسر", "link": "https://example.invalid/bridge", "guid": "b",
             "pubDate": "Mon, 18 Nov 2024 07:00:00 GMT",
             "content": "<p>" + "افتتحت البلدية الجسر الجديد صباح الاثنين بحضور السكان. " * 8
             + "</p>"},
            {"title": "رابط فقط", "link": "https://example.invalid/only-link", "guid": "l"},
        ],
        language="ar",
    ).replace('encoding="utf-8"', 'encoding="windows-1256"')  # fmt: skip
    write_files(settings.articles_dir, {"saved.rss": doc.encode("cp1256")})
    report = reindex(settings)
    assert report.added == 1
    (skipped,) = report.skipped
    assert (
        skipped.path == "saved.rss#2" and "links in a feed file are not fetched" in skipped.reason
    )
    (bridge,) = articles(settings).values()
    assert bridge["title"] == "افتتاح الجسر" and bridge["source"] == "أخبار محلية"
    assert bridge["published"] == "2024-11-18T07:00:00+00:00" and bridge["language"] == "ar"
