"""A small web server on 127.0.0.1 for feed and page tests: routes set per test, requests logged.

``FakeWeb.route(path, body, ...)`` serves a document (with an ETag and Last-Modified, honouring
conditional requests); ``redirect``, ``stall``, ``endless`` and ``trickle`` (one header line at a
time) make the failure cases. Every wait is bounded: a stalled handler is released when the
server stops.
"""

from __future__ import annotations

import hashlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    validators: bool = True  # send ETag / Last-Modified and answer 304 when they match
    location: str | None = None  # a redirect
    stall: float = 0.0  # seconds to wait before answering (released when the server stops)
    endless: bool = False  # stream without end (no Content-Length)
    trickle: float = 0.0  # seconds between header lines (60 of them), then the document


@dataclass(frozen=True)
class Hit:
    path: str
    headers: dict[str, str]
    status: int


class FakeWeb:
    """Routes, a request log and the server's base URL."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[Hit] = []
        self.stopping = threading.Event()
        self.base = ""
        self._lock = threading.Lock()

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, body: str | bytes = b"", **kw: object) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.routes[path] = Route(body=data, **kw)  # type: ignore[arg-type]
        return self.url(path)

    def redirect(self, path: str, to: str, status: int = 302) -> str:
        self.routes[path] = Route(status=status, location=to, validators=False)
        return self.url(path)

    def requests_to(self, path: str) -> list[Hit]:
        with self._lock:
            return [h for h in self.hits if h.path == path]

    def log(self, hit: Hit) -> None:
        with self._lock:
            self.hits.append(hit)


def _handler(web: FakeWeb) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:
            route = web.routes.get(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            if route is None:
                self._send(404, b"not found", "text/plain", {})
                web.log(Hit(self.path, headers, 404))
                return
            if route.stall:
                web.stopping.wait(route.stall)
            if route.location is not None:
                web.log(Hit(self.path, headers, route.status))
                self._send(route.status, b"", "text/plain", {"Location": route.location})
                return
            extra = dict(route.headers)
            if route.validators and route.status == 200:
                etag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
                modified = formatdate(1731400000 + len(route.body), usegmt=True)
                extra.setdefault("ETag", etag)
                extra.setdefault("Last-Modified", modified)
                if headers.get("if-none-match") == etag or (
                    "if-none-match" not in headers and headers.get("if-modified-since") == modified
                ):
                    web.log(Hit(self.path, headers, 304))
                    self._send(304, b"", None, extra)
                    return
            web.log(Hit(self.path, headers, route.status))
            if route.trickle:
                self._trickle(route)
                return
            if route.endless:
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Connection", "close")
                self.end_headers()
                chunk = b"<p>" + b"x" * 65536 + b"</p>"
                try:
                    while not web.stopping.is_set():
                        self.wfile.write(chunk)
                except OSError:
                    pass
                self.close_connection = True
                return
            self._send(route.status, route.body, route.content_type, extra)

        def _trickle(self, route: Route) -> None:
            """The status line, then one header line every ``route.trickle`` seconds: each
            read finds data, so only a whole-request deadline stops the client waiting."""
            self.close_connection = True
            try:
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                self.wfile.flush()
                for i in range(60):
                    if web.stopping.wait(route.trickle):
                        return
                    self.wfile.write(f"X-Trickle-{i}: .\r\n".encode())
                    self.wfile.flush()
                self.wfile.write(
                    f"Content-Type: {route.content_type}\r\nContent-Length: {len(route.body)}"
                    "\r\nConnection: close\r\n\r\n".encode()
                    + route.body
                )
            except OSError:  # the client gave up, as it should
                pass

        def _send(
            self, status: int, body: bytes, content_type: str | None, extra: dict[str, str]
        ) -> None:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            for k, v in extra.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body:
                with suppress(OSError):  # the client gave up (a timeout test)
                    self.wfile.write(body)

    return Handler


@contextmanager
def serve() -> Iterator[FakeWeb]:
    """A FakeWeb listening on a free loopback port for the duration of the block."""
    web = FakeWeb()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(web))
    server.daemon_threads = True
    web.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield web
    finally:
        web.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)


def closed_port() -> int:
    """A loopback port where nothing listens (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- documents ---------------------------------------------------------------------------------


def rss(title: str, items: list[dict[str, str]], language: str | None = None) -> str:
    """An RSS 2.0 feed; each item may have title, link, guid, pubDate, description, content."""
    parts = []
    for it in items:
        fields = []
        for tag in ("title", "link", "guid", "pubDate"):
            if it.get(tag):
                fields.append(f"<{tag}>{_xml(it[tag])}</{tag}>")
        if it.get("description"):
            fields.append(f"<description>{_xml(it['description'])}</description>")
        if it.get("content"):
            fields.append(f"<content:encoded><![CDATA[{it['content']}]]></content:encoded>")
        parts.append("<item>" + "".join(fields) + "</item>")
    lang = f"<language>{language}</language>" if language else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
        f"<channel><title>{_xml(title)}</title>{lang}{''.join(parts)}</channel></rss>"
    )


def atom(title: str, entries: list[dict[str, str]]) -> str:
    """An Atom feed; each entry may have title, link, id, updated, summary, content."""
    parts = []
    for e in entries:
        fields = [f"<title>{_xml(e.get('title', ''))}</title>"]
        if e.get("link"):
            fields.append(f'<link href="{_xml(e["link"])}"/>')
        fields.append(f"<id>{_xml(e.get('id') or e.get('link') or e['title'])}</id>")
        if e.get("updated"):
            fields.append(f"<updated>{e['updated']}</updated>")
        if e.get("summary"):
            fields.append(f"<summary>{_xml(e['summary'])}</summary>")
        if e.get("content"):
            fields.append(f'<content type="html">{_xml(e["content"])}</content>')
        parts.append("<entry>" + "".join(fields) + "</entry>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{_xml(title)}</title><id>urn:test</id><updated>2024-11-14T00:00:00Z</updated>"
        f"{''.join(parts)}</feed>"
    )


def page(
    title: str, paragraphs: list[str], date: str | None = None, site: str | None = None
) -> str:
    """An article page with OpenGraph/article metadata, as trafilatura reads them."""
    meta = [f'<meta property="og:title" content="{_xml(title)}">']
    if date:
        meta.append(f'<meta property="article:published_time" content="{date}">')
    if site:
        meta.append(f'<meta property="og:site_name" content="{_xml(site)}">')
    body = "".join(f"<p>{_xml(p)}</p>" for p in paragraphs)
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{_xml(title)}</title>"
        f"{''.join(meta)}</head><body><nav>Home | World | Sport</nav><article><h1>"
        f"{_xml(title)}</h1>{body}</article><footer>Contact us</footer></body></html>"
    )


def _xml(text: str) -> str:
    from html import escape

    return escape(text, quote=True).replace("&#x27;", "'")
