"""The Telegram bot: a python-telegram-bot Application, its handlers, and how it runs.

``NewsBot(settings, make_answerer)`` builds the Application (long polling, concurrent updates,
flood control by ``bot.chats.FloodLimiter``) against ``settings.telegram_api_url``, so it runs
against api.telegram.org, a self-hosted Bot API server or a test server alike. ``serve(stop)``
runs it until ``stop`` is set; ``run()`` does that until SIGINT or SIGTERM.

Answering is blocking work (embedding, SQLite, Chroma): it runs on one worker thread, off the
event loop, so other chats are served meanwhile. The Answerer is created on that thread and only
ever used there: it is not thread-safe, and its SQLite connection refuses other threads.

Chat memory and the rate limit live in bot/chats.py, log redaction in bot/redact.py, and what the
bot says in its help and /status in bot/render.py.

Privacy: with ``telegram_allowed_chats`` set, other chats get one refusal and nothing else; their
text is neither answered nor logged. No log line carries question text or the bot token.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import signal
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import render
from bot.answer import QuestionError, check_question
from bot.catalogue import user_language
from bot.chats import MAX_CHATS, Chats, FloodLimiter, allowed
from bot.citations import Answer, Turn
from bot.redact import TokenFilter, redacted_logs
from bot.stories import check_sources, latest, nothing_left, respond, suggestions
from bot.watch import Watcher, start_background_watch
from index.errors import ConfigError, FilterError, NewsbotError
from index.filters import Filters, parse_filters
from index.settings import Settings
from index.status import index_status

logger = logging.getLogger(__name__)

T = TypeVar("T")

# digits, a colon, then the secret: letters, digits, _ and - (BotFather's format)
TOKEN_PATTERN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{20,100}")
# Telegram shows "typing..." for 5 s; renew it while an answer takes longer.
TYPING_EVERY = 4.5

# A streamed answer is redrawn at most this often (Telegram's flood limits; retry_after wins).
STREAM_EVERY = 0.6
# While Telegram cannot be reached, a failed poll is logged at most this often (seconds).
POLLING_WARN_EVERY = 60.0
# Answers whose source buttons still work, across all chats (the oldest are forgotten).
KEPT_ANSWERS = 2000

COMMANDS = tuple(BotCommand(command, about) for command, about in render.TELEGRAM_COMMANDS)

HINT = (
    "I answer questions about the news, as text. Send me your question, or /help for what I know."
)
UNKNOWN = "I don't know the command {command}. Send me a question, or /help for the commands."
NO_BUTTON = "That answer is too old: ask again to see its sources."
NOT_ALLOWED = "Sorry, this is a private bot: it only answers the chats it was set up for."
SORRY = "Sorry, something went wrong. Please try again in a moment."
SLOW_DOWN = (
    "You're asking faster than I can keep up: at most {limit} questions a minute. "
    "Please try again in {seconds} s."
)
FORGOTTEN = "Done: I've forgotten our conversation. Ask me something new."
NO_SOURCES = "There are no sources yet: ask me a question first."
REFUSED_SOURCES = "My last answer had no sources: I couldn't find that in the articles."
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class AnswersQuestions(Protocol):
    """What the bot needs of an Answerer (bot.answer.Answerer, or a test's stand-in)."""

    def answer(self, question: str, history: Sequence[Turn] = (), k: int | None = None) -> Answer:
        """An answer with [n] markers and citations, or a refusal."""
        ...

    def filtered(self, filters: Filters | None) -> AnswersQuestions:
        """The same answerer searching only what ``filters`` (since:, until:, source:) allow."""
        ...


# --- settings ----------------------------------------------------------------------------------


def check_token(settings: Settings) -> str:
    """The bot token, or a ConfigError saying what is wrong with it (never echoing it)."""
    secret = settings.telegram_token.get_secret_value().strip() if settings.telegram_token else ""
    if not secret:
        raise ConfigError(
            "NEWSBOT_TELEGRAM_TOKEN is not set: create a bot with @BotFather in Telegram and set "
            "NEWSBOT_TELEGRAM_TOKEN to the token it gives you"
        )
    if not TOKEN_PATTERN.fullmatch(secret):
        raise ConfigError(
            "NEWSBOT_TELEGRAM_TOKEN is malformed: a bot token is digits, a colon, then letters, "
            "digits, _ and - (like 123456789:AAE...); copy it again from @BotFather"
        )
    return secret


def check_api_url(settings: Settings) -> str:
    """The Bot API base URL (the token is appended to it), or a ConfigError."""
    url = settings.telegram_api_url.strip()
    if not url.lower().startswith(("http://", "https://")):
        raise ConfigError(
            f"NEWSBOT_TELEGRAM_API_URL must be an http(s) URL like "
            f"https://api.telegram.org/bot, not {url!r}"
        )
    return url


# --- the bot -----------------------------------------------------------------------------------


class NewsBot:
    """One Telegram bot: its Application, handlers, per-chat memory and answering thread."""

    def __init__(
        self,
        settings: Settings,
        make_answerer: Callable[[], AnswersQuestions],
        *,
        status: Callable[[Settings], dict[str, Any]] = index_status,
        max_chats: int = MAX_CHATS,
    ) -> None:
        self.settings = settings
        self.token = check_token(settings)
        self.api_url = check_api_url(settings)
        self._make_answerer = make_answerer
        self._answerer: AnswersQuestions | None = None
        self._status = status
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newsbot-answer")
        self.chats = Chats(settings.telegram_history, max_chats)
        self._allowed = frozenset(settings.telegram_allowed_chats)
        self._refused: OrderedDict[int, None] = OrderedDict()
        self.flood = FloodLimiter(settings.telegram_flood_wait)  # 429s waited out (bot/chats.py)
        self._kept: OrderedDict[int, Answer] = OrderedDict()  # answers behind source buttons
        self._polling_warned = -POLLING_WARN_EVERY
        self._next_key = 1
        self.app: Application[Any, Any, Any, Any, Any, Any] | None = None

    def _build(self) -> Application[Any, Any, Any, Any, Any, Any]:
        app = (
            ApplicationBuilder()
            .token(self.token)
            .base_url(self.api_url)
            .rate_limiter(self.flood)
            .concurrent_updates(True)  # a slow answer in one chat must not hold up the others
            .build()
        )
        app.add_handler(TypeHandler(Update, self.guard), group=-1)
        app.add_handler(CommandHandler(["start", "help"], self.help))
        app.add_handler(CommandHandler("ask", self.ask))
        app.add_handler(CommandHandler("latest", self.latest))
        app.add_handler(CallbackQueryHandler(self.source_button, pattern=r"^src:"))
        app.add_handler(CommandHandler("sources", self.sources))
        app.add_handler(CommandHandler("new", self.new))
        app.add_handler(CommandHandler("status", self.status))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, self.text))
        app.add_handler(MessageHandler(filters.COMMAND, self.unknown_command))
        app.add_handler(MessageHandler(~filters.TEXT & ~filters.StatusUpdate.ALL, self.not_text))
        app.add_error_handler(self.on_error)
        return app

    # --- running

    async def serve(
        self,
        stop: asyncio.Event,
        *,
        poll_timeout: int = 10,
        ready: Callable[[str], None] | None = None,
    ) -> None:
        """Poll Telegram and answer until ``stop`` is set; then finish what is running."""
        with redacted_logs(self.token):
            watcher = self._start_watch()
            try:
                await self._in_worker(self._load_answerer)  # a missing index shows up now
                await self._poll(stop, poll_timeout, ready)
            finally:
                if watcher is not None:
                    watcher.stop()
                self._worker.shutdown(wait=False, cancel_futures=True)

    def _start_watch(self) -> Watcher | None:
        """Poll the sources file's feeds in the background when NEWSBOT_TELEGRAM_WATCH is on."""
        if not self.settings.telegram_watch:
            return None
        try:
            return start_background_watch(self.settings)
        except NewsbotError as exc:
            logger.warning("not watching feeds: %s", exc.user_message)
            return None

    async def _poll(
        self, stop: asyncio.Event, poll_timeout: int, ready: Callable[[str], None] | None
    ) -> None:
        # Built here, under redacted_logs: PTB logs the URL with the token when it builds a Bot.
        app = self.app = self._build()
        try:
            await app.initialize()  # getMe: checks the token and the URL
        except InvalidToken:
            raise ConfigError(
                f"the Bot API at {self.api_url} rejected NEWSBOT_TELEGRAM_TOKEN: "
                "check the token with @BotFather"
            ) from None
        except NetworkError as exc:
            reason = TokenFilter(self.token).redact(exc.message)
            raise NewsbotError(
                f"cannot reach the Telegram Bot API at {self.api_url}: {reason}"
            ) from None
        try:
            await app.bot.set_my_commands(COMMANDS)
            assert app.updater is not None
            await app.updater.start_polling(
                timeout=poll_timeout,
                allowed_updates=[Update.MESSAGE, Update.CALLBACK_QUERY],
                error_callback=self._polling_error,
            )
            await app.start()
            logger.info("polling as @%s", app.bot.username)
            if ready:
                ready(app.bot.username)
            await stop.wait()
        finally:
            logger.info("stopping")
            self.flood.stop()  # replies still waiting out a 429 give up, so stopping is prompt
            if app.updater and app.updater.running:
                with _quiet_unreachable_cleanup():
                    await app.updater.stop()
            if app.running:
                await app.stop()  # lets the updates being answered finish
            await app.shutdown()

    def run(self, ready: Callable[[str], None] | None = None) -> None:
        """Serve until SIGINT (Ctrl-C) or SIGTERM."""

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await self.serve(stop, ready=ready)

        asyncio.run(main())

    def _polling_error(self, exc: TelegramError) -> None:
        # PTB retries with a growing pause; while Telegram stays unreachable, one line a minute
        now = time.monotonic()
        if now - self._polling_warned < POLLING_WARN_EVERY:
            logger.debug("polling Telegram failed again: %s", exc)
            return
        self._polling_warned = now
        logger.warning("polling Telegram failed, retrying: %s", exc)

    def _load_answerer(self) -> None:
        if self._answerer is None:
            self._answerer = self._make_answerer()

    def _answer(
        self,
        question: str,
        history: Sequence[Turn],
        filters: Filters | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> Answer:
        self._load_answerer()
        assert self._answerer is not None
        answerer = self._answerer
        if filters:  # "/ask since:2024-11-01 ..." searches only what the filters allow
            answerer = answerer.filtered(filters)

        def run() -> Answer:
            stream = getattr(answerer, "stream", None)
            if on_token is not None and stream is not None:  # a generated answer, streamed
                return stream(question, history, None, on_token)
            return answerer.answer(question, history)

        # An unknown source, a filter that leaves nothing, a broad question (bot/stories.py)
        return respond(self.settings, question, filters, run)

    async def _in_worker(self, fn: Callable[..., T], *args: Any) -> T:
        """Run blocking answering work on the one worker thread; the loop keeps serving."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, functools.partial(fn, *args))

    # --- handlers

    async def guard(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Drops what is not a new message; refuses chats that are not allowed, once."""
        query = update.callback_query
        if query is not None:  # a source button: refused to strangers like a message
            where = query.message.chat if query.message else None
            in_groups = self.settings.telegram_users_in_groups
            if where is not None and allowed(
                self._allowed, where.id, where.type, query.from_user.id, in_groups
            ):
                return  # the same rule as for messages (bot/chats.py)
            logger.info("button press from a chat that is not allowed: refused")
            with contextlib.suppress(TelegramError):
                await query.answer(NOT_ALLOWED, show_alert=True)
            raise ApplicationHandlerStop
        message = update.message
        if message is None:  # edited messages, channel posts and the like
            raise ApplicationHandlerStop
        if not self._allowed:
            return
        user_id = message.from_user.id if message.from_user else None
        in_groups = self.settings.telegram_users_in_groups
        if allowed(self._allowed, message.chat_id, message.chat.type, user_id, in_groups):
            return  # a group by its own id only (bot/chats.py)
        chat_id = message.chat_id
        if chat_id not in self._refused:
            self._refused[chat_id] = None
            while len(self._refused) > MAX_CHATS:
                self._refused.popitem(last=False)
            logger.info("chat %d is not allowed: refused", chat_id)
            try:
                await message.reply_text(NOT_ALLOWED)
            except TelegramError as exc:
                logger.warning("could not send the refusal to chat %d: %s", chat_id, exc)
        raise ApplicationHandlerStop

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start and /help: what the bot does, how to ask, what it knows, what to try."""
        message = _message(update)
        info = await asyncio.to_thread(self._status, self.settings)
        tries = await asyncio.to_thread(self._suggestions)
        language = _language(message)
        await self._send(message, render.telegram_help(info, context.bot.username, tries, language))

    def _suggestions(self) -> list[str]:
        """Questions to try, from this index's own recent headlines (none when it is empty)."""
        try:
            return suggestions(self.settings)
        except (NewsbotError, OSError) as exc:
            logger.debug("no suggestions: %s", exc)
            return []

    async def latest(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/latest [since:3d] [source:AFP]: the newest articles, newest first."""
        message = _message(update)
        try:
            _, filters = parse_filters(_after_command(message), self.settings.today)
            rows, empty = await asyncio.to_thread(self._latest, filters or None)
        except NewsbotError as exc:
            await message.reply_text(f"Sorry, {exc.user_message}.")
            return
        await self._send(message, _headlines(rows, empty, filters))

    def _latest(self, filters: Filters | None) -> tuple[list[dict[str, Any]], str | None]:
        check_sources(self.settings, filters)
        rows = latest(self.settings, filters, 10)
        return rows, (nothing_left(self.settings, filters) if not rows else None)

    async def source_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A press on [n] under an answer: that passage, the quoted sentence in bold."""
        query = update.callback_query
        assert query is not None
        _, key, n = (query.data or "src:0:0").split(":")
        answer = self._kept.get(int(key))
        cited = [c for c in answer.citations if str(c.n) == n] if answer else []
        if answer is None or not cited or not isinstance(query.message, Message):
            await query.answer(NO_BUTTON)
            return
        await query.answer()
        await self._send(query.message, _passage(answer, cited), quote_first=True)

    async def status(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/status: index size and last reindex."""
        message = _message(update)
        info = await asyncio.to_thread(self._status, self.settings)
        await self._send(message, render.telegram_status(info, _language(message)))

    async def ask(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/ask QUESTION."""
        message = _message(update)
        await self._question(message, _after_command(message))

    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Plain text: a question in private chats; in groups only when addressed to the bot."""
        message = _message(update)
        question = self._addressed(message, context.bot.id, context.bot.username)
        if question is None:
            return
        await self._question(message, question)

    async def sources(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/sources: the full citations of this chat's last answer."""
        message = _message(update)
        state = self.chats.peek(message.chat_id)
        last = state.last if state else None
        if last is None:
            await message.reply_text(NO_SOURCES)
        elif not last.citations:
            await message.reply_text(REFUSED_SOURCES)
        else:
            await self._send(message, render.telegram_sources(last))

    async def new(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/new: forget this chat's conversation."""
        message = _message(update)
        state = self.chats.peek(message.chat_id)
        if state:
            async with state.lock:
                state.history.clear()
                state.last = None
        await message.reply_text(FORGOTTEN)

    async def unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A command the bot does not know: said so in private chats, with questions to try;
        silence in groups."""
        message = _message(update)
        if message.chat.type == ChatType.PRIVATE:
            command = (message.text or "/").split(maxsplit=1)[0].split("@")[0]
            tries = await asyncio.to_thread(self._suggestions)
            doc = render.TelegramDoc().add(UNKNOWN.format(command=command))
            _add_tries(doc, tries)
            await self._send(message, doc.parts())

    async def not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Stickers, photos, voice...: a hint on how to ask (in groups, only when replied to)."""
        message = _message(update)
        if message.chat.type == ChatType.PRIVATE or _replies_to(message, context.bot.id):
            await message.reply_text(HINT)

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Logs any handler error with its traceback and tells the user; the bot keeps going."""
        error = context.error
        if isinstance(error, RetryAfter):  # FloodLimiter gave up and said so; a reply would 429
            return
        if isinstance(error, NewsbotError):
            logger.error("could not answer: %s", error.user_message)
            reply = error.user_message
        else:
            logger.error("error while handling an update", exc_info=error)
            reply = SORRY
        if isinstance(update, Update) and update.effective_chat:
            try:
                await context.bot.send_message(update.effective_chat.id, reply)
            except TelegramError as exc:
                logger.warning("could not tell chat %d: %s", update.effective_chat.id, exc)

    # --- answering

    async def _question(self, message: Message, question: str) -> None:
        try:
            question = check_question(question, self.settings)
        except QuestionError as exc:
            empty = not question.strip()
            await message.reply_text(HINT if empty else f"Sorry, {exc.user_message}.")
            return
        try:
            question, filters = parse_filters(question, self.settings.today)
        except NewsbotError as exc:
            await message.reply_text(f"Sorry, {exc.user_message}.")
            return
        if not question.strip() and not filters:  # filters alone: that period's stories
            await message.reply_text(HINT)
            return
        chat_id = message.chat_id
        state = self.chats.get(chat_id)
        per_minute = self.settings.telegram_rate_limit
        wait = state.throttle(time.monotonic(), per_minute)
        if wait:
            logger.info("chat %d: rate limited", chat_id)
            if state.notice_due(time.monotonic(), wait):  # once per window, not per question
                seconds = max(1, round(wait))
                await message.reply_text(SLOW_DOWN.format(limit=per_minute, seconds=seconds))
            return
        async with state.lock:
            started = time.perf_counter()
            stream = _Stream(message) if self._streams() else None
            try:
                async with self._typing(message):
                    answer = await self._in_worker(
                        self._answer,
                        question,
                        tuple(state.history),
                        filters,
                        stream.on_token if stream else None,
                    )
            except FilterError as exc:  # an unknown source: the known ones are listed
                await message.reply_text(f"Sorry, {exc.user_message}.")
                return
            finally:
                placeholder = await stream.close() if stream else None
            state.history.append(Turn(question, answer))
            state.last = answer
            parts = render.telegram(answer)
            logger.info(
                "chat %d: %s in %.2f s, %d citation(s), %d message(s)",
                chat_id,
                "refused" if answer.refused else "answered",
                time.perf_counter() - started,
                len(answer.citations),
                len(parts),
            )
            await self._send(message, parts, markup=self._buttons(answer), replace=placeholder)

    def _streams(self) -> bool:
        """Whether answers are generated (and so worth streaming): the answerer can stream."""
        return self._answerer is not None and hasattr(self._answerer, "stream")

    def _buttons(self, answer: Answer) -> InlineKeyboardMarkup | None:
        """[1] [2] ... under an answer, each showing its passage; the answer is kept for them."""
        numbers = list(dict.fromkeys(c.n for c in answer.citations))
        if not numbers:
            return None
        key, self._next_key = self._next_key, self._next_key + 1
        self._kept[key] = answer
        while len(self._kept) > KEPT_ANSWERS:
            self._kept.popitem(last=False)
        row = [InlineKeyboardButton(f"[{n}]", callback_data=f"src:{key}:{n}") for n in numbers]
        return InlineKeyboardMarkup([row[i : i + 8] for i in range(0, len(row), 8)])

    @contextlib.asynccontextmanager
    async def _typing(self, message: Message) -> AsyncIterator[None]:
        """Show "typing..." in the chat until the block ends."""

        async def keep_typing() -> None:
            while True:
                try:
                    await message.get_bot().send_chat_action(message.chat_id, ChatAction.TYPING)
                except TelegramError as exc:  # cosmetic: never fail an answer over it
                    logger.debug("typing action failed: %s", exc)
                await asyncio.sleep(TYPING_EVERY)

        task = asyncio.create_task(keep_typing())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _send(
        self,
        message: Message,
        parts: Sequence[render.TelegramPart],
        *,
        markup: InlineKeyboardMarkup | None = None,
        replace: Message | None = None,
        quote_first: bool | None = None,
    ) -> None:
        """Send the parts as HTML replies; a part Telegram cannot parse goes again as plain text.

        ``markup`` (the source buttons) goes under the last part; ``replace`` is a streamed
        message that becomes the first part, edited, instead of a new message.
        """
        for i, part in enumerate(parts):
            quote = quote_first if i == 0 else False  # PTB's default quotes in groups
            last = markup if i == len(parts) - 1 else None
            if i == 0 and replace is not None and await _edit(replace, part, last):
                continue
            try:
                await message.reply_text(
                    part.html,
                    parse_mode=ParseMode.HTML,
                    link_preview_options=NO_PREVIEW,
                    allow_sending_without_reply=True,
                    do_quote=quote,
                    reply_markup=last,
                )
            except BadRequest as exc:
                if "can't parse entities" not in exc.message.lower():
                    raise
                logger.warning("Telegram refused the HTML (%s): sending plain text", exc.message)
                await message.reply_text(
                    part.text,
                    link_preview_options=NO_PREVIEW,
                    allow_sending_without_reply=True,
                    do_quote=quote,
                    reply_markup=last,
                )

    def _addressed(self, message: Message, bot_id: int, username: str | None) -> str | None:
        """The question in a text message, or None when a group message is not for the bot."""
        text = message.text or ""
        mentions = message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
        for entity, value in mentions.items():
            if (
                entity.type == MessageEntity.MENTION
                and username
                and value.lower() == f"@{username.lower()}"
            ) or (
                entity.type == MessageEntity.TEXT_MENTION
                and entity.user is not None
                and entity.user.id == bot_id
            ):
                return text.replace(value, " ", 1).strip()
        if message.chat.type == ChatType.PRIVATE or _replies_to(message, bot_id):
            return text
        return None


class _UnreachableCleanup(logging.Filter):
    """Drops PTB's traceback for its last getUpdates at shutdown, and remembers it."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped = False

    def filter(self, record: logging.LogRecord) -> bool:
        if "mark all fetched updates" in record.getMessage():
            self.dropped = True
            return False
        return True


@contextlib.contextmanager
def _quiet_unreachable_cleanup() -> Iterator[None]:
    """Stopping while the Bot API is unreachable: one line, not PTB's tracebacks."""
    updater_log = logging.getLogger("telegram.ext.Updater")
    quiet = _UnreachableCleanup()
    updater_log.addFilter(quiet)
    try:
        yield
    finally:
        updater_log.removeFilter(quiet)
        if quiet.dropped:
            logger.warning(
                "stopped without reaching the Bot API; updates not yet confirmed may come again"
            )


class _Stream:
    """A generated answer shown while it is written: a draft (sendMessageDraft) in private
    chats, else one message edited, redrawn at most every STREAM_EVERY s; a 429's retry_after
    is always waited out (by the rate limiter, or here once it gives up), the last redraw too.
    Tokens come from the answering thread (``on_token``)."""

    def __init__(self, message: Message) -> None:
        self.message = message
        self.loop = asyncio.get_running_loop()
        self.text = ""
        self.shown = ""
        self.sent: Message | None = None
        self.draft = message.chat.type == ChatType.PRIVATE
        self.draft_id = message.message_id or 1
        self.changed = asyncio.Event()
        self.done = False
        self.next_at = 0.0  # loop time before which Telegram must not see another redraw
        self.task = asyncio.create_task(self._run())

    def on_token(self, piece: str) -> None:
        self.loop.call_soon_threadsafe(self._add, piece)

    def _add(self, piece: str) -> None:
        self.text += piece
        self.changed.set()

    async def _run(self) -> None:
        while True:
            await self.changed.wait()
            self.changed.clear()
            if self.done:
                return
            await asyncio.sleep(max(0.0, self.next_at - self.loop.time()))
            text = self.text.strip()[: render.TELEGRAM_LIMIT - 2]
            if not text or text == self.shown:
                continue
            try:
                await self._show(text + " …")
                self.shown = text
                self.next_at = self.loop.time() + STREAM_EVERY
            except RetryAfter as exc:  # the rate limiter gave up: wait as told, then redraw
                wait = exc.retry_after
                seconds = wait if isinstance(wait, int | float) else wait.total_seconds()
                self.next_at = self.loop.time() + float(seconds)
                self.changed.set()
            except TelegramError as exc:  # cosmetic: the checked answer still comes
                logger.debug("streaming the answer failed: %s", exc)
                self.next_at = self.loop.time() + STREAM_EVERY
                if self.draft:
                    self.draft = False  # drafts refused: edit a message instead
                    self.changed.set()

    async def _show(self, text: str) -> None:
        bot = self.message.get_bot()
        if self.draft:
            await bot.send_message_draft(self.message.chat_id, self.draft_id, text)
        elif self.sent is None:
            self.sent = await self.message.reply_text(text, allow_sending_without_reply=True)
        else:
            await self.sent.edit_text(text)

    async def close(self) -> Message | None:
        """Stop redrawing (a redraw under way finishes); the message that showed the stream,
        to be edited into the answer once Telegram allows the next edit."""
        self.done = True
        self.changed.set()
        try:
            await asyncio.wait_for(asyncio.shield(self.task), 60)
        except TimeoutError:
            self.task.cancel()
        await asyncio.sleep(max(0.0, self.next_at - self.loop.time()))
        return self.sent


async def _edit(sent: Message, part: render.TelegramPart, markup: Any) -> bool:
    """``sent`` edited into ``part`` (HTML, else plain); False when Telegram refuses both."""
    for text, mode in ((part.html, ParseMode.HTML), (part.text, None)):
        try:
            await sent.edit_text(
                text, parse_mode=mode, link_preview_options=NO_PREVIEW, reply_markup=markup
            )
            return True
        except BadRequest as exc:
            logger.warning("could not edit the streamed message (%s)", exc.message)
        except TelegramError as exc:
            logger.warning("could not edit the streamed message: %s", exc)
            return False
    return False


def _add_tries(doc: render.TelegramDoc, tries: Sequence[str]) -> None:
    """Questions to try (from the user's own articles), as /help lists them."""
    if tries:
        doc.add("\n\n").add("Try", "b")
        for t in tries:
            doc.add(f"\n• {t}")


def _headlines(
    rows: Sequence[dict[str, Any]], empty: str | None, filters: Filters | None
) -> list[render.TelegramPart]:
    """/latest: 'date · outlet · title' lines, newest first, titles linked to their page."""
    doc = render.TelegramDoc()
    described = filters.describe() if filters else ""
    doc.add("Latest articles" + (f" {described}" if described else ""), "b")
    if not rows:
        doc.add("\n").add(empty or "No articles yet.")
    for row in rows:
        day = (row.get("published") or "")[:10] or "undated"
        doc.add(f"\n{day} · {row.get('source') or '-'} · ")
        doc.link(str(row.get("title") or "(untitled)"), row.get("url"))
    return doc.parts()


def _passage(answer: Answer, cited: Sequence[Any]) -> list[render.TelegramPart]:
    """A source button's reply: the source, its passage with the quote in bold, its dates."""
    doc = render.TelegramDoc()
    notes = {line.split(" ", 1)[0]: line for line in render.time_lines(answer)}
    for i, c in enumerate(cited):
        if i:
            doc.add("\n\n")
        doc.add(f"[{c.n}] ").add(render.source_line(c), "b").add("\n")
        with doc.styled("blockquote"):
            a, b = c.span
            doc.add(c.text[:a]).add(c.text[a:b], "b").add(c.text[b:])
        note = notes.get(f"[{c.n}]")
        if note:
            doc.add("\n").add(note, "i")
    return doc.parts()


def _language(message: Message) -> str:
    """The user's language for the bot's own words (bot/catalogue.py)."""
    code = message.from_user.language_code if message.from_user else None
    return user_language(code, message.text)


def _message(update: Update) -> Message:
    assert update.message is not None  # guard() lets only new messages through
    return update.message


def _replies_to(message: Message, bot_id: int) -> bool:
    replied = message.reply_to_message
    return bool(replied and replied.from_user and replied.from_user.id == bot_id)


def _after_command(message: Message) -> str:
    """The text after a leading /command (or /command@bot), as typed."""
    text = message.text or ""
    for entity in message.entities:
        if entity.type == MessageEntity.BOT_COMMAND and entity.offset == 0:
            return text[len(message.parse_entity(entity)) :].strip()
    return text.partition(" ")[2].strip()
