"""Answer -> what a person reads: terminal text (plain or styled), JSON, Telegram HTML."""

from __future__ import annotations

import json
from typing import Any

from bot.answer import Answer, Citation


def source_line(c: Citation) -> str:
    """'Title — Outlet, 2024-11-12 — https://...' with whatever is known."""
    title = c.title or (c.path.rsplit("/", 1)[-1] if c.path else f"article {c.article_id}")
    meta = ", ".join(x for x in (c.source, (c.published or "")[:10] or "undated") if x)
    parts = [title, meta]
    if c.url:
        parts.append(c.url)
    return " — ".join(parts)


def plain(answer: Answer) -> str:
    """Plain text for pipes and logs."""
    lines = [answer.text]
    if answer.notice:
        lines += ["", f"note: {answer.notice}"]
    if answer.citations:
        lines += ["", "Sources:"]
        for c in answer.citations:
            lines.append(f"[{c.n}] {source_line(c)}")
            if c.quote not in answer.text:  # an extractive answer already is the quotes
                lines.append(f"    “{c.quote}”")
    return "\n".join(lines)


def styled(answer: Answer) -> Any:
    """A rich renderable for a terminal."""
    from rich.console import Group
    from rich.text import Text

    parts: list[Any] = []
    body = Text()
    body.append(answer.text, style="bold" if not answer.refused else "yellow")
    parts.append(body)
    if answer.notice:
        parts.append(Text(f"note: {answer.notice}", style="dim"))
    if answer.citations:
        parts.append(Text(""))
        parts.append(Text("Sources", style="underline"))
        for c in answer.citations:
            entry = Text()
            entry.append(f"[{c.n}] ", style="bold cyan")
            entry.append(source_line(c))
            parts.append(entry)
            if c.quote not in answer.text:
                parts.append(Text(f"    “{c.quote}”", style="dim"))
    return Group(*parts)


def to_json(answer: Answer) -> str:
    """One line of JSON, as `ask --json` prints it."""
    return json.dumps(answer.as_json(), ensure_ascii=False)
