"""`newsbot ask | latest | sources | chat | reindex | watch | status | check | eval | telegram`.

Exit codes: 0 done (an answer or a refusal; also a bare `newsbot`, which prints the help), 1 an
error with a clear message on stderr, 2 usage, 130 interrupted, 141 stdout closed early (`| head`).
Progress and logs go to stderr; `--json` output is one line, the last line of stdout.

Every setting except the secrets is also a flag of every command, generated from the fields of
``Settings`` (``top_k`` -> ``--top-k``); a flag beats the environment, which beats ``.env``.

``entry()`` is the console script: it alone configures logging, and it ends quietly when stdout
is closed early. ``main(argv)`` runs one command in-process (as tests do) and leaves logging alone.
Commands import what they need when they run, so a no-op `reindex` does not load the answering
stack, and neither `telegram` nor `rich` load unless used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import time
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr, ValidationError

from index.errors import NewsbotError
from index.settings import Settings

if TYPE_CHECKING:
    from index.articles import Skipped
    from index.reindex import Report

logger = logging.getLogger(__name__)

QUIET_LOGGERS = (
    "httpx", "httpcore", "chromadb", "urllib3", "sentence_transformers", "telegram",
    "apscheduler", "trafilatura", "htmldate", "courlan", "llama_index", "filelock", "pypdf",
)  # fmt: skip

BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a command whose reader went away

SECRETS = tuple(
    name
    for name, field in Settings.model_fields.items()
    if field.annotation is not None and SecretStr in typing.get_args(field.annotation)
)
SECRETS_EPILOG = (
    f"Secrets ({', '.join(f'NEWSBOT_{name.upper()}' for name in SECRETS)}) have no flags: "
    "a command line is visible to every user of the machine (ps). Set them in the environment "
    "or in .env."
)

# Older or shorter spellings of generated setting flags, per command.
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "ask": {"top_k": ("-k",)},
    "chat": {"top_k": ("-k",)},
    "watch": {"watch_minutes": ("--every",)},
    "telegram": {"telegram_api_url": ("--api-url",)},
}


class UsageError(Exception):
    """Bad command-line use: exit 2."""


# --- settings from flags -----------------------------------------------------------------------


def setting_flag(name: str) -> str:
    """The command-line flag of a setting: ``top_k`` -> ``--top-k``."""
    return "--" + name.replace("_", "-")


def public_settings() -> dict[str, Any]:
    """Settings' fields that get a flag: all but the secrets."""
    return {name: field for name, field in Settings.model_fields.items() if name not in SECRETS}


def _bare_type(annotation: Any) -> Any:
    """``X`` of ``X | None``; the annotation itself otherwise."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _metavar(name: str, kind: Any) -> str:
    if typing.get_origin(kind) is list:
        return "A,B,..."
    if name.endswith("_url"):
        return "URL"
    if kind is Path:
        return "PATH"
    if kind is dt.date:
        return "DATE"
    return {int: "N", float: "NUMBER"}.get(kind, name.rsplit("_", 1)[-1].upper())


def _setting_help(name: str, field: Any) -> str:
    if field.default_factory is not None:
        default = "empty"
    elif field.default is None:
        default = "unset"
    else:
        default = str(field.default)
    text = f"{field.description} (NEWSBOT_{name.upper()}; default: {default})"
    return text.replace("%", "%%")  # argparse formats help with %


def add_setting_flags(parser: argparse.ArgumentParser, command: str) -> None:
    """A flag for every non-secret setting, typed from its annotation, described by its field.

    Each flag's default is None, meaning "not given": the environment, ``.env`` or the field's
    default then decide. Numbers are checked here (a bad one is a usage error, exit 2); the rest
    is validated by Settings (an invalid value is an error, exit 1).
    """
    aliases = ALIASES.get(command, {})
    group = parser.add_argument_group("settings (each overrides its NEWSBOT_* variable)")
    for name, field in public_settings().items():
        kind = _bare_type(field.annotation)
        flags = [setting_flag(name), *aliases.get(name, ())]
        help_text = _setting_help(name, field)
        if kind is bool:
            group.add_argument(
                *flags, dest=name, action=argparse.BooleanOptionalAction, help=help_text
            )
            continue
        group.add_argument(
            *flags,
            dest=name,
            type=kind if kind in (int, float) else str,  # lists stay comma text for Settings
            metavar=_metavar(name, kind),
            help=help_text,
        )


def load_settings(args: argparse.Namespace) -> Settings:
    """Settings from the flags given, then the environment, ``.env`` and defaults."""
    overrides = {
        name: getattr(args, name)
        for name in public_settings()
        if getattr(args, name, None) is not None
    }
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise NewsbotError(f"invalid settings: {problems}") from None


def configure_logging(verbosity: int) -> None:
    """Log records to stderr: WARNING, -v INFO, -vv DEBUG (chatty libraries too)."""
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING if verbosity < 2 else logging.DEBUG)


# --- what the commands print -------------------------------------------------------------------


def print_skipped(skipped: Skipped) -> None:
    """A file, record or URL left out of the index, and why."""
    print(f"skipped {skipped.path}: {skipped.reason}", file=sys.stderr)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _duration(seconds: float) -> str:
    """'42 s', '3 min 5 s', '2 h 10 min'."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


