"""What the Telegram bot remembers per chat: recent turns, the last answer, a rate limit.

``Chats`` keeps at most ``max_chats`` chats, the least recently active forgotten first, so memory
stays bounded however many people write to the bot.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from bot.citations import Answer, Turn

# Chats whose memory is kept; the least recently active is forgotten first.
MAX_CHATS = 10_000
RATE_WINDOW = 60.0  # seconds over which telegram_rate_limit questions are allowed


@dataclass
class ChatState:
    """What the bot remembers of one chat: recent turns, its last answer, its question times."""

    history: deque[Turn]
    asked: deque[float] = field(default_factory=deque)
    last: Answer | None = None
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
