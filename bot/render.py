"""Answer -> what a person reads: terminal text (plain or styled), JSON, Telegram HTML, and the
lines an answer says about time (``time_lines``), which every face prints under it."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bot.catalogue import MESSAGES, filters_text, language_of, localise, say
from bot.citations import Answer, Citation
from bot.short import ShortAnswer, short_answer
from bot.timeline import newness
from index.dates import article_day
from index.text import script_of


def _title(c: Citation, language: str = "en") -> str:
    """The article's title as written (never translated); a title in the other script says so,
    a gloss that needs no translator ("Arabic title")."""
    title = c.title or (c.path.rsplit("/", 1)[-1] if c.path else f"article {c.article_id}")
    if c.title and script_of(c.title) != "other" and language_of(c.title) != language:
        title += f" ({say('original_title', language)})"
    return title


def source_line(c: Citation, language: str = "en") -> str:
    """'Title — Outlet, 2024-11-12 — https://...' with whatever is known."""
    title = _title(c, language)
    undated = say("undated_word", language)
    meta = ", ".join(x for x in (c.source, (c.published or "")[:10] or undated) if x)
    parts = [title, meta]
    if c.url:
        parts.append(c.url)
    return " — ".join(parts)


def also_line(c: Citation) -> str | None:
    """'also: AFP, 2024-11-11; Reuters, 2024-11-10': other versions of the cited story."""
    if not c.also:
        return None
    seen = [
        ", ".join(x for x in (r.source or r.title, (r.published or "")[:10] or "undated") if x)
        for r in c.also
    ]
    return "also: " + "; ".join(seen)


# --- time -------------------------------------------------------------------------------------


def _when(published: str | None, language: str = "en") -> str:
    day = article_day(published)
    return day.isoformat() if day else say("undated_word", language)


def _said(c: Citation, language: str = "en") -> str:
    return ", ".join(x for x in (c.source, _when(c.published, language)) if x)


def time_lines(answer: Answer) -> list[str]:
    """What an answer says about time, one line each: as of, per-citation dates, conflicts;
    in the question's language."""
    lang = language_of(answer.question)
    lines: list[str] = []
    if answer.refused or not answer.citations:
        if answer.filters:
            lines.append(say("searched_only", lang, filters=filters_text(answer.filters, lang)))
        return lines
    today = dt.date.fromisoformat(answer.today) if answer.today else None
    newest = answer.as_of
    if newest:
        tail = say("as_of_today", lang, today=today.isoformat()) if today else ""
        lines.append(say("as_of", lang, date=newest, tail=tail))
    else:
        lines.append(say("as_of_unknown", lang))
    if answer.filters:
        lines.append(say("searched_only", lang, filters=filters_text(answer.filters, lang)))
    for c in answer.citations:
        head = f"[{c.n}] " + (
            say("article_of", lang, date=_when(c.published, lang))
            if c.published
            else say("undated_article", lang)
        )
        if not c.dates:
            lines.append(head + ".")
            continue
        parts = []
        for m in c.dates:
            if not m.resolved:
                parts.append(say("cannot_place", lang, text=m.text))
                continue
            status = m.status(today) if today else None
            word = say(f"word_{status}", lang) if status else ""
            if status == "current" and m.first == m.last:
                word = say("word_today", lang)
            quoted = f"“{m.text}”" if lang == "en" else f"«{m.text}»"
            parts.append(f"{quoted} = {m.span_label()}" + (f", {word}" if word else ""))
        lines.append(f"{head}: " + ("; " if lang == "en" else "؛ ").join(parts) + ".")
    current = {c.quote: c.n for c in answer.citations}
    for conflict in answer.conflicts:
        new_n = current.get(conflict.newer.quote)
        old_n = current.get(conflict.older.quote)
        newer = (f"[{new_n}] " if new_n else "") + _said(conflict.newer, lang)
        older = (f"[{old_n}] " if old_n else "") + _said(conflict.older, lang)
        new_says = ", ".join(conflict.newer_says) or say("otherwise", lang)
        old_says = ", ".join(conflict.older_says) or say("otherwise", lang)
        verdict = say(
            "newest_preferred"
            if newness(conflict.newer.published) > newness(conflict.older.published)
            else "newer_unknown",
            lang,
        )
        lines.append(
            say("reports_differ", lang, newer=newer, new_says=new_says, older=older,
                old_says=old_says, verdict=verdict)
        )  # fmt: skip
    return lines


def short_line(answer: Answer) -> str | None:
    """'Answer: Early December 2024 (upcoming) [1]', in the question's language, or None."""
    short = short_answer(answer)
    if short is None:
        return None
    return f"{say('short_answer', short.language)}: {short.line}"