class PlainProgress:
    """Progress as plain lines on stderr, for pipes and logs: one line per 10% done, with the
    rate and the time left (ETA) from the rate so far."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.total = self.done = self.chunks = 0
        self.clock = clock
        self.started = 0.0
        self.next_tenth = 1

    def start(self, articles: int) -> None:
        self.total = articles
        self.started = self.clock()
        self.next_tenth = 1
        print(f"embedding {_plural(articles, 'article')}", file=sys.stderr, flush=True)

    def advance(self, articles: int, chunks: int) -> None:
        self.done += articles
        self.chunks += chunks
        if not self.total or self.done * 10 < self.next_tenth * self.total:
            return  # not yet at the next tenth
        self.next_tenth = self.done * 10 // self.total + 1
        elapsed = self.clock() - self.started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        left = self.total - self.done
        when = f"ETA {_duration(left / rate)}" if left and rate else f"in {_duration(elapsed)}"
        print(
            f"  {100 * self.done // self.total:3d}% {self.done}/{self.total} articles, "
            f"{self.chunks} chunks, {rate:.1f} articles/s, {when}",
            file=sys.stderr,
            flush=True,
        )

    def finish(self) -> None:
        pass


class BarProgress:
    """A rich progress bar on stderr, for terminals: done, rate and time left."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task: Any) -> Text:
                speed = task.finished_speed or task.speed
                return Text(f"{speed:.1f}/s" if speed else "", style="progress.data.speed")

        self._progress = Progress(
            TextColumn("indexing"),
            BarColumn(),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            TextColumn("articles, {task.fields[chunks]} chunks"),
            Rate(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task: Any = None

    def start(self, articles: int) -> None:
        self._progress.start()
        self._task = self._progress.add_task("index", total=articles, chunks=0)

    def advance(self, articles: int, chunks: int) -> None:
        task = self._progress.tasks[0]
        self._progress.update(
            self._task, advance=articles, chunks=int(task.fields["chunks"]) + chunks
        )

    def finish(self) -> None:
        if self._task is not None:
            self._progress.stop()


def make_progress() -> PlainProgress | BarProgress:
    return BarProgress() if sys.stderr.isatty() else PlainProgress()


def _ensure_index(settings: Settings) -> None:
    """index.reindex.ensure_index, its announcement and skipped files shown on stderr."""
    from index.reindex import EmptyIndexError, ensure_index

    def announce(line: str) -> None:
        print(line, file=sys.stderr)

    try:
        report = ensure_index(settings, progress=make_progress(), announce=announce)
    except EmptyIndexError as exc:  # every file skipped: say why each was, then the error
        for skipped in exc.report.skipped:
            print_skipped(skipped)
        raise
    for skipped in report.skipped if report else ():
        print_skipped(skipped)


def print_answer(answer: Any, as_json: bool) -> None:
    from bot import render

    if as_json:
        print(render.to_json(answer))
    elif sys.stdout.isatty():
        from rich.console import Console

        Console().print(render.styled(answer))
    else:
        print(render.plain(answer))


def _answer(answerer: Any, question: str, history: Any, as_json: bool) -> Any:
    """The answer; a generated one streams to a terminal first (the checked one replaces it)."""
    if as_json or not sys.stdout.isatty() or not hasattr(answerer, "stream"):
        return answerer.answer(question, history)
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    streamed = Text(style="dim")
    with Live(streamed, console=Console(), refresh_per_second=8, transient=True) as live:

        def on_token(piece: str) -> None:
            streamed.append(piece)
            live.update(streamed)

        return answerer.stream(question, history, None, on_token)


def answer_and_print(
    answerer: Any,
    question: str,
    history: Any,
    as_json: bool,
    settings: Settings | None = None,
    filters: Any = None,
) -> Any:
    """Answer and print. With ``settings``, through ``bot.stories.respond``: a filter that
    leaves nothing says so, a broad question is answered story by story."""
    if settings is None:
        answer = _answer(answerer, question, history, as_json)
    else:
        from bot.stories import respond

        answer = respond(
            settings, question, filters, lambda: _answer(answerer, question, history, as_json)
        )
    print_answer(answer, as_json)
    return answer


# --- commands ----------------------------------------------------------------------------------


def cmd_reindex(args: argparse.Namespace) -> int:
    from index.reindex import reindex

    settings = load_settings(args)
    report = reindex(settings, args.paths or None, full=args.full, progress=make_progress())
    for skipped in report.skipped:
        print_skipped(skipped)
    rate = report.chunks / report.seconds if report.seconds else 0.0
    summary = (
        f"{report.added} added, {report.updated} updated, {report.removed} removed, "
        f"{report.unchanged} unchanged, {len(report.skipped)} skipped; "
        f"{report.chunks} chunks in {report.seconds:.2f}s ({rate:.1f} chunks/s)"
    )
    if args.json:
        print(summary, file=sys.stderr)
        print(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        print(summary)
    return 1 if args.strict and report.skipped else 0


def ask_filters(args: argparse.Namespace, settings: Settings) -> Any:
    """--since/--until/--source as Filters (None when none is given)."""
    from index.dates import parse_day
    from index.errors import FilterError
    from index.filters import Filters

    try:
        since, until = (
            parse_day(v, settings.today) if v else None for v in (args.since, args.until)
        )
        filters = Filters(since, until, tuple(args.source or ()))
    except (ValueError, FilterError) as exc:
        raise UsageError(getattr(exc, "user_message", str(exc))) from None
    return filters or None


def question_filters(text: str, flags: Any, settings: Settings) -> tuple[str, Any]:
    """The question without its filter words (since:, source:, "yesterday"...), and the filters
    they and the flags make; flag dates beat the question's, sources add up. UsageError for
    an unreadable filter."""
    from index.errors import FilterError
    from index.filters import Filters, parse_filters

    try:
        question, words = parse_filters(text, settings.today)
        if flags:
            dated = bool(flags.since or flags.until)
            source = tuple(dict.fromkeys((*flags.sources, *words.sources)))
            words = Filters(
                flags.since if dated else words.since,
                flags.until if dated else words.until,
                source,
                None if dated else words.said,
            )
    except FilterError as exc:
        raise UsageError(exc.user_message) from None
    return question, words or None


def cmd_ask(args: argparse.Namespace) -> int:
    from bot.answer import QuestionError, check_question
    from bot.generate import make_answerer

    settings = load_settings(args)
    try:
        question = check_question(args.question, settings)
    except QuestionError as exc:
        raise UsageError(exc.user_message) from None
    question, filters = question_filters(question, ask_filters(args, settings), settings)
    _ensure_index(settings)
    answerer = make_answerer(settings).filtered(filters)
    answer_and_print(answerer, question, (), args.json, settings, filters)
    return 0


def _headline_line(row: dict[str, Any]) -> str:
    day = (row.get("published") or "")[:10] or "undated"
    title = row.get("title") or "(untitled)"
    return f"{day}  {row.get('source') or '-'}  {title}  [{row['id']}]"


def cmd_latest(args: argparse.Namespace) -> int:
    from bot.stories import check_sources, latest, nothing_left

    settings = load_settings(args)
    filters = ask_filters(args, settings)
    if args.n < 1:
        raise UsageError("-n must be 1 or more")
    _ensure_index(settings)
    check_sources(settings, filters)
    rows = latest(settings, filters, args.n)
    empty = nothing_left(settings, filters) if not rows else None
    if empty:
        print(empty, file=sys.stdout if not args.json else sys.stderr)
    if args.json:
        keys = ("id", "title", "source", "published", "url", "language")
        articles = [{k: row.get(k) for k in keys} for row in rows]
        print(json.dumps({"articles": articles}, ensure_ascii=False))
        return 0
    for row in rows:
        print(_headline_line(row))
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from bot.stories import outlets

    settings = load_settings(args)
    _ensure_index(settings)
    found = outlets(settings)
    if args.json:
        print(json.dumps({"sources": [o.as_json() for o in found]}, ensure_ascii=False))
        return 0
    if not found:
        print("no article names its source")
    width = max((len(o.name) for o in found), default=0)
    for o in found:
        newest = (o.newest or "")[:10] or "undated"
        print(f"{o.name:<{width}}  {_plural(o.articles, 'article'):>12}  newest {newest}")
    return 0


def _lines(prompt: str) -> Iterator[str]:
    """Questions typed at a prompt with history and line editing, or read from a pipe."""
    if sys.stdin.isatty() and sys.stdout.isatty():
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory, InMemoryHistory

        history: Any
        try:
            path = Path.home() / ".newsbot_history"
            history = FileHistory(str(path))
        except OSError:
            history = InMemoryHistory()
        session: Any = PromptSession(history=history)
        while True:
            try:
                yield session.prompt(prompt)
            except KeyboardInterrupt:
                continue
            except EOFError:
                return
    else:
        for line in sys.stdin:
            yield line.rstrip("\n")


CHAT_COMMANDS = (
    ("/help", "what I do, the commands, questions to try"),
    ("/sources", "the passages of my last answer, the quoted sentence marked, and its dates"),
    ("/latest [since:DATE] [source:NAME]", "the newest articles"),
    ("/new", "forget the conversation"),
    ("/quit", "leave (also Ctrl-D)"),
)


def _grey(text: str) -> None:
    """A side note: dim on a terminal; on stderr when piped, so stdout stays the answers."""
    if sys.stdout.isatty():
        from rich.console import Console

        Console().print(text, style="dim", markup=False, highlight=False)
    else:
        print(text, file=sys.stderr)


def chat_help(settings: Settings) -> str:
    """/help of `newsbot chat`: the commands, the filters, questions from the user's articles."""
    from bot.stories import suggestions

    lines = ["Ask about the indexed articles; follow-ups lean on the previous answer.", ""]
    width = max(len(c) for c, _ in CHAT_COMMANDS)
    lines += [f"  {command:<{width}}  {about}" for command, about in CHAT_COMMANDS]
    lines += [
        "",
        "Filters in a question: since:DATE until:DATE source:NAME, or time words "
        '("What happened yesterday?", "منذ الاثنين").',
    ]
    tries = suggestions(settings)
    if tries:
        lines += ["", "Try:"] + [f"  {t}" for t in tries]
    return "\n".join(lines)


def chat_sources(answer: Any, as_json: bool) -> str:
    """/sources of `newsbot chat`: each cited passage with its quoted sentence marked."""
    from bot import render

    if answer is None:
        return "There are no sources yet: ask a question first."
    if as_json:
        today = dt.date.fromisoformat(answer.today) if answer.today else None
        return json.dumps(
            {"sources": [c.as_json(today) for c in answer.citations]}, ensure_ascii=False
        )
    if not answer.citations:
        return "My last answer had no sources: I couldn't find that in the articles."
    lines = [f"Sources for: {answer.question}"]
    if answer.rewritten:
        lines.append(f"(understood as: {answer.rewritten})")
    for c in answer.citations:
        a, b = c.span
        lines += [
            "",
            f"[{c.n}] {render.source_line(c)}",
            f"{c.text[:a]}>>>{c.text[a:b]}<<<{c.text[b:]}",
        ]
    when = render.time_lines(answer)
    if when:
        lines += ["", *when]
    return "\n".join(lines)


def chat_latest(settings: Settings, text: str, as_json: bool) -> str:
    """/latest [filters] of `newsbot chat`."""
    from bot.stories import check_sources, latest, nothing_left

    _, filters = question_filters(text, None, settings)
    check_sources(settings, filters)
    rows = latest(settings, filters, 10)
    if as_json:
        keys = ("id", "title", "source", "published", "url", "language")
        return json.dumps(
            {"articles": [{k: r.get(k) for k in keys} for r in rows]}, ensure_ascii=False
        )
    if not rows:
        return nothing_left(settings, filters) or "No articles yet."
    return "\n".join(_headline_line(r) for r in rows)


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.answer import QuestionError, check_question
    from bot.citations import Turn
    from bot.generate import make_answerer

    settings = load_settings(args)
    _ensure_index(settings)
    answerer = make_answerer(settings)
    history: list[Turn] = []
    last: Any = None
    interactive = sys.stdin.isatty()
    if interactive:
        print("Ask about the indexed articles. /help lists the commands; /quit or Ctrl-D leaves.")
    for line in _lines("you> "):
        text = line.strip()
        if not text:
            continue
        command, _, rest = text.partition(" ")
        command = command.lower()
        try:
            if command in ("/quit", "/exit", "/q"):
                break
            if command == "/new":
                history.clear()
                last = None
                print("(conversation forgotten)")
                continue
            if command in ("/help", "/start", "/?"):
                print(chat_help(settings))
                continue
            if command == "/sources":
                print(chat_sources(last, args.json))
                continue
            if command == "/latest":
                print(chat_latest(settings, rest, args.json))
                continue
            if command.startswith("/") and len(command) > 1 and command[1:2].isalpha():
                print(f"Unknown command {command}. /help lists the commands.", file=sys.stderr)
                continue
            question, filters = question_filters(check_question(text, settings), None, settings)
            answer = answer_and_print(
                answerer.filtered(filters), question, history, args.json, settings, filters
            )
        except QuestionError as exc:
            print(f"error: {exc.user_message}", file=sys.stderr)
            continue
        except UsageError as exc:
            print(f"error: {exc}", file=sys.stderr)
            continue
        except NewsbotError as exc:  # an unknown source, an unreachable store: the chat goes on
            print(f"error: {exc.user_message}", file=sys.stderr)
            continue
        if answer.rewritten:
            _grey(f"(understood as: {answer.rewritten})")
        if not args.json:
            print()
        history.append(Turn(question, answer))
        last = answer
        del history[: -max(settings.telegram_history, 1)]
    return 0


def print_poll(report: Report, as_json: bool) -> None:
    """One poll of `newsbot watch`: what was skipped, then a timed summary (or its JSON)."""
    for skipped in report.skipped:
        print_skipped(skipped)
    stamp = time.strftime("%H:%M:%S")
    summary = (
        f"{stamp} {report.added} added, {report.updated} updated, {report.unchanged} unchanged, "
        f"{len(report.skipped)} skipped; {report.chunks} chunks in {report.seconds:.2f}s"
    )
    if as_json:
        print(summary, file=sys.stderr)
        print(json.dumps(report.as_json(), ensure_ascii=False), flush=True)
    else:
        print(summary, flush=True)


def watch(
    settings: Settings,
    sources: Sequence[str] | None = None,
    once: bool = False,
    as_json: bool = False,
) -> int:
    """Poll the feeds until interrupted (or once), printing each poll; the exit code."""
    from bot.watch import Watcher, watched

    specs = watched(settings, sources)
    if not once:
        print(
            f"watching {len(specs)} source(s) every {settings.watch_minutes:g} min; Ctrl-C stops",
            file=sys.stderr,
        )
    watcher = Watcher(settings, specs, lambda report: print_poll(report, as_json))
    watcher.run(once=once)
    if watcher.last_error:
        print(f"error: {watcher.last_error}", file=sys.stderr)
        return 1 if once else 0
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    return watch(load_settings(args), args.sources or None, once=args.once, as_json=args.json)


def cmd_status(args: argparse.Namespace) -> int:
    from index.status import index_status

    info = index_status(load_settings(args))
    if args.json:
        print(json.dumps(info, ensure_ascii=False, default=str))
        return 0
    print(f"store:        {info['mode']} at {info['location']}")
    print(f"collection:   {info['collection']} (model {info['embed_model']})")
    vectors = info["vectors"] if info["store_reachable"] else "unreachable"
    print(f"articles:     {info['articles']}  chunks: {info['chunks']}  vectors: {vectors}")
    print(f"last reindex: {info['last_reindex'] or 'never'}")
    for problem in info.get("problems", []):
        print(f"problem:      {problem}")
    if info["newest_article"]:
        n = info["newest_article"]
        print(f"newest:       {n['title'] or '(untitled)'} ({n['published']})")
    print("settings:")
    for key, value in info["settings"].items():
        print(f"  {key} = {value}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Every id of the manifest (or server-mode cache) against every vector; 1 if they differ."""
    from index.status import check_index

    found, problems = check_index(load_settings(args))
    if args.json:
        print(json.dumps({"ok": not problems, "listed": found.listed, "stored": found.stored,
                          "missing": found.missing, "orphans": found.orphans,
                          "problems": problems}, ensure_ascii=False))  # fmt: skip
    else:
        for problem in problems:
            print(f"problem: {problem}")
        if not problems:
            print(f"ok: {found.listed} chunks listed, {found.stored} vectors, the same ids")
    return 1 if problems else 0


def _query_progress(done: int, total: int) -> None:
    if done % max(total // 10, 50) == 0:
        print(f"  {done}/{total} queries", file=sys.stderr, flush=True)


def cmd_eval(args: argparse.Namespace) -> int:
    from bot.evaluate import evaluate, format_report, load_queries

    settings = load_settings(args)
    queries = load_queries(args.queries)
    if args.split != "all":
        queries = [q for q in queries if q.split in (None, args.split)]
    channels = [c.strip() for c in args.channels.split(",") if c.strip()] if args.channels else None
    try:
        result = evaluate(
            settings,
            args.corpus,
            queries,
            k=args.k,
            index_dir=args.index_dir,
            channels=channels,
            progress=make_progress(),
            details=args.details,
            on_skipped=print_skipped,
            on_query=_query_progress,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    result["split"] = args.split
    if args.json:
        print(format_report(result), file=sys.stderr)
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(format_report(result))
    return 0


def cmd_telegram(args: argparse.Namespace) -> int:
    from bot.generate import make_answerer
    from bot.telegram import NewsBot, check_api_url, check_token

    settings = load_settings(args)
    check_token(settings)  # before the slow start: a bad token is the first thing to fix
    check_api_url(settings)
    _ensure_index(settings)
    # Built on the bot's answering thread: the answerer's SQLite connection is bound to it.
    bot = NewsBot(settings, lambda: make_answerer(settings))

    def ready(username: str) -> None:
        print(f"@{username} is answering on Telegram; Ctrl-C stops it", file=sys.stderr)

    bot.run(ready)
    print("stopped", file=sys.stderr)
    return 0


# --- the parser ---------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # exit 2 with one clean line
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _version() -> str:
    try:
        return metadata.version("newsbot")
    except metadata.PackageNotFoundError:  # run from a clone that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="newsbot",
        description="Question answering over news articles.",
        epilog=SECRETS_EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"newsbot {_version()}")
    parser.set_defaults(func=None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(
        name: str, func: Callable[[argparse.Namespace], int], args: str = "", **kw: Any
    ) -> Any:
        # A short usage line: the generated setting flags are listed under --help.
        usage = f"%(prog)s [options] {args}".rstrip()
        p = sub.add_parser(name, usage=usage, epilog=SECRETS_EPILOG, **kw)
        p.set_defaults(func=func)
        return p

    def filter_flags(p: argparse.ArgumentParser) -> None:
        """--since, --until and --source, for the commands that read articles by them."""
        p.add_argument("--since", metavar="DATE", help="only articles published on or after DATE")
        p.add_argument("--until", metavar="DATE", help="only articles published on or before DATE")
        p.add_argument(
            "--source", metavar="NAME", action="append", help="only articles from NAME; repeatable"
        )

    def finish(p: argparse.ArgumentParser, name: str) -> None:
        p.add_argument("-v", "--verbose", action="count", default=0, help="-v info, -vv debug")
        add_setting_flags(p, name)

    p = command("ask", cmd_ask, "question", help="answer one question with cited passages")
    p.add_argument("question")
    p.add_argument("--json", action="store_true", help="one JSON object on the last line")
    filter_flags(p)
    finish(p, "ask")

    p = command("latest", cmd_latest, help="the newest articles: date, outlet, title, id")
    p.add_argument("-n", type=int, default=10, help="how many (default 10)")
    p.add_argument("--json", action="store_true", help="one JSON object on the last line")
    filter_flags(p)
    finish(p, "latest")

    p = command("sources", cmd_sources, help="the outlets, their article counts and newest date")
    p.add_argument("--json", action="store_true", help="one JSON object on the last line")
    finish(p, "sources")

    p = command("chat", cmd_chat, help="interactive questions with follow-ups")
    p.add_argument("--json", action="store_true", help="one JSON line per answer")
    finish(p, "chat")

    p = command(
        "reindex", cmd_reindex, "[PATH or URL ...]",
        help="index new and changed articles, drop removed ones",
    )  # fmt: skip
    p.add_argument(
        "paths", nargs="*",
        help="files, folders, feed or article URLs (default: articles dir and sources file)",
    )  # fmt: skip
    p.add_argument("--full", action="store_true", help="re-embed everything")
    p.add_argument("--json", action="store_true", help="one JSON summary on the last line")
    p.add_argument("--strict", action="store_true", help="exit 1 when anything was skipped")
    finish(p, "reindex")

    p = command(
        "watch", cmd_watch, "[URL ...]", help="poll the feeds and index new or changed articles"
    )
    p.add_argument(
        "sources", nargs="*", help="feed or article URLs (default: the sources file's feeds)"
    )
    p.add_argument("--once", action="store_true", help="poll once and exit")
    p.add_argument("--json", action="store_true", help="one JSON summary line per poll")
    finish(p, "watch")

    p = command("status", cmd_status, help="index size, store, settings")
    p.add_argument("--json", action="store_true", help="one JSON object")
    finish(p, "status")

    p = command("check", cmd_check, help="compare every chunk with the vectors; 1 if they differ")
    p.add_argument("--json", action="store_true", help="one JSON object")
    finish(p, "check")

    p = command(
        "eval", cmd_eval, "--corpus FILE --queries FILE",
        help="measure retrieval and refusals on a corpus and labelled questions",
    )  # fmt: skip
    p.add_argument(
        "--corpus", type=Path, action="append", required=True,
        help="articles to index (JSONL {id, text, title?, language?}, or any file or folder "
        "reindex reads); repeatable",
    )  # fmt: skip
    p.add_argument(
        "--queries", type=Path, action="append", required=True,
        help="JSONL {id, question, relevant: [article id]}; empty relevant = off-topic; repeatable",
    )  # fmt: skip
    p.add_argument("-k", type=int, default=10, help="articles ranked per query (10 at least)")
    p.add_argument(
        "--index-dir", type=Path,
        help="build the index here and keep it (reused, incrementally, by the next run); "
        "default: a temporary folder",
    )  # fmt: skip
    p.add_argument(
        "--split", choices=("all", "tune", "test"), default="all",
        help="only queries of this split (queries without one are always kept)",
    )  # fmt: skip
    p.add_argument(
        "--channels", help="comma-separated subset of dense,sentence,lexical (ablations)"
    )
    p.add_argument("--details", type=Path, help="write one JSON line per query here")
    p.add_argument("--json", action="store_true", help="one JSON object on the last line")
    finish(p, "eval")

    p = command("telegram", cmd_telegram, help="run the Telegram bot (long polling; Ctrl-C stops)")
    finish(p, "telegram")

    return parser


# --- entry points ------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """Run the parsed command; NewsbotError and usage errors become a message and an exit code."""
    if args.func is None:  # a bare `newsbot`
        build_parser().print_help()
        return 0
    try:
        return int(args.func(args))
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except NewsbotError as exc:
        print(f"error: {exc.user_message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command in this process; the exit code. Configures no logging (see entry())."""
    return run(build_parser().parse_args(argv))


def entry() -> None:
    """The `newsbot` console script: logging on stderr, and a quiet end when stdout closes."""
    code: int | str | None
    try:
        try:
            args = build_parser().parse_args()
        except SystemExit as exc:  # --help, --version, a usage error: printed, maybe not flushed
            code = exc.code
        else:
            configure_logging(getattr(args, "verbose", 0))
            code = run(args)
        sys.stdout.flush()  # a closed pipe shows here rather than in the interpreter's last flush
    except BrokenPipeError:
        # The reader (`| head -1`) has gone: what is left to print goes nowhere, no traceback.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = BROKEN_PIPE
    sys.exit(code)


if __name__ == "__main__":
    entry()
