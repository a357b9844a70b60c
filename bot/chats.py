"""What the Telegram bot remembers per chat, who may use it, and how it waits out floods.

``Chats`` keeps at most ``max_chats`` chats, the least recently active forgotten first, so memory
stays bounded however many people write to the bot. ``ChatState.throttle`` is the per-chat rate
limit, ``ChatState.notice_due`` says when to tell the chat about it (once per window).
``allowed`` is the allow-list rule: a group by its own id only. ``FloodLimiter`` is
python-telegram-bot's AIORateLimiter that keeps waiting out 429 Too Many Requests (the server's
retry_after) up to a total time, so a computed answer is not lost to a flood.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram.constants import ChatType
from telegram.error import RetryAfter
from telegram.ext import AIORateLimiter

from bot.citations import Answer, Turn

logger = logging.getLogger(__name__)

# Chats whose memory is kept; the least recently active is forgotten first.
MAX_CHATS = 10_000
RATE_WINDOW = 60.0  # seconds over which telegram_rate_limit questions are allowed


@dataclass
class ChatState:
    """What the bot remembers of one chat: recent turns, its last answer, its question times."""

    history: deque[Turn]
    asked: deque[float] = field(default_factory=deque)
    last: Answer | None = None
    noticed_until: float = 0.0  # the "asking faster" notice is not repeated before this
    # One question at a time per chat, so a follow-up sees the turn before it.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def throttle(self, now: float, limit: int, window: float = RATE_WINDOW) -> float:
        """Seconds to wait before asking again, or 0 (and this question is counted)."""
        while self.asked and now - self.asked[0] >= window:
            self.asked.popleft()
        if len(self.asked) >= limit:
            return window - (now - self.asked[0])
        self.asked.append(now)
        return 0.0

    def notice_due(self, now: float, wait: float) -> bool:
        """Whether a throttled question (``wait`` from ``throttle``) gets the "asking faster"
        notice: the first of a burst does, the others until that wait is over do not (50
        questions in a row made 42 notices)."""
        if now < self.noticed_until:
            return False
        self.noticed_until = now + wait
        return True


class Chats:
    """Chat states, least recently used forgotten first, so memory stays bounded."""

    def __init__(self, turns: int, max_chats: int = MAX_CHATS) -> None:
        self.turns = turns
        self.max_chats = max_chats
        self._states: OrderedDict[int, ChatState] = OrderedDict()

    def get(self, chat_id: int) -> ChatState:
        state = self._states.get(chat_id)
        if state is None:
            state = self._states[chat_id] = ChatState(deque(maxlen=self.turns))
            while len(self._states) > self.max_chats:
                self._states.popitem(last=False)
        self._states.move_to_end(chat_id)
        return state

    def peek(self, chat_id: int) -> ChatState | None:
        return self._states.get(chat_id)

    def __len__(self) -> int:
        return len(self._states)


def allowed(
    allow: Collection[int],
    chat_id: int,
    chat_type: str,
    user_id: int | None,
    users_in_groups: bool = False,
) -> bool:
    """Whether a message may be answered. An empty ``allow`` allows everyone. A private chat is
    allowed by its id (the user's); a group only by its own id, since everyone in it reads the
    answers, unless ``users_in_groups`` (NEWSBOT_TELEGRAM_USERS_IN_GROUPS) lets an allowed user
    be answered in any group, as before."""
    if not allow or chat_id in allow:
        return True
    if user_id is None or user_id not in allow:
        return False
    return chat_type == ChatType.PRIVATE or users_in_groups


def _seconds(retry_after: int | dt.timedelta) -> float:
    return retry_after.total_seconds() if isinstance(retry_after, dt.timedelta) else retry_after


class FloodLimiter(AIORateLimiter):
    """AIORateLimiter (Telegram's per-chat and overall limits), and a 429 waited out again and
    again, as long as its retry_after says, until ``total`` seconds have gone by or ``stop()``
    is called (the bot is stopping). AIORateLimiter alone gives up after a fixed number of
    retries, logging a traceback; 12 429s in a row lost an answer that way."""

    def __init__(self, total: float) -> None:
        super().__init__(max_retries=0)
        self.total = total
        self._stopped: asyncio.Event | None = None

    async def initialize(self) -> None:
        self._stopped = asyncio.Event()  # bound to the loop the bot runs in
        await super().initialize()

    def stop(self) -> None:
        """Stop waiting: the floods still being waited out give up now."""
        if self._stopped is not None:
            self._stopped.set()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        chat_id = data.get("chat_id")
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id)  # type: ignore[arg-type]
        # As AIORateLimiter: negative ids and @names are groups and channels (their own limit).
        group: str | int | bool = False
        if isinstance(chat_id, str) or (isinstance(chat_id, int) and chat_id < 0):
            group = chat_id
        started = time.monotonic()
        while True:
            try:
                return await self._run_request(
                    chat=chat_id is not None,
                    group=group,
                    allow_paid_broadcast=data.get("allow_paid_broadcast", False),
                    callback=callback,
                    args=args,
                    kwargs=kwargs,
                )
            except RetryAfter as exc:
                wait = _seconds(exc.retry_after) + 0.1
                spent = time.monotonic() - started
                stopping = self._stopped is not None and self._stopped.is_set()
                if stopping or spent + wait > self.total:
                    why = "the bot is stopping" if stopping else f"over {self.total:g} s"
                    logger.warning(
                        "%s: Telegram still says 429 Too Many Requests after %.0f s; "
                        "given up (%s)", endpoint, spent, why,
                    )  # fmt: skip
                    raise
                logger.info("%s: 429 Too Many Requests, waiting %.1f s as told", endpoint, wait)
                await self._wait(wait)

    async def _wait(self, seconds: float) -> None:
        """Sleep, holding back this bot's other requests (as AIORateLimiter does), or less when
        the bot stops."""
        self._retry_after_event.clear()
        try:
            if self._stopped is None:
                await asyncio.sleep(seconds)
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), seconds)
        finally:
            self._retry_after_event.set()
