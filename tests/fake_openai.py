"""A stand-in OpenAI-compatible chat server on 127.0.0.1, speaking the real wire protocol.

``POST /v1/chat/completions`` answers with the next scripted ``Reply`` (or the default one):
a JSON completion, or server-sent events when the request asks ``"stream": true``. A reply can
also be an HTTP error, a delay (to outlast the client's timeout), malformed JSON or empty
content. Every request body is recorded in ``requests`` so tests can read the prompts sent.

Usage::

    with FakeOpenAI() as server:
        server.script(Reply("Early December [1]."))
        Settings(llm_url=server.url, ...)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Reply:
    """What the server answers to one request."""

    content: str | None = "The meeting will take place in early December [1]."
    status: int = 200
    delay: float = 0.0  # seconds before answering (each streamed piece waits this long)
    malformed: bool = False  # a body that is not JSON (or SSE data that is not)
    pieces: int = 4  # streamed chunks the content is cut into


class FakeOpenAI:
    """The server, run on its own event loop in a background thread."""

    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply()
        self.requests: list[dict[str, Any]] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._stop: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}/v1"

    # --- control, from the test's thread ---

    def script(self, *replies: Reply) -> None:
        """Queue replies for the next requests (then the default answers again)."""
        with self._lock:
            self._script.extend(replies)

    def last_messages(self) -> list[dict[str, str]]:
        return list(self.requests[-1]["messages"])

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    # --- the server, on its loop ---

    async def _start(self) -> None:
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def _shutdown(self) -> None:
        assert self._stop is not None and self._runner is not None
        self._stop.set()  # wakes handlers that are still "thinking"
        await self._runner.cleanup()

    async def _pause(self, seconds: float) -> None:
        assert self._stop is not None
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), seconds)

    def _next(self) -> Reply:
        with self._lock:
            return self._script.popleft() if self._script else self.default

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        reply = self._next()
        if body.get("stream"):
            return await self._stream(request, body, reply)
        await self._pause(reply.delay)
        if reply.status != 200:
            return web.json_response(_error(reply.status), status=reply.status)
        if reply.malformed:
            return web.Response(text='{"choices": [{"message": ', content_type="application/json")
        return web.json_response(_completion(body, reply.content))

    async def _stream(
        self, request: web.Request, body: dict[str, Any], reply: Reply
    ) -> web.StreamResponse:
        if reply.status != 200:
            await self._pause(reply.delay)
            return web.json_response(_error(reply.status), status=reply.status)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        content = reply.content or ""
        size = max(1, -(-len(content) // max(reply.pieces, 1)))
        parts = [content[i : i + size] for i in range(0, len(content), size)] or [""]
        for i, part in enumerate(parts):
            await self._pause(reply.delay)
            if reply.malformed and i == len(parts) - 1:
                await response.write(b"data: {not json\n\n")
                break
            delta: dict[str, Any] = {"content": part}
            if i == 0:
                delta["role"] = "assistant"
            await response.write(_sse(_chunk(body, delta, None)))
        await response.write(_sse(_chunk(body, {}, "stop")))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


def _error(status: int) -> dict[str, Any]:
    return {"error": {"message": f"fake failure {status}", "type": "server_error", "code": None}}


def _completion(body: dict[str, Any], content: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": body.get("model", "fake"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _chunk(body: dict[str, Any], delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": body.get("model", "fake"),
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _sse(payload: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()