def answer_text(answer: Answer) -> str:
    """The answer's text as the reader reads it: the refusal in the question's language."""
    return localise(answer.text, language_of(answer.question)) if answer.refused else answer.text


# --- terminal and JSON -------------------------------------------------------------------------


def plain(answer: Answer) -> str:
    """Plain text for pipes and logs."""
    lang = language_of(answer.question)
    short = short_line(answer)
    lines = [short, ""] if short else []
    lines.append(answer_text(answer))
    if answer.notice:
        lines += ["", f"note: {answer.notice}"]
    when = time_lines(answer)
    if when:
        lines += ["", *when]
    if answer.citations:
        lines += ["", say("sources", lang) + ":"]
        for c in answer.citations:
            lines.append(f"[{c.n}] {source_line(c, lang)}")
            if c.quote not in answer.text:  # an extractive answer already is the quotes
                lines.append(f"    “{c.quote}”")
            also = also_line(c)
            if also:
                lines.append(f"    {also}")
    return "\n".join(lines)


def styled(answer: Answer) -> Any:
    """A rich renderable for a terminal."""
    from rich.console import Group
    from rich.text import Text

    lang = language_of(answer.question)
    parts: list[Any] = []
    short = short_line(answer)
    if short:
        parts.append(Text(short, style="bold green"))
        parts.append(Text(""))
    body = Text()
    body.append(answer_text(answer), style="bold" if not answer.refused else "yellow")
    parts.append(body)
    if answer.notice:
        parts.append(Text(f"note: {answer.notice}", style="dim"))
    when = time_lines(answer)
    if when:
        parts.append(Text(""))
        parts.extend(Text(line, style="italic") for line in when)
    if answer.citations:
        parts.append(Text(""))
        parts.append(Text(say("sources", lang), style="underline"))
        for c in answer.citations:
            entry = Text()
            entry.append(f"[{c.n}] ", style="bold cyan")
            entry.append(source_line(c, lang))
            parts.append(entry)
            if c.quote not in answer.text:
                parts.append(Text(f"    “{c.quote}”", style="dim"))
            also = also_line(c)
            if also:
                parts.append(Text(f"    {also}", style="dim"))
    return Group(*parts)


def as_json(answer: Answer) -> dict[str, object]:
    """What `ask --json` prints: the Answer's fields, the refusal in the question's language, and
    "short_answer" (null when there is none)."""
    data = answer.as_json()
    data["answer"] = answer_text(answer)
    short: ShortAnswer | None = short_answer(answer)
    data["short_answer"] = short.as_json() if short else None
    return data


def to_json(answer: Answer) -> str:
    """One line of JSON, as `ask --json` prints it."""
    return json.dumps(as_json(answer), ensure_ascii=False)


# --- Telegram ----------------------------------------------------------------------------------
# Telegram HTML is built from plain text plus styled ranges, never by concatenating markup: the
# text is split into messages first, and each part is then escaped and wrapped on its own, so a
# split can never fall inside a tag or an entity, and every part is well-formed by construction.

TELEGRAM_LIMIT = 4096  # visible characters (UTF-16 units) per message, after entity parsing

_MARKERS = re.compile(r"(?:\s*\[\d+\])+\s*$")
# A sentence ends in . ! ? (or Arabic ؟ ۔), maybe closing quotes, maybe [n] markers.
_SENTENCE_END = re.compile(r"[.!?؟۔…][\"'”’»)]*(?:\s*\[\d+\])*$")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class TelegramPart:
    """One Telegram message: HTML, and the same visible text to resend if the HTML is refused."""

    html: str
    text: str


def _text(text: str) -> str:
    """Text between tags: &amp; &lt; &gt;, the entities Telegram requires there."""
    return html.escape(text, quote=False)


@dataclass(frozen=True)
class _Style:
    start: int
    end: int
    tag: str  # b, i, blockquote or a
    href: str | None = None


