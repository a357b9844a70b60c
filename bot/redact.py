"""Log redaction for the Telegram bot: its token, and the message texts python-telegram-bot logs.

``redacted_logs(token)`` runs every log record made while it is active through a ``TokenFilter``
(the token and its secret half become ``<token>``) and drops the arguments of
python-telegram-bot's own DEBUG records, which carry the text of every message from any chat.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from typing import Any


class TokenFilter(logging.Filter):
    """Replaces the bot token (and its secret half) in a record's message and traceback."""

    def __init__(self, token: str) -> None:
        super().__init__()
        secret = token.partition(":")[2]
        self.secrets = [s for s in (token, secret) if len(s) >= 20]

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<token>")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report
            return True
        if any(s in message for s in self.secrets):
            record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            if any(s in text for s in self.secrets):
                record.exc_text = self.redact(text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


# What python-telegram-bot may log of its own records' arguments: numbers, types, identifiers
# (endpoint names) and lists of update ids.
_SAFE_WORD = re.compile(r"[A-Za-z_][\w.]{0,63}")


def _safe_arg(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | type):
        return value
    if isinstance(value, str) and _SAFE_WORD.fullmatch(value):
        return value
    if isinstance(value, list) and all(isinstance(v, int) for v in value):
        return value
    return "<not logged>"


def _drop_payload(record: logging.LogRecord) -> None:
    """python-telegram-bot logs, at DEBUG, the updates it receives and the parameters it sends:
    the text of every message from any chat, allowed or not, and of every answer. Its records
    keep their wording and lose those arguments."""
    if not record.name.startswith("telegram") or not record.args:
        return
    if isinstance(record.args, tuple):
        record.args = tuple(_safe_arg(a) for a in record.args)
    elif isinstance(record.args, dict):
        record.args = {k: _safe_arg(v) for k, v in record.args.items()}


@contextlib.contextmanager
def redacted_logs(token: str) -> Iterator[TokenFilter]:
    """Run every new log record through a TokenFilter while the bot runs.

    The filter is applied where records are made (the record factory), not on one logger or
    handler: filters on a logger miss its children, and handlers added later (pytest's caplog,
    a user's own) would miss it. httpx logs request URLs, which contain the token, at INFO.
    Message texts that python-telegram-bot logs at DEBUG are dropped there too.
    """
    token_filter = TokenFilter(token)
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _drop_payload(record)
        token_filter.filter(record)
        return record

    logging.setLogRecordFactory(factory)
    try:
        yield token_filter
    finally:
        if logging.getLogRecordFactory() is factory:
            logging.setLogRecordFactory(previous)
