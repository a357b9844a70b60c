"""A fake Telegram Bot API server on 127.0.0.1, speaking the real wire protocol.

The bot under test talks to it unchanged through ``NEWSBOT_TELEGRAM_API_URL`` (``url + "/bot"``).
It runs an aiohttp server in a background thread with its own event loop, so tests drive it with
plain blocking calls while the bot runs in its own loop or process.

What it does, as Telegram does (https://core.telegram.org/bots/api):
- ``/bot<TOKEN>/<method>``: a wrong token answers 401, an unknown method 404.
- getMe, deleteWebhook, getUpdates (long polling: ``timeout``, ``offset`` confirms and forgets
  earlier updates, ``limit``), sendMessage, sendChatAction, setMyCommands, getMyCommands,
  editMessageText, answerCallbackQuery, sendMessageDraft (streamed drafts, private chats only).
- ``parse_mode=HTML`` is parsed as Telegram parses it: only its tags, properly nested, entities
  ``&lt; &gt; &amp; &quot;`` and numeric ones; otherwise 400 "Bad Request: can't parse entities".
- 4096 characters (UTF-16 units) of visible text after parsing, else 400 "message is too long".

What it adds for tests:
- ``fail_next_sends(n)``: the next n sendMessage calls answer 429 with ``retry_after``.
- ``reject_next_html(n)``: the next n HTML sendMessage calls answer 400 can't parse entities.
- ``fail_next_edits(n)``: the next n editMessageText or sendMessageDraft calls answer 429;
  ``refuse_drafts()``: sendMessageDraft answers 400, as an API without drafts would.
- ``press(message, data)``: a user presses an inline button of a sent message.
- accepted edits are in ``edits``, drafts in ``drafts``, a message's buttons in ``Sent.buttons``.
- every call is recorded when answered (``calls``), every accepted message too (``sent``);
  ``wait_for``, ``wait_sent`` and ``wait_polling`` block, with a timeout, until it happens.
- ``allowed_updates`` is recorded but not applied, so tests can check what the bot ignores.
- stopping the server wakes pending long polls, so teardown does not wait for their timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuvwxyz0123"
BOT_ID = 123456
BOT_USERNAME = "newsbot_test_bot"
MAX_TEXT = 4096

T = TypeVar("T")

# Parameters that PTB sends as plain strings; everything else arrives JSON-encoded.
_STRING_PARAMS = {"text", "parse_mode", "action", "caption", "description", "language_code"}
_CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
}  # fmt: skip


# --- Telegram HTML -----------------------------------------------------------------------------

# tag -> entity type; https://core.telegram.org/bots/api#html-style
_TAGS = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "a": "text_link", "code": "code", "pre": "pre", "blockquote": "blockquote",
    "tg-spoiler": "spoiler", "span": "spoiler", "tg-emoji": "custom_emoji",
}  # fmt: skip
_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)"
    r"((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?)*)\s*>"
)
_ATTR = re.compile(r"([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'=<>`]+))?")
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class HTMLError(ValueError):
    """What Telegram says after "Bad Request: can't parse entities: "."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _decode_entities(value: str, offset: int) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "&":
            m = _ENTITY.match(value, i)
            if not m:
                raise HTMLError(f"Character entity expected at byte offset {offset}")
            named, dec, hexa = m.groups()
            out.append(_NAMED[named] if named else chr(int(dec or hexa, 10 if dec else 16)))
            i = m.end()
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def parse_html(html: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse: ``(visible text, entities)``, offsets in UTF-16 units.

    Raises HTMLError, with Telegram's wording, for anything Telegram would refuse.
    """
    text: list[str] = []
    length = 0  # visible text so far, UTF-16 units
    entities: list[dict[str, Any]] = []
    stack: list[tuple[str, dict[str, str], int]] = []
    i = 0
    while i < len(html):
        ch = html[i]
        at = len(html[:i].encode())
        if ch == "<":
            m = _TAG.match(html, i)
            if not m:
                raise HTMLError(f"Unclosed start tag at byte offset {at}")
            closing, name, raw_attrs = m.group(1), m.group(2).lower(), m.group(3)
            if closing:
                if raw_attrs.strip():
                    raise HTMLError(f"Unexpected end tag at byte offset {at}")
                if not stack:
                    raise HTMLError(f"Unexpected end tag at byte offset {at}")
                if stack[-1][0] != name:
                    raise HTMLError(
                        f'Unmatched end tag at byte offset {at}, expected "</{stack[-1][0]}>", '
                        f'found "</{name}>"'
                    )
                tag, attrs, start = stack.pop()
                if length > start:
                    entity: dict[str, Any] = {
                        "type": _TAGS[tag],
                        "offset": start,
                        "length": length - start,
                    }
                    if tag == "a":
                        entity["url"] = attrs["href"]
                    if tag == "pre" and attrs.get("language"):
                        entity["language"] = attrs["language"]
                    entities.append(entity)
            else:
                if name not in _TAGS:
                    raise HTMLError(f'Unsupported start tag "{name}" at byte offset {at}')
                attrs = {
                    a.group(1).lower(): _decode_entities((a.group(2) or "").strip("\"'"), at)
                    for a in _ATTR.finditer(raw_attrs)
                }
                open_tags = {t for t, _, _ in stack}
                if name == "span" and attrs.get("class") != "tg-spoiler":
                    raise HTMLError(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
                if name == "a" and not attrs.get("href"):
                    raise HTMLError(f'Tag "a" must have attribute "href" at byte offset {at}')
                if name == "blockquote" and "blockquote" in open_tags:
                    raise HTMLError(f"Blockquote entities can't be nested at byte offset {at}")
                if name == "a" and "a" in open_tags:
                    raise HTMLError(f"Nested links are not allowed at byte offset {at}")
                if open_tags & {"pre", "code"} and not (name == "code" and stack[-1][0] == "pre"):
                    raise HTMLError(f"Entities can't be nested in code at byte offset {at}")
                stack.append((name, attrs, length))
            i = m.end()
        elif ch == "&":
            m = _ENTITY.match(html, i)
            if not m:
                raise HTMLError(f"Character entity expected at byte offset {at}")
            piece = _decode_entities(m.group(), at)
            text.append(piece)
            length += utf16_len(piece)
            i = m.end()
        elif ch == ">":
            raise HTMLError(f'Unexpected ">" at byte offset {at}')
        else:
            text.append(ch)
            length += 2 if ord(ch) > 0xFFFF else 1
            i += 1
    if stack:
        raise HTMLError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(text), entities


def entity_text(text: str, entity: dict[str, Any]) -> str:
    """The part of ``text`` an entity covers (offsets in UTF-16 units)."""
    raw = text.encode("utf-16-le")
    a, n = entity["offset"] * 2, entity["length"] * 2
    return raw[a : a + n].decode("utf-16-le")


# --- records -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request the bot made, and the status the fake answered."""

    method: str
    params: dict[str, Any]
    status: int
    at: float


@dataclass(frozen=True)
class Sent:
    """A message the fake accepted from the bot."""

    message_id: int
    chat_id: int
    text: str  # the visible text, after entity parsing
    entities: list[dict[str, Any]]
    raw: str  # the ``text`` parameter as sent
    parse_mode: str | None
    reply_to: int | None
    buttons: list[list[dict[str, Any]]] = field(default_factory=list)  # inline keyboard rows

    def quoted(self) -> list[str]:
        """The texts of the blockquotes in this message."""
        return [entity_text(self.text, e) for e in self.entities if e["type"] == "blockquote"]

    def as_reply_target(self) -> dict[str, Any]:
        """This message as ``reply_to_message`` of an update."""
        return {
            "message_id": self.message_id,
            "date": int(time.time()),
            "chat": {"id": self.chat_id, "type": "private"},
            "from": _bot_user(),
            "text": self.text,
        }


def _bot_user() -> dict[str, Any]:
    return {"id": BOT_ID, "is_bot": True, "first_name": "NewsBot", "username": BOT_USERNAME}


def command_entity(text: str) -> dict[str, Any]:
    """The ``bot_command`` entity Telegram puts on a message that starts with a command."""
    command = text.split(maxsplit=1)[0]
    return {"type": "bot_command", "offset": 0, "length": utf16_len(command)}


# --- the server --------------------------------------------------------------------------------


@dataclass
class _State:
    updates: list[dict[str, Any]] = field(default_factory=list)
    next_update_id: int = 1
    next_message_id: int = 1000
    calls: list[Call] = field(default_factory=list)
    arrived: list[str] = field(default_factory=list)  # methods, as requests come in
    sent: list[Sent] = field(default_factory=list)
    chats: dict[int, dict[str, Any]] = field(default_factory=dict)
    commands: list[dict[str, Any]] = field(default_factory=list)
    fail_sends: int = 0
    retry_after: int = 1
    reject_html: int = 0
    fail_edits: int = 0
    no_drafts: bool = False
    edits: list[Sent] = field(default_factory=list)
    drafts: list[dict[str, Any]] = field(default_factory=list)


class FakeBotAPI:
    """The fake server; use as a context manager (``with FakeBotAPI() as api: ...``)."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.port = 0
        self._state = _State()
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._closing: asyncio.Event | None = None
        self._new_update: asyncio.Event | None = None
        self._failure: BaseException | None = None

    # --- lifecycle

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``; the bot's base URL is this plus ``/bot``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    def start(self) -> FakeBotAPI:
        self._thread = threading.Thread(target=self._run, name="fake-bot-api", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the fake Bot API did not start within 10 s")
        if self._failure:
            raise RuntimeError("the fake Bot API failed to start") from self._failure
        return self

    def stop(self) -> None:
        if self._loop and self._closing and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._closing.set)
        if self._thread:
            self._thread.join(10)
            if self._thread.is_alive():
                raise RuntimeError("the fake Bot API did not stop within 10 s")

    def __enter__(self) -> FakeBotAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start() or visible in the test's failure
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._closing = asyncio.Event()
        self._new_update = asyncio.Event()
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        await self._closing.wait()
        self._wake_polls()  # pending getUpdates return [] now instead of at their timeout
        await runner.cleanup()

    # --- controls for tests (any thread)

    def push(self, kind: str, payload: dict[str, Any]) -> int:
        """Queue an update ``{"update_id": n, kind: payload}``; returns its id."""
        with self._cond:
            update_id = self._state.next_update_id
            self._state.next_update_id += 1
            self._state.updates.append({"update_id": update_id, kind: payload})
            chat = payload.get("chat")
            if chat:
                self._state.chats[chat["id"]] = chat
        if self._loop:
            self._loop.call_soon_threadsafe(self._wake_polls)
        return update_id

    def message(
        self,
        chat_id: int,
        text: str | None = None,
        *,
        chat_type: str = "private",
        user_id: int | None = None,
        entities: list[dict[str, Any]] | None = None,
        reply_to: Sent | None = None,
        kind: str = "message",
        **extra: Any,
    ) -> dict[str, Any]:
        """Queue a message from a user (``extra`` holds e.g. ``sticker=...``); returns it."""
        with self._cond:
            message_id = self._state.next_message_id
            self._state.next_message_id += 1
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = "Reader"
        else:
            chat["title"] = "Newsroom"
        msg: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": chat,
            "from": {"id": user_id or abs(chat_id), "is_bot": False, "first_name": "Reader"},
        }
        if text is not None:
            msg["text"] = text
        if entities:
            msg["entities"] = entities
        if reply_to is not None:
            target = reply_to.as_reply_target()
            target["chat"] = chat
            msg["reply_to_message"] = target
        if kind == "edited_message":
            msg["edit_date"] = int(time.time())
        msg.update(extra)
        self.push(kind, msg)
        return msg

    def command(self, chat_id: int, text: str, **kw: Any) -> dict[str, Any]:
        """Queue a message starting with a command, with its ``bot_command`` entity."""
        return self.message(chat_id, text, entities=[command_entity(text)], **kw)

    def mention(self, chat_id: int, text: str, **kw: Any) -> dict[str, Any]:
        """Queue a message mentioning the bot (``@username`` must be in ``text``)."""
        handle = f"@{BOT_USERNAME}"
        offset = utf16_len(text[: text.index(handle)])
        entity = {"type": "mention", "offset": offset, "length": utf16_len(handle)}
        return self.message(chat_id, text, entities=[entity], **kw)

    def sticker(self, chat_id: int, **kw: Any) -> dict[str, Any]:
        sticker = {
            "file_id": "CAACAgIAAxkBAAE",
            "file_unique_id": "AgADsticker",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": "👍",
        }
        return self.message(chat_id, sticker=sticker, **kw)

    def fail_next_sends(self, n: int, retry_after: int = 1) -> None:
        """The next ``n`` sendMessage calls answer 429 Too Many Requests."""
        with self._cond:
            self._state.fail_sends = n
            self._state.retry_after = retry_after

    def fail_next_edits(self, n: int, retry_after: int = 1) -> None:
        """The next ``n`` editMessageText or sendMessageDraft calls answer 429."""
        with self._cond:
            self._state.fail_edits = n
            self._state.retry_after = retry_after

    def refuse_drafts(self) -> None:
        """sendMessageDraft answers 400 from now on (a Bot API without drafts)."""
        with self._cond:
            self._state.no_drafts = True

    def press(self, sent: Sent, data: str, *, user_id: int | None = None) -> int:
        """Queue a press on the inline button ``data`` of the bot's message ``sent``."""
        user = {"id": user_id or abs(sent.chat_id), "is_bot": False, "first_name": "Reader"}
        with self._cond:
            query_id = str(self._state.next_message_id)
            self._state.next_message_id += 1
        message = sent.as_reply_target()
        message["chat"] = self._chat(sent.chat_id)
        payload = {
            "id": query_id, "from": user, "message": message, "chat_instance": "1", "data": data,
        }  # fmt: skip
        return self.push("callback_query", payload)

    @property
    def edits(self) -> list[Sent]:
        with self._cond:
            return list(self._state.edits)

    @property
    def drafts(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._state.drafts)

    def reject_next_html(self, n: int = 1) -> None:
        """The next ``n`` sendMessage calls with parse_mode HTML answer 400 can't parse."""
        with self._cond:
            self._state.reject_html = n

    @property
    def calls(self) -> list[Call]:
        with self._cond:
            return list(self._state.calls)

    @property
    def sent(self) -> list[Sent]:
        with self._cond:
            return list(self._state.sent)

    @property
    def commands(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self._state.commands)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def sent_to(self, chat_id: int) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    def wait_for(self, check: Callable[[], T | None], timeout: float = 15.0) -> T:
        """Block until ``check()`` (called with the records locked) is truthy; return it."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = check()
                if result:
                    return result
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"timed out after {timeout} s; calls so far: "
                        f"{[(c.method, c.status) for c in self._state.calls]}"
                    )
                self._cond.wait(left)

    def wait_sent(self, chat_id: int, count: int = 1, timeout: float = 15.0) -> list[Sent]:
        """Block until ``count`` messages were sent to ``chat_id``; return them all."""

        def enough() -> list[Sent] | None:
            got = [s for s in self._state.sent if s.chat_id == chat_id]
            return got if len(got) >= count else None

        return self.wait_for(enough, timeout)

    def wait_polling(self, timeout: float = 15.0) -> None:
        """Block until the bot has started polling (a getUpdates request came in)."""
        self.wait_for(lambda: "getUpdates" in self._state.arrived, timeout)

    # --- the wire

    def _wake_polls(self) -> None:
        event, self._new_update = self._new_update, asyncio.Event()
        if event:
            event.set()

    async def _params(self, request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            body = await request.json()
            raw.update(body if isinstance(body, dict) else {})
            return raw
        if request.can_read_body:
            form = await request.post()
            raw.update({k: v for k, v in form.items() if isinstance(v, str)})
        params: dict[str, Any] = {}
        for key, value in raw.items():
            if key in _STRING_PARAMS or not isinstance(value, str):
                params[key] = value
                continue
            try:
                params[key] = json.loads(value)
            except ValueError:
                params[key] = value
        return params

    def _record(self, method: str, params: dict[str, Any], status: int) -> None:
        with self._cond:
            self._state.calls.append(Call(method, params, status, time.monotonic()))
            self._cond.notify_all()

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        with self._cond:
            self._state.arrived.append(method)
            self._cond.notify_all()
        try:
            params = await self._params(request)
        except ConnectionError:  # the bot gave up on the request (e.g. a cancelled "typing")
            return web.Response(status=499)
        if request.match_info["token"] != self.token:
            status, body = 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        else:
            handler = getattr(self, f"_m_{method.lower()}", None)
            if handler is None:
                status, body = 404, {"ok": False, "error_code": 404, "description": "Not Found"}
            else:
                status, body = await handler(params)
        self._record(method, params, status)
        return web.json_response(body, status=status)

    @staticmethod
    def _ok(result: Any) -> tuple[int, dict[str, Any]]:
        return 200, {"ok": True, "result": result}

    @staticmethod
    def _error(status: int, description: str, **parameters: Any) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return status, body

    async def _m_getme(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        me = _bot_user() | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        return self._ok(me)

    async def _m_deletewebhook(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return self._ok(True)

    async def _m_getupdates(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)
        assert self._loop is not None and self._closing is not None
        deadline = self._loop.time() + timeout
        while True:
            event = self._new_update
            with self._cond:
                if offset:  # confirms, and so forgets, every earlier update
                    self._state.updates = [
                        u for u in self._state.updates if u["update_id"] >= offset
                    ]
                pending = self._state.updates[:limit]
            left = deadline - self._loop.time()
            if pending or left <= 0 or self._closing.is_set() or event is None:
                return self._ok(pending)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), left)

    def _chat(self, chat_id: int) -> dict[str, Any]:
        with self._cond:
            return self._state.chats.get(chat_id) or {"id": chat_id, "type": "private"}

    async def _m_sendmessage(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if "chat_id" not in params:
            return self._error(400, "Bad Request: chat_id is empty")
        chat_id = int(params["chat_id"])
        raw = str(params.get("text", ""))
        parse_mode = params.get("parse_mode") or None
        with self._cond:
            if self._state.fail_sends > 0:
                self._state.fail_sends -= 1
                after = self._state.retry_after
                return self._error(
                    429, f"Too Many Requests: retry after {after}", retry_after=after
                )
            reject = parse_mode == "HTML" and self._state.reject_html > 0
            if reject:
                self._state.reject_html -= 1
        if reject:
            return self._error(400, "Bad Request: can't parse entities: rejected by the test")
        if parse_mode is None:
            text, entities = raw, list(params.get("entities") or [])
        elif parse_mode == "HTML":
            try:
                text, entities = parse_html(raw)
            except HTMLError as exc:
                return self._error(400, f"Bad Request: can't parse entities: {exc}")
        else:
            return self._error(400, f"Bad Request: the fake does not parse {parse_mode}")
        if not text.strip():
            return self._error(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_TEXT:
            return self._error(400, "Bad Request: message is too long")
        reply = params.get("reply_parameters") or {}
        with self._cond:
            message_id = self._state.next_message_id
            self._state.next_message_id += 1
            sent = Sent(
                message_id,
                chat_id,
                text,
                entities,
                raw,
                parse_mode,
                reply.get("message_id") if isinstance(reply, dict) else None,
                _buttons(params),
            )
            self._state.sent.append(sent)
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": self._chat(chat_id),
            "from": _bot_user(),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        return self._ok(message)

    async def _m_sendchataction(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if "chat_id" not in params:
            return self._error(400, "Bad Request: chat_id is empty")
        if params.get("action") not in _CHAT_ACTIONS:
            return self._error(400, "Bad Request: wrong parameter action in request")
        return self._ok(True)

    async def _m_setmycommands(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            return self._error(400, "Bad Request: commands must be a list of at most 100")
        for c in commands:
            name, description = c.get("command", ""), c.get("description", "")
            if not re.fullmatch(r"[a-z0-9_]{1,32}", name) or not 1 <= len(description) <= 256:
                return self._error(400, "Bad Request: BOT_COMMAND_INVALID")
        with self._cond:
            self._state.commands = commands
        return self._ok(True)

    async def _m_getmycommands(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return self._ok(self.commands)

    def _flood(self) -> tuple[int, dict[str, Any]] | None:
        with self._cond:
            if self._state.fail_edits <= 0:
                return None
            self._state.fail_edits -= 1
            after = self._state.retry_after
        return self._error(429, f"Too Many Requests: retry after {after}", retry_after=after)

    async def _m_answercallbackquery(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if not params.get("callback_query_id"):
            return self._error(400, "Bad Request: query is too old or query ID is invalid")
        return self._ok(True)

    async def _m_sendmessagedraft(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat_id = int(params.get("chat_id") or 0)
        if self._state.no_drafts:
            return self._error(400, "Bad Request: method not available")
        if self._chat(chat_id).get("type") != "private":
            return self._error(400, "Bad Request: drafts can be sent only to private chats")
        if not int(params.get("draft_id") or 0):
            return self._error(400, "Bad Request: draft_id must be non-zero")
        flood = self._flood()
        if flood:
            return flood
        with self._cond:
            self._state.drafts.append(dict(params))
        return self._ok(True)

    async def _m_editmessagetext(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        flood = self._flood()
        if flood:
            return flood
        raw = str(params.get("text", ""))
        try:
            text, entities = parse_html(raw) if params.get("parse_mode") == "HTML" else (raw, [])
        except HTMLError as exc:
            return self._error(400, f"Bad Request: can't parse entities: {exc}")
        if utf16_len(text) > MAX_TEXT:
            return self._error(400, "Bad Request: message is too long")
        chat_id = int(params.get("chat_id") or 0)
        message_id = int(params.get("message_id") or 0)
        parse_mode = params.get("parse_mode")
        with self._cond:
            edit = Sent(
                message_id, chat_id, text, entities, raw, parse_mode, None, _buttons(params)
            )
            self._state.edits.append(edit)
        return self._ok(
            {
                "message_id": int(params.get("message_id") or 0),
                "date": int(time.time()),
                "edit_date": int(time.time()),
                "chat": self._chat(chat_id),
                "from": _bot_user(),
                "text": text,
            }
        )


def _buttons(params: dict[str, Any]) -> list[list[dict[str, Any]]]:
    markup = params.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    return list(markup.get("inline_keyboard") or []) if isinstance(markup, dict) else []


class Running:
    """A NewsBot (bot/telegram.py) serving in a background thread with its own event loop,
    stopped on exit; shared by the Telegram and reliability tests."""

    def __init__(self, bot: Any, wait: float = 30.0) -> None:
        self.bot = bot
        self.wait = wait
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="newsbot-under-test", daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            await self.bot.serve(self._stop, poll_timeout=5, ready=lambda _: self._ready.set())

        try:
            asyncio.run(main())
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()

    def __enter__(self) -> Running:
        self._thread.start()
        assert self._ready.wait(self.wait), "the bot did not start polling"
        if self._error:
            raise self._error
        return self

    def stop(self) -> None:
        """Stop polling and wait for the updates in flight to be finished."""
        if self._loop and self._stop and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(self.wait)
        assert not self._thread.is_alive(), "the bot did not stop"
        if self._error:
            raise self._error

    def __exit__(self, *exc: object) -> None:
        self.stop()
