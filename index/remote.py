"""Feeds (RSS/Atom) and article pages, fetched over HTTP (or read from files), as sources.

``RemoteReader.read(spec, validators)`` turns one feed or page into ``RemoteItem``s for the
reindex: each item has a key (the article's URL), a hash of what the source says about it (the
feed entry, or the page's bytes) and a ``load()`` that gives the article. The reindex compares
the hash with the manifest before calling ``load()``, so an unchanged entry costs nothing and
its page is not fetched again. Feeds are fetched with conditional requests: the ETag /
Last-Modified saved from the last read come in as ``validators`` (the reindex keeps them in the
manifest under ``Remote.meta_key``), and a feed that answers 304 Not Modified yields no items.

An entry whose feed carries its full text (``content:encoded``, or a long description) is
indexed from the feed; otherwise its link is fetched and the page's main text and metadata are
extracted by the same trafilatura code as .html files. The published date is the feed entry's,
else the page's metadata. Parsing the feed itself is index/feeds.py's.

Failures concern one item, which is skipped with its reason while the rest is read
(``Skipped(where, reason)``)::

    DNS           "DNS lookup failed for news.invalid"        (bounded by fetch_timeout)
    address       "refused to fetch from 10.0.0.5 (10.0.0.5: a private address; ...)"
    refused       "connection refused (127.0.0.1:9)"
    HTTP status   "HTTP 404 Not Found", "HTTP 503 Service Unavailable"
    timeouts      "timed out connecting", "no response within 2s", "download took over 6s",
                  "no complete response within 6s" (headers trickled in)
    size          "larger than the 5 MB download cap"
    redirects     "redirect loop", "too many redirects (more than 5)"
    content       "not an HTML page (application/pdf)", "not an RSS or Atom feed"
    charset       a wrong declared charset is recovered (UTF-8, then declared, then cp1256)
    XML           "malformed feed XML (...)" when nothing could be read from it
    size of feed  a feed of more entries than feed_max_entries is cut to its first ones, with
                  a note of how many were left out

Every request has one deadline, three times ``fetch_timeout``, that every socket read and
write counts against, headers included: a server that sends a header line every second never
trips a per-read timeout, but it trips this. Addresses are checked where the connection is made
(``_Guard``, httpcore's network backend): the name is resolved once, each address it gives is
classified (``address_problem``), the connection goes to an allowed address by number (so the
name cannot resolve differently a second time), and the peer address is checked again. Loopback,
private, link-local, multicast, reserved and other non-public addresses are refused unless
``fetch_allow_private``; this holds for every hop of a redirect, and a redirect to another host
or port is logged (INFO, ``-v``). Proxies from the environment are not used: the address the
bot connects to is the one checked.

httpx is imported only when something is fetched, feedparser only when a feed is parsed.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import mimetypes
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from index.articles import (
    Article,
    BadInput,
    Loaded,
    Record,
    Skipped,
    SourceFile,
    load_html,
    to_article,
)
from index.feeds import Entry, FeedError, ParsedFeed, parse_feed
from index.settings import Settings
from index.sources import RemoteSpec, is_url
from index.text import BOM_ENCODINGS, decode_bytes

logger = logging.getLogger(__name__)

# Feed text at least this long is taken as the article; shorter (a teaser) means fetch the page.
FULL_TEXT_CHARS = 500
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_FEED_SNIFF = re.compile(
    rb"^\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:rss|feed|rdf:RDF)\b", re.S
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)


class FetchFailed(Exception):
    """One feed or page could not be read; ``reason`` says why, fit to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Response:
    """A fetched (or read) document; ``status`` 304 means unchanged since the validators."""

    url: str
    status: int
    media_type: str | None
    charset: str | None
    content: bytes
    etag: str | None = None
    last_modified: str | None = None


# --- fetching ----------------------------------------------------------------------------------


def address_problem(ip: str) -> str | None:
    """What kind of non-public address ``ip`` is ("loopback", "private", ...), None if public."""
    addr: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped  # ::ffff:127.0.0.1 is loopback too
    kinds = (
        ("loopback", addr.is_loopback),
        ("link-local", addr.is_link_local),  # 169.254.169.254: cloud metadata
        ("multicast", addr.is_multicast),
        ("unspecified", addr.is_unspecified),
        ("reserved", addr.is_reserved),
        ("private", addr.is_private),
        ("non-public", not addr.is_global),  # shared (100.64/10), documentation, ...
    )
    return next((kind for kind, hit in kinds if hit), None)