class TelegramDoc:
    """Plain text with properly nested styled ranges, split into messages as a last step."""

    def __init__(self) -> None:
        self._pieces: list[str] = []
        self._length = 0
        self._styles: list[_Style] = []

    @property
    def text(self) -> str:
        """The whole visible text."""
        return "".join(self._pieces)

    def add(self, text: str, tag: str | None = None, href: str | None = None) -> TelegramDoc:
        """Append text, styled with ``tag`` (and a link target for ``a``) when given."""
        start = self._length
        self._pieces.append(text)
        self._length += len(text)
        if tag and text:
            self._styles.append(_Style(start, self._length, tag, href))
        return self

    @contextmanager
    def styled(self, tag: str) -> Iterator[None]:
        """Style everything added inside the block (for nesting, e.g. bold inside a quote)."""
        start = self._length
        yield
        if self._length > start:
            self._styles.append(_Style(start, self._length, tag))

    def link(self, text: str, url: str | None) -> TelegramDoc:
        """Text linking to ``url`` when that is a web address; otherwise plain text."""
        if url and url.lower().startswith(("http://", "https://")):
            return self.add(text, "a", href=url)
        return self.add(text)

    def parts(self, limit: int = TELEGRAM_LIMIT) -> list[TelegramPart]:
        """The text split into messages of at most ``limit`` visible characters each."""
        text = self.text
        return [TelegramPart(self._html(text, a, b), text[a:b]) for a, b in split_text(text, limit)]

    def _html(self, text: str, a: int, b: int) -> str:
        # Styles clipped to [a, b) stay properly nested; outer ranges open first.
        clipped = sorted(
            (max(s.start, a), -min(s.end, b), -i, s)
            for i, s in enumerate(self._styles)
            if max(s.start, a) < min(s.end, b)
        )
        out: list[str] = []
        pos = a
        open_: list[tuple[int, _Style]] = []

        def close_until(where: int) -> None:
            nonlocal pos
            while open_ and open_[-1][0] <= where:
                end, style = open_.pop()
                out.append(_text(text[pos:end]))
                out.append(f"</{style.tag}>")
                pos = end

        for start, neg_end, _, style in clipped:
            close_until(start)
            out.append(_text(text[pos:start]))
            pos = start
            if style.href is not None:
                out.append(f'<{style.tag} href="{html.escape(style.href, quote=True)}">')
            else:
                out.append(f"<{style.tag}>")
            open_.append((-neg_end, style))
        close_until(b)
        out.append(_text(text[pos:b]))
        return "".join(out)


def split_text(text: str, limit: int = TELEGRAM_LIMIT) -> list[tuple[int, int]]:
    """``(start, end)`` of consecutive parts of at most ``limit`` UTF-16 units, whitespace trimmed.

    A part ends at the last paragraph break that fits, else a line break, a sentence end, a space,
    and only as a last resort in the middle of a word. Only whitespace falls between parts.
    """
    if limit < 2:
        raise ValueError("limit must be at least 2")
    ranges: list[tuple[int, int]] = []
    start, n = 0, len(text)
    while True:
        while start < n and text[start].isspace():
            start += 1
        if start >= n:
            return ranges
        end, used = start, 0
        while end < n:
            width = 2 if ord(text[end]) > 0xFFFF else 1
            if used + width > limit:
                break
            used += width
            end += 1
        if end < n:
            end = _cut(text, start, end)
        stop = end
        while stop > start and text[stop - 1].isspace():
            stop -= 1
        ranges.append((start, stop))
        start = end


def _cut(text: str, start: int, end: int) -> int:
    """Where to end a part that must end by ``end``: the best boundary past its first quarter."""
    # Whitespace right at `end` counts too: the text before it fits, and it is dropped.
    window = text[start : end + 1]
    floor = len(window) // 4
    best = {"paragraph": -1, "line": -1, "sentence": -1, "space": -1}
    for m in _SPACE.finditer(window):
        at = m.start()
        if at <= floor or at > end - start:
            continue
        gap = m.group()
        if gap.count("\n") >= 2:
            best["paragraph"] = at
        if "\n" in gap:
            best["line"] = at
        if _SENTENCE_END.search(window, max(0, at - 40), at):
            best["sentence"] = at
        best["space"] = at
    for kind in ("paragraph", "line", "sentence", "space"):
        if best[kind] > 0:
            return start + best[kind]
    return end


def _source_entry(doc: TelegramDoc, c: Citation, language: str = "en") -> None:
    """'[n] Title — Outlet, date — url', the same visible text as ``source_line``."""
    line = source_line(c, language)
    doc.add(f"[{c.n}] ")
    title = _title(c, language)
    url = c.url if c.url and line.endswith(c.url) else None
    if line.startswith(title):
        doc.add(title, "b")
        line = line[len(title) :]
    if url:
        doc.add(line[: -len(url)])
        doc.link(url, url)
    else:
        doc.add(line)