class _Guard:
    """httpcore's network backend for the Fetcher: DNS within the timeout, the address policy
    on the address connected to, and the request's deadline on every read and write."""

    def __init__(self, timeout: float, allow_private: bool) -> None:
        import httpcore

        self._inner = httpcore.SyncBackend()
        self.timeout = timeout
        self.allow_private = allow_private
        self.deadline = math.inf  # set by Fetcher.get for the request under way
        self._dns: dict[str, list[str] | str] = {}  # host -> addresses, or why it failed

    def budget(self, timeout: float | None, error: type[Exception]) -> float:
        """Seconds the next socket operation may take: its own timeout, within the deadline."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise error("the request's deadline passed")
        return left if timeout is None else min(timeout, left)

    def resolve(self, host: str) -> list[str]:
        """The addresses of ``host``, looked up once per fetcher, within the timeout
        (getaddrinfo itself can block for long); FetchFailed when it fails."""
        known = self._dns.get(host)
        if isinstance(known, str):
            raise FetchFailed(known)
        if known is not None:
            return known
        try:
            ipaddress.ip_address(host)
            self._dns[host] = [host]
            return [host]
        except ValueError:
            pass
        outcome: dict[str, Any] = {}

        def lookup() -> None:
            try:
                infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
                outcome["ok"] = list(dict.fromkeys(str(info[4][0]) for info in infos))
            except OSError as exc:
                outcome["error"] = exc

        wait = min(self.timeout, max(0.0, self.deadline - time.monotonic()))
        worker = threading.Thread(target=lookup, name=f"dns-{host}", daemon=True)
        worker.start()
        worker.join(wait)
        if worker.is_alive():
            failure = f"DNS lookup for {host} took over {wait:g}s"
        elif "error" in outcome or not outcome.get("ok"):
            failure = f"DNS lookup failed for {host}"
        else:
            self._dns[host] = outcome["ok"]
            return list(outcome["ok"])
        self._dns[host] = failure
        raise FetchFailed(failure)

    def _refusal(self, host: str, ip: str) -> str | None:
        if self.allow_private:
            return None
        kind = address_problem(ip.split("%")[0])
        if kind is None:
            return None
        article = "an" if kind[0] in "aeiou" else "a"
        return (
            f"refused to fetch from {host} ({ip}: {article} {kind} address; "
            "NEWSBOT_FETCH_ALLOW_PRIVATE=true allows it)"
        )

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> Any:
        import httpcore

        refused: str | None = None
        failure: Exception | None = None
        for ip in self.resolve(host):
            refused = self._refusal(host, ip)
            if refused:
                continue
            budget = self.budget(timeout, httpcore.ConnectTimeout)
            try:
                stream = self._inner.connect_tcp(ip, port, budget, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            peer = str(stream.get_extra_info("server_addr")[0])
            refused = self._refusal(host, peer)
            if refused:  # never expected (we connected by number), but this is the check
                stream.close()
                continue
            return _DeadlineStream(stream, self)
        if failure is not None:
            raise failure
        raise FetchFailed(refused or f"DNS lookup failed for {host}")

    def connect_unix_socket(self, path: str, timeout: float | None = None, **kw: Any) -> Any:
        raise FetchFailed("unix sockets are not fetched")  # pragma: no cover - never asked

    def sleep(self, seconds: float) -> None:  # pragma: no cover - retries are off
        time.sleep(seconds)


class _DeadlineStream:
    """A connection whose reads and writes end by the request's deadline (headers included)."""

    def __init__(self, inner: Any, guard: _Guard) -> None:
        self._inner = inner
        self._guard = guard

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        import httpcore

        data: bytes = self._inner.read(max_bytes, self._guard.budget(timeout, httpcore.ReadTimeout))
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        import httpcore

        self._inner.write(buffer, self._guard.budget(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> _DeadlineStream:
        import httpcore

        budget = self._guard.budget(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, budget), self._guard
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def _transport(guard: _Guard) -> Any:
    """httpx's own transport, its connection pool on the guarded network backend."""
    import httpcore
    import httpx

    transport = httpx.HTTPTransport(trust_env=False)
    transport._pool = httpcore.ConnectionPool(  # the one seam httpx leaves for a backend
        ssl_context=httpx.create_ssl_context(trust_env=False),
        network_backend=guard,  # type: ignore[arg-type]
    )
    return transport


class Fetcher:
    """An httpx client with the fetch settings: timeouts, one deadline per request, a size cap,
    bounded redirects, the address policy."""

    def __init__(self, settings: Settings) -> None:
        import httpx

        self.timeout = settings.fetch_timeout
        self.max_bytes = int(settings.fetch_max_mb * 1_000_000)
        self.max_redirects = settings.fetch_max_redirects
        self.guard = _Guard(settings.fetch_timeout, settings.fetch_allow_private)
        self.client = httpx.Client(
            transport=_transport(self.guard),  # also: no proxies from the environment
            timeout=httpx.Timeout(settings.fetch_timeout),
            follow_redirects=False,  # followed by hand: each hop's address is checked, loops named
            headers={
                "User-Agent": settings.fetch_user_agent,
                "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
                "text/html;q=0.9, text/xml;q=0.8, */*;q=0.5",
            },
        )

    def close(self) -> None:
        self.client.close()

    def get(self, url: str, validators: Mapping[str, str] | None = None) -> Response:
        """GET ``url``; raises FetchFailed with a reason for every kind of failure."""
        import httpx

        headers = {}
        if validators:
            if validators.get("etag"):
                headers["If-None-Match"] = validators["etag"]
            if validators.get("last_modified"):
                headers["If-Modified-Since"] = validators["last_modified"]
        seen = {url}
        total = 3 * self.timeout
        self.guard.deadline = time.monotonic() + total
        try:
            for _hop in range(self.max_redirects + 1):
                parts = urlsplit(url)
                if parts.scheme not in ("http", "https") or not parts.hostname:
                    raise FetchFailed(f"not a web address: {url}")
                try:
                    response = self._get_once(url, headers)
                except httpx.HTTPError as exc:
                    if time.monotonic() >= self.guard.deadline:
                        raise FetchFailed(f"no complete response within {total:g}s") from exc
                    raise FetchFailed(_reason(exc, parts, self.timeout)) from exc
                if isinstance(response, str):  # a redirect: the next URL
                    if _origin(response) != _origin(url):
                        logger.info("%s redirects to another host or port: %s", url, response)
                    url = response
                    if url in seen:
                        raise FetchFailed("redirect loop")
                    seen.add(url)
                    continue
                return response
            raise FetchFailed(f"too many redirects (more than {self.max_redirects})")
        finally:
            self.guard.deadline = math.inf

    def _get_once(self, url: str, headers: dict[str, str]) -> Response | str:
        started = time.monotonic()
        with self.client.stream("GET", url, headers=headers) as r:
            if r.status_code == 304:
                return Response(url, 304, None, None, b"")
            if r.status_code in (301, 302, 303, 307, 308):
                location = r.headers.get("location")
                if not location:
                    raise FetchFailed(f"HTTP {r.status_code} redirect without a Location")
                return urljoin(url, location)
            if r.status_code >= 400:
                raise FetchFailed(f"HTTP {r.status_code} {r.reason_phrase}".strip())
            if r.status_code != 200:
                raise FetchFailed(f"HTTP {r.status_code} {r.reason_phrase} (expected 200)".strip())
            declared = r.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_bytes:
                raise FetchFailed(self._too_big())
            body = bytearray()
            for piece in r.iter_bytes():
                body += piece
                if len(body) > self.max_bytes:
                    raise FetchFailed(self._too_big())
                if time.monotonic() - started > 3 * self.timeout:
                    raise FetchFailed(f"download took over {3 * self.timeout:g}s")
            media, charset = _content_type(r.headers.get("content-type"))
            return Response(
                str(r.url),
                200,
                media,
                charset,
                bytes(body),
                r.headers.get("etag"),
                r.headers.get("last-modified"),
            )

    def _too_big(self) -> str:
        return f"larger than the {self.max_bytes / 1e6:g} MB download cap"


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        port = None
    return parts.scheme, parts.hostname, port


def _reason(exc: Exception, parts: Any, timeout: float) -> str:
    import httpx

    where = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    text = str(exc).lower()
    if isinstance(exc, httpx.ConnectTimeout):
        return f"timed out connecting to {where} after {timeout:g}s"
    if isinstance(exc, httpx.TimeoutException):
        return f"no response from {where} within {timeout:g}s"
    if isinstance(exc, httpx.ConnectError):
        if "refused" in text:
            return f"connection refused ({where})"
        if "name or service" in text or "nodename" in text or "name resolution" in text:
            return f"DNS lookup failed for {parts.hostname}"
        return f"cannot connect to {where} ({exc})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"broken HTTP response from {where}"
    if isinstance(exc, httpx.DecodingError):
        return "undecodable compressed response"
    return f"fetch failed ({type(exc).__name__}: {exc})"


def _content_type(header: str | None) -> tuple[str | None, str | None]:
    if not header:
        return None, None
    media, _, params = header.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip().strip("\"'").lower()
    return media.strip().lower() or None, charset


def read_local(path: Path, max_bytes: int) -> Response:
    """A feed or page file, as if fetched."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FetchFailed(f"larger than the {max_bytes / 1e6:g} MB cap")
        raw = path.read_bytes()
    except OSError as exc:
        raise FetchFailed(f"unreadable: {exc.strerror or exc}") from exc
    media = mimetypes.guess_type(path.name)[0]
    if path.suffix.lower() in (".rss", ".atom"):
        media = "application/rss+xml"
    return Response(str(path), 200, media, None, raw)


def looks_like_feed(response: Response) -> bool:
    media = response.media_type or ""
    if media.endswith(("rss+xml", "atom+xml", "rdf+xml")):
        return True
    return bool(_FEED_SNIFF.match(response.content[:2048]))


# --- pages -------------------------------------------------------------------------------------


def page_text(raw: bytes, declared: str | None) -> str:
    """Page bytes to text: a BOM, else UTF-8, else the declared charset, else the one a
    ``<meta>`` names, else Windows-1256.

    UTF-8 is tried first because a page that decodes as UTF-8 almost surely is (servers often
    declare a wrong charset); a wrong UTF-8 declaration on Arabic cp1256 bytes is recovered.
    """
    meta = _META_CHARSET.search(raw[:4096])
    named = meta.group(1).decode("ascii", "ignore").lower() if meta else None
    text, used = decode_bytes(raw, (declared, named), bom_errors="replace")
    if used not in ("utf-8", declared) and used not in BOM_ENCODINGS:
        logger.info("page is not %s as declared; read as %s", declared or "UTF-8", used)
    return text


def page_record(response: Response) -> Record:
    """The main text and metadata of an HTML page (the .html loader's extraction)."""
    if response.media_type and response.media_type not in _HTML_TYPES:
        raise FetchFailed(f"not an HTML page ({response.media_type})")
    if not response.media_type and b"<html" not in response.content[:4096].lower():
        raise FetchFailed("not an HTML page")
    text = page_text(response.content, response.charset)
    try:
        record = next(iter(load_html(text, SourceFile(Path("page.html"), response.url, 0))))
    except BadInput as exc:
        raise FetchFailed(str(exc)) from exc
    if not isinstance(record, dict):  # pragma: no cover - the .html loader yields one record
        raise FetchFailed(record.reason)
    return record


# --- reading sources ---------------------------------------------------------------------------


@dataclass
class RemoteItem:
    """One article a remote source offers: ``load()`` is called only when ``digest`` is new."""

    key: str
    digest: str
    load: Callable[[], Loaded]


@dataclass
class Remote:
    """What reading one feed or page gave: its items, what was skipped, and its validators."""

    spec: RemoteSpec
    items: list[RemoteItem] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    validators: dict[str, str] = field(default_factory=dict)
    not_modified: bool = False

    @property
    def root(self) -> str:
        return f"remote:{self.spec.url}"

    @property
    def meta_key(self) -> str:
        return f"http:{self.spec.url}"


def _article(record: Record, key: str) -> Article:
    src = SourceFile(Path("remote"), key, 0)
    return to_article(record, src)


class RemoteReader:
    """Reads feeds and pages for one reindex; holds one HTTP client (opened on first use).

    ``full``: fetch everything again, ignoring the saved validators.
    """

    def __init__(self, settings: Settings, full: bool = False) -> None:
        self.settings = settings
        self.full = full
        self._fetcher: Fetcher | None = None

    def close(self) -> None:
        if self._fetcher is not None:
            self._fetcher.close()

    def __enter__(self) -> RemoteReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def fetcher(self) -> Fetcher:
        if self._fetcher is None:
            self._fetcher = Fetcher(self.settings)
        return self._fetcher

    def fetch(self, url: str, validators: Mapping[str, str] | None = None) -> Response:
        if is_url(url):
            return self.fetcher.get(url, validators)
        return read_local(Path(url), int(self.settings.fetch_max_mb * 1_000_000))

    def read(self, spec: RemoteSpec, validators: Mapping[str, str] | None = None) -> Remote:
        """The items of one feed or page; failures are in ``skipped``, never raised.

        ``validators``: the ``etag`` / ``last_modified`` of the last read (``Remote.validators``
        as saved), sent as a conditional request unless ``full`` or ``spec`` is a file.
        """
        remote = Remote(spec)
        sent = dict(validators) if validators and not self.full and is_url(spec.url) else None
        started = time.perf_counter()
        try:
            response = self.fetch(spec.url, sent)
            if response.status == 304:
                remote.not_modified = True
                remote.validators = sent or {}
                logger.info("%s: not modified", spec.url)
                return remote
            remote.validators = {
                k: v
                for k, v in (("etag", response.etag), ("last_modified", response.last_modified))
                if v
            }
            is_feed = spec.kind == "feed" or (spec.kind == "auto" and looks_like_feed(response))
            if is_feed:
                self._read_feed(remote, response)
            else:
                self._read_page(remote, response)
        except (FetchFailed, FeedError) as exc:
            remote.skipped.append(Skipped(spec.url, exc.reason))
        logger.info(
            "%s: %d items, %d skipped, %.2fs",
            spec.url, len(remote.items), len(remote.skipped), time.perf_counter() - started,
        )  # fmt: skip
        return remote

    def _read_page(self, remote: Remote, response: Response) -> None:
        record = page_record(response)  # fetched already: extract now, report failures here
        spec = remote.spec
        record["url"] = record.get("url") if not is_url(spec.url) else spec.url
        record["source"] = spec.name or record.get("source")
        record["language"] = spec.language or record.get("language")
        digest = hashlib.sha256(response.content).hexdigest()
        key = spec.url

        def load() -> Loaded:
            out = Loaded()
            try:
                out.articles.append(_article(record, key))
            except BadInput as exc:
                out.skipped.append(Skipped(key, str(exc)))
            return out

        remote.items.append(RemoteItem(key, digest, load))

    def _read_feed(self, remote: Remote, response: Response) -> None:
        spec = remote.spec
        cap = self.settings.feed_max_entries
        feed = parse_feed(response.content, response.url, response.media_type, cap)
        for problem in feed.problems:
            logger.warning("%s: %s", spec.url, problem)
        if feed.total > len(feed.entries) and len(feed.entries) >= cap:
            remote.skipped.append(
                Skipped(
                    spec.url,
                    f"the feed lists {feed.total} entries; read the first {cap} "
                    f"(NEWSBOT_FEED_MAX_ENTRIES), left out {feed.total - cap}",
                )
            )
        for entry in feed.entries:
            if not entry.link and not entry.text:
                remote.skipped.append(Skipped(entry.key, "feed entry has no link and no text"))
                continue
            remote.items.append(
                RemoteItem(entry.key, entry.digest, self._entry_loader(spec, feed, entry))
            )

    def _entry_loader(
        self, spec: RemoteSpec, feed: ParsedFeed, entry: Entry
    ) -> Callable[[], Loaded]:
        def load() -> Loaded:
            out = Loaded()
            record: Record = {"text": entry.text, "url": entry.link}
            try:
                if len(entry.text) < FULL_TEXT_CHARS:
                    if not entry.link or not is_url(entry.link):
                        if not entry.text:
                            raise FetchFailed("feed entry has no text and no web link")
                    else:
                        page = page_record(self.fetch(entry.link))
                        record = {**page, "url": entry.link}
                record["title"] = entry.title or record.get("title")
                record["published"] = entry.published or record.get("published")
                # The page names its outlet better than a feed title ("World news") does.
                record["source"] = spec.name or record.get("source") or feed.title
                record["language"] = spec.language or record.get("language") or feed.language
                out.articles.append(_article(record, entry.key))
            except FetchFailed as exc:
                out.skipped.append(Skipped(entry.link or entry.key, exc.reason))
            except BadInput as exc:
                out.skipped.append(Skipped(entry.link or entry.key, str(exc)))
            return out

        return load