def telegram_doc(answer: Answer) -> TelegramDoc:
    """The answer with its [n] markers, quoted sentences in blockquotes, then its sources."""
    doc = TelegramDoc()
    lang = language_of(answer.question)
    short = short_line(answer)
    if short:
        doc.add(short, "b").add("\n\n")
    quotes = {c.quote.strip() for c in answer.citations}
    for i, line in enumerate(answer_text(answer).split("\n")):
        if i:
            doc.add("\n")
        body = _MARKERS.sub("", line).strip()
        doc.add(line, "blockquote" if body and body in quotes else None)
    if answer.notice:
        doc.add("\n\n").add(f"note: {answer.notice}", "i")
    # as of, filters, disagreements; per-citation date notes ("[1] article of ...") are for
    # /sources and the buttons: in a chat they are noise under the answer
    when = [line for line in time_lines(answer) if not line.startswith("[")]
    if when:
        doc.add("\n\n").add("\n".join(when), "i")
    if answer.citations:
        doc.add("\n\n").add(say("sources", lang), "b")
        for c in answer.citations:
            doc.add("\n")
            _source_entry(doc, c, lang)
            if c.quote not in answer.text:  # a written answer: show what it rests on
                doc.add("\n").add(c.quote, "blockquote")
    return doc


def telegram(answer: Answer, limit: int = TELEGRAM_LIMIT) -> list[TelegramPart]:
    """An answer as Telegram HTML messages of at most ``limit`` visible characters each."""
    return telegram_doc(answer).parts(limit)


def telegram_sources(answer: Answer, limit: int = TELEGRAM_LIMIT) -> list[TelegramPart]:
    """The full citations of an answer: source, then the passage with the quote in bold."""
    doc = TelegramDoc()
    doc.add("Sources for: ", "b").add(answer.question)
    if answer.rewritten:
        doc.add("\n").add(f"(understood as: {answer.rewritten})", "i")
    lang = language_of(answer.question)
    for c in answer.citations:
        doc.add("\n\n")
        _source_entry(doc, c, lang)
        doc.add("\n")
        with doc.styled("blockquote"):
            a, b = c.span
            doc.add(c.text[:a]).add(c.text[a:b], "b").add(c.text[b:])
    notes = [line for line in time_lines(answer) if line.startswith("[")]
    if notes:
        doc.add("\n\n").add("\n".join(notes), "i")
    return doc.parts(limit)


# --- the Telegram bot's help and /status ----------------------------------------------------------

# The bot's command menu, in the order Telegram shows it: (command, description).
TELEGRAM_COMMANDS = (
    ("ask", "Ask a question about the news"),
    ("latest", "The newest articles (since:3d source:AFP)"),
    ("sources", "Full sources of my last answer"),
    ("new", "Forget this conversation"),
    ("status", "Index size and last update"),
    ("help", "What I do and how to ask"),
)


def telegram_help(
    info: dict[str, Any],
    username: str | None,
    tries: tuple[str, ...] | list[str] = (),
    language: str = "en",
) -> list[TelegramPart]:
    """/start and /help: what the bot does, how to ask, what it knows (``info``: index_status),
    and ``tries``: questions to try, from the user's own articles; in ``language``."""
    doc = TelegramDoc()
    articles = info.get("articles") or 0
    doc.add(say("help_intro", language))
    doc.add(say("help_articles", language, n=articles, s="s" if articles != 1 else ""), "b")
    newest = info.get("newest_article")
    if newest:
        title = newest.get("title") or say("untitled", language)
        date = str(newest.get("published"))[:10]
        doc.add(say("help_newest", language, title=title, date=date))
    doc.add(say("help_quoting", language))
    doc.add(say("help_how", language), "b")
    doc.add(say("help_how_body", language, username=username))
    doc.add(say("help_commands", language), "b")
    for command, description in TELEGRAM_COMMANDS:
        about = say(f"cmd_{command}", language) if f"cmd_{command}" in MESSAGES else description
        name = f"/ask {say('ask_placeholder', language)}" if command == "ask" else f"/{command}"
        doc.add(f"\n{name} — {about}")
    if tries:
        doc.add("\n\n").add(say("help_try", language), "b")
        for t in tries:
            doc.add(f"\n• {t}")
    return doc.parts()


def telegram_status(info: dict[str, Any], language: str = "en") -> list[TelegramPart]:
    """/status: index size and last reindex (``info``: index_status), in ``language``."""
    doc = TelegramDoc()
    doc.add(say("status_index", language), "b")
    articles, chunks = info.get("articles") or 0, info.get("chunks") or 0
    doc.add(say("status_counts", language, articles=articles, chunks=chunks))
    when = info.get("last_reindex") or say("status_never", language)
    doc.add(say("status_last", language, when=when))
    newest = info.get("newest_article")
    if newest:
        doc.add(
            say("status_newest", language, title=newest.get("title") or say("untitled", language))
        )
        doc.add(f"({str(newest.get('published'))[:10]})")
    if not info.get("store_reachable", True):
        doc.add(say("status_unreachable", language), "i")
    return doc.parts()
