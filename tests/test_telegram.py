"""The Telegram bot, end to end: real python-telegram-bot code against a fake Bot API server.

The fake (tests/fake_telegram.py) listens on 127.0.0.1 and speaks the Bot API's wire protocol;
the bot reaches it through its base-URL setting, unchanged. Answers come from the real Answerer
over the sample index (``index_settings``), except where a test needs an answer the sample
cannot give (very long, failing, slow): there a stand-in plugs into the same Answerer seam.
Every wait has a timeout; the bot is stopped (which finishes the updates in flight) before a test
asserts that something did *not* happen.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from citing import citation
from fake_telegram import BOT_USERNAME, TOKEN, FakeBotAPI, Running, parse_html
from pydantic import SecretStr

from bot import render
from bot.answer import Answerer
from bot.chats import Chats
from bot.citations import REFUSAL, Answer, Turn
from bot.redact import TokenFilter, redacted_logs
from bot.telegram import FORGOTTEN, HINT, NO_SOURCES, NOT_ALLOWED, SORRY, NewsBot
from index.errors import ConfigError, NewsbotError, StoreUnavailable
from index.reindex import reindex
from index.settings import Settings

NEWSBOT = str(Path(sys.executable).parent / "newsbot")
QUESTION = "When is the US-Israel meeting?"
FOLLOW_UP = "and where will it be held?"
DECEMBER = "أوائل كانون الأول/ديسمبر"
VENUE = "ورفض ميلر تحديد مكان عقد الاجتماع."
WAIT = 20.0  # seconds: the bound on any single wait for the bot


# --- harness -----------------------------------------------------------------------------------


class Spy:
    """Wraps an answerer built lazily on the bot's worker thread; records what it was asked."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._inner: Any = None
        self.questions: list[str] = []
        self.histories: list[int] = []
        self.threads: set[str] = set()

    def answer(self, question: str, history: Sequence[Turn] = (), k: int | None = None) -> Answer:
        self.questions.append(question)
        self.histories.append(len(history))
        self.threads.add(threading.current_thread().name)
        if self._inner is None:
            self._inner = self._make()
        inner = self._inner.filtered(self.filters) if self.filters else self._inner
        return inner.answer(question, history, k)

    filters: Any = None

    def filtered(self, filters: Any) -> Spy:
        narrowed = copy.copy(self)  # shares the records and, once built, the answerer
        narrowed.filters = filters
        return narrowed


class Scripted:
    """A stand-in Answerer: ``reply(question)`` returns an Answer or raises."""

    def __init__(self, reply: Callable[[str], Answer]) -> None:
        self.reply = reply

    def answer(self, question: str, history: Sequence[Turn] = (), k: int | None = None) -> Answer:
        return self.reply(question)

    def filtered(self, filters: Any) -> Scripted:
        return self


StartBot = Callable[..., tuple[Running, Spy]]


@pytest.fixture(scope="session")
def index_settings(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """The sample article indexed once: conftest's shared ``sample_settings`` when there is one."""
    try:
        return request.getfixturevalue("sample_settings")
    except pytest.FixtureLookupError:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            store_dir=tmp_path_factory.mktemp("telegram-store"),
            articles_dir=Path(__file__).resolve().parents[1] / "data" / "articles",
        )
        reindex(settings)
        return settings


@pytest.fixture
def api() -> Iterator[FakeBotAPI]:
    with FakeBotAPI() as fake:
        yield fake


def bot_settings(base: Settings, api: FakeBotAPI, **overrides: Any) -> Settings:
    return base.model_copy(
        update={"telegram_token": SecretStr(TOKEN), "telegram_api_url": api.base_url, **overrides}
    )


@pytest.fixture
def start_bot(api: FakeBotAPI, index_settings: Settings) -> Iterator[StartBot]:
    """``start_bot(answerer=None, **settings)``: a running bot over the sample index."""
    with ExitStack() as stack:

        def start(
            answerer: Any = None, status: Any = None, base: Settings | None = None, **overrides: Any
        ) -> tuple[Running, Spy]:
            settings = bot_settings(base or index_settings, api, **overrides)
            spy = Spy(lambda: answerer or Answerer(settings))
            bot = NewsBot(settings, lambda: spy, **({"status": status} if status else {}))
            running = stack.enter_context(Running(bot, WAIT))
            return running, spy

        yield start


def squash(text: str) -> str:
    return "".join(text.split())


def long_answer(question: str) -> Answer:
    sentence = f"Tom & Jerry <b>met</b> in {DECEMBER}. "
    quote = (sentence * 40).strip()
    cites = tuple(
        citation(
            n,
            quote,
            title=f"Title <{n}>",
            source="AFP",
            url=f"https://e.com/{n}",
            published="2024-11-12",
            score=1,
        )
        for n in range(1, 6)
    )
    text = "\n".join(f"{c.quote} [{c.n}]" for c in cites)
    return Answer(question, text, False, "extractive", cites)


# --- conversation --------------------------------------------------------------------------------


def test_start_help_and_command_menu(api: FakeBotAPI, start_bot: StartBot) -> None:
    start_bot()
    api.command(1, "/start")
    [reply] = api.wait_sent(1)
    assert "1 indexed article" in reply.text
    assert "/ask QUESTION" in reply.text and f"@{BOT_USERNAME}" in reply.text
    assert [c["command"] for c in api.commands] == [
        "ask", "latest", "sources", "new", "status", "help",
    ]  # fmt: skip
    assert all(
        c.params.get("allowed_updates") == ["message", "callback_query"]
        for c in api.calls_to("getUpdates")
    )
    api.command(1, "/status")
    status = api.wait_sent(1, 2)[-1]
    assert "Articles: 1, passages: " in status.text and "Last reindex: 20" in status.text


def test_help_names_the_newest_article(api: FakeBotAPI, start_bot: StartBot) -> None:
    newest = {"title": "<US & Israel> to meet", "published": "2024-11-12T09:00:00+00:00"}
    start_bot(status=lambda settings: {"articles": 1200, "newest_article": newest})
    api.command(1, "/help")
    [reply] = api.wait_sent(1)
    assert reply.text.startswith(
        "I answer questions about the news from 1200 indexed articles "
        "(the newest: “<US & Israel> to meet”, 2024-11-12)"
    )


def test_ask_quotes_the_sentence_and_shows_typing(api: FakeBotAPI, start_bot: StartBot) -> None:
    start_bot()
    api.command(1, f"/ask {QUESTION}")
    [reply] = api.wait_sent(1)
    assert reply.parse_mode == "HTML"
    assert any(DECEMBER in q and q.endswith("[1]") for q in reply.quoted())
    assert "\nSources\n[1] 000_df79775a9f276dd4.txt — undated" in reply.text
    typing = [c for c in api.calls_to("sendChatAction") if c.params["chat_id"] == 1]
    assert typing and typing[0].params["action"] == "typing"
    assert typing[0].at < next(c.at for c in api.calls_to("sendMessage"))
    assert reply.reply_to is None  # private chats are not quoted; groups are (below)


def test_ask_filters_narrow_the_search_and_bad_ones_are_explained(
    api: FakeBotAPI, start_bot: StartBot
) -> None:
    start_bot()
    api.command(20, f"/ask since:2099-01-01 {QUESTION}")
    [narrowed] = api.wait_sent(20)
    # the sample article is undated, so nothing is published since 2099: a refusal that says
    # what was searched, never an answer from outside the filter
    assert narrowed.text.startswith(REFUSAL) and "since 2099-01-01" in narrowed.text
    api.command(20, f"/ask since:someday {QUESTION}")
    bad = api.wait_sent(20, 2)[-1]
    assert bad.text.startswith("Sorry, ") and "someday" in bad.text
    api.command(20, "/ask")
    assert api.wait_sent(20, 3)[-1].text == HINT  # no question


def test_plain_text_follow_up_sources_and_new(api: FakeBotAPI, start_bot: StartBot) -> None:
    _, spy = start_bot()
    api.message(2, QUESTION)
    assert any(DECEMBER in q for q in api.wait_sent(2)[0].quoted())
    api.message(2, FOLLOW_UP)
    follow = api.wait_sent(2, 2)[-1]
    assert any(VENUE in q for q in follow.quoted())
    api.command(2, "/sources")
    sources = api.wait_sent(2, 3)[-1]
    assert sources.text.startswith(f"Sources for: {FOLLOW_UP}\n(understood as: {QUESTION}")
    assert any(VENUE in q for q in sources.quoted())  # the passage around the quote
    api.command(2, "/new")
    assert api.wait_sent(2, 4)[-1].text == FORGOTTEN
    api.command(2, "/sources")
    assert api.wait_sent(2, 5)[-1].text == NO_SOURCES
    api.message(2, FOLLOW_UP)
    api.wait_sent(2, 6)
    assert spy.histories == [0, 1, 0]  # the last follow-up came after /new: no history
    assert spy.threads == {"newsbot-answer_0"}  # answered off the event loop, on one thread


def test_long_answer_is_split_into_valid_messages(api: FakeBotAPI, start_bot: StartBot) -> None:
    start_bot(Scripted(long_answer))
    api.command(3, "/ask give me everything")
    whole = render.telegram_doc(long_answer("q")).text
    expected = len(render.telegram(long_answer("q")))
    assert expected >= 3
    parts = api.wait_sent(3, expected)
    assert all(p.parse_mode == "HTML" and len(p.text) <= 4096 for p in parts)
    assert squash("".join(p.text for p in parts)) == squash(whole)
    assert all(c.status == 200 for c in api.calls_to("sendMessage"))


# AIORateLimiter reads RetryAfter.retry_after, which PTB 22.2+ flags as changing type in v23.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_flood_429_is_waited_out_and_nothing_is_lost(api: FakeBotAPI, start_bot: StartBot) -> None:
    start_bot()
    api.fail_next_sends(1, retry_after=1)
    api.command(4, f"/ask {QUESTION}")
    [reply] = api.wait_sent(4)
    assert any(DECEMBER in q for q in reply.quoted())
    sends = api.calls_to("sendMessage")
    assert [c.status for c in sends] == [429, 200]
    assert sends[0].params["text"] == sends[1].params["text"]
    assert sends[1].at - sends[0].at >= 1.0  # retry_after was honoured


def test_html_refused_by_telegram_is_resent_as_plain_text(
    api: FakeBotAPI, start_bot: StartBot
) -> None:
    start_bot()
    api.reject_next_html(1)
    api.command(5, f"/ask {QUESTION}")
    [reply] = api.wait_sent(5)
    refused, resent = api.calls_to("sendMessage")
    assert refused.status == 400 and refused.params["parse_mode"] == "HTML"
    assert reply.parse_mode is None and "parse_mode" not in resent.params
    assert reply.text == parse_html(refused.params["text"])[0]
    assert DECEMBER in reply.text and "<blockquote>" not in reply.text


def test_html_and_markdown_in_a_question_are_text(api: FakeBotAPI, start_bot: StartBot) -> None:
    question = 'When is the <b>US-Israel</b> *meeting*? & <script>"x"</script>'

    def reply(q: str) -> Answer:
        c = citation(1, "Quote <x>.", article_id="a", title="<i>Title</i> & co", score=1)
        return Answer(q, "Quote <x>. [1]", False, "extractive", (c,))

    _, spy = start_bot(Scripted(reply))
    api.message(6, question)
    api.wait_sent(6)
    api.command(6, "/sources")
    sources = api.wait_sent(6, 2)[-1]
    assert spy.questions == [question]
    assert sources.text.startswith(f"Sources for: {question}\n\n[1] <i>Title</i> & co")


def test_edited_messages_are_ignored(api: FakeBotAPI, start_bot: StartBot) -> None:
    running, spy = start_bot()
    api.message(7, QUESTION, kind="edited_message")
    api.command(7, "/help")
    api.wait_sent(7)
    running.stop()
    assert len(api.sent_to(7)) == 1 and spy.questions == []


def test_stickers_photos_voice_and_empty_questions_get_a_hint(
    api: FakeBotAPI, start_bot: StartBot
) -> None:
    running, spy = start_bot()
    api.sticker(8)
    api.message(8, photo=[{"file_id": "p", "file_unique_id": "p1", "width": 9, "height": 9}])
    api.message(8, voice={"file_id": "v", "file_unique_id": "v1", "duration": 2})
    api.command(8, "/ask")
    api.command(8, "/nonsense")
    replies = api.wait_sent(8, 5)
    running.stop()
    texts = sorted(r.text for r in replies)  # answered concurrently: in any order
    unknown = "I don't know the command /nonsense. Send me a question, or /help for the commands."
    assert texts == sorted([HINT] * 4 + [texts[-1]]) and texts[-1].startswith(unknown)
    assert spy.questions == []


def test_a_too_long_question_is_refused_politely(api: FakeBotAPI, start_bot: StartBot) -> None:
    running, spy = start_bot(max_question_chars=50)
    api.message(9, "why " * 20)
    [reply] = api.wait_sent(9)
    running.stop()
    assert reply.text == "Sorry, the question is too long (79 characters; the limit is 50)."
    assert spy.questions == []


# --- groups --------------------------------------------------------------------------------------


def test_groups_answer_only_ask_mentions_and_replies(api: FakeBotAPI, start_bot: StartBot) -> None:
    running, spy = start_bot()
    group = -100777
    api.message(group, QUESTION, chat_type="supergroup")  # not for the bot
    api.sticker(group, chat_type="supergroup")  # nor this
    asked = api.mention(group, f"@{BOT_USERNAME} {QUESTION}", chat_type="supergroup")
    [answer] = api.wait_sent(group)
    assert answer.reply_to == asked["message_id"]  # in groups the answer quotes the question
    assert any(DECEMBER in q for q in answer.quoted())
    api.message(group, FOLLOW_UP, chat_type="supergroup", reply_to=answer)
    assert any(VENUE in q for q in api.wait_sent(group, 2)[-1].quoted())
    api.command(group, f"/ask@{BOT_USERNAME} {QUESTION}", chat_type="supergroup")
    api.command(group, f"/ask@some_other_bot {QUESTION}", chat_type="supergroup")
    api.command(group, "/nonsense", chat_type="supergroup")
    api.wait_sent(group, 3)
    running.stop()
    assert len(api.sent_to(group)) == 3
    assert spy.questions == [QUESTION, FOLLOW_UP, QUESTION]


# --- protection ----------------------------------------------------------------------------------


def test_unlisted_chat_gets_one_refusal_and_nothing_else(
    api: FakeBotAPI, start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="bot")
    caplog.set_level(logging.DEBUG, logger="index")
    secret = "my very private question about Gaza 4711"
    running, spy = start_bot(telegram_allowed_chats=[42, 4242])
    api.message(99, secret)
    api.message(99, secret + " again")
    api.command(99, f"/ask {secret}")
    api.mention(-100, f"@{BOT_USERNAME} {QUESTION}", chat_type="group", user_id=99)
    api.mention(-200, f"@{BOT_USERNAME} {QUESTION}", chat_type="group", user_id=4242)
    api.message(42, QUESTION)
    api.wait_sent(42)
    api.wait_sent(-200)
    running.stop()
    assert [s.text for s in api.sent_to(99)] == [NOT_ALLOWED]
    assert [s.text for s in api.sent_to(-100)] == [NOT_ALLOWED]
    assert [s.text for s in api.sent_to(-200)] == [NOT_ALLOWED]  # allowed user, unlisted group
    assert spy.questions == [QUESTION]  # chat 42 only (test_reliability: groups by their own id)
    assert "chat 99 is not allowed" in caplog.text
    assert not any(secret in r.getMessage() for r in caplog.records)


def test_rate_limit_per_chat(api: FakeBotAPI, start_bot: StartBot) -> None:
    running, spy = start_bot(telegram_rate_limit=2)
    for _ in range(3):
        api.message(10, QUESTION)
    api.message(11, QUESTION)  # another chat has its own allowance
    replies = api.wait_sent(10, 3)
    api.wait_sent(11)
    running.stop()
    limited = [r for r in replies if "faster than I can keep up" in r.text]
    assert len(limited) == 1 and "at most 2 questions a minute" in limited[0].text
    assert len(spy.questions) == 3


def test_errors_are_logged_answered_and_the_bot_keeps_serving(
    api: FakeBotAPI, start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)  # httpx logs request URLs, with the token, at INFO
    # ...unless an earlier test ran the CLI in-process, which quietens httpx for the process
    caplog.set_level(logging.INFO, logger="httpx")

    def reply(question: str) -> Answer:
        if question == "boom":
            raise RuntimeError(f"boom with {TOKEN} inside")
        if question == "store":
            raise StoreUnavailable("the index is unavailable (try again shortly)")
        return Answer(question, REFUSAL, True, "extractive")

    start_bot(Scripted(reply))
    api.message(12, "boom")
    assert api.wait_sent(12)[0].text == SORRY
    api.message(12, "store")
    assert api.wait_sent(12, 2)[-1].text == "the index is unavailable (try again shortly)"
    api.message(12, "still there?")
    assert api.wait_sent(12, 3)[-1].text == REFUSAL
    [failure] = [r for r in caplog.records if r.exc_info and r.name == "bot.telegram"]
    assert failure.levelno == logging.ERROR
    assert "RuntimeError: boom with <token> inside" in (failure.exc_text or "")
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text
    assert "/bot<token>/sendMessage" in caplog.text  # httpx's line, redacted


def test_a_slow_question_does_not_hold_up_other_chats(api: FakeBotAPI, start_bot: StartBot) -> None:
    entered, release = threading.Event(), threading.Event()

    def reply(question: str) -> Answer:
        if question == "slow":
            entered.set()
            assert release.wait(WAIT)
        return Answer(question, REFUSAL, True, "extractive")

    start_bot(Scripted(reply))
    api.message(13, "slow")
    assert entered.wait(WAIT)
    api.command(14, "/help")
    api.sticker(15)
    api.wait_sent(14)
    api.wait_sent(15)
    assert api.sent_to(13) == []  # still thinking
    release.set()
    assert api.wait_sent(13)[0].text == REFUSAL


def test_chat_memory_and_rate_window_are_bounded() -> None:
    chats = Chats(turns=2, max_chats=3)
    for chat_id in range(5):
        chats.get(chat_id).history.extend(["t1", "t2", "t3"])  # type: ignore[list-item]
    assert len(chats) == 3 and chats.peek(0) is None and list(chats.get(4).history) == ["t2", "t3"]
    state = chats.get(4)
    assert [state.throttle(t, limit=2) for t in (0.0, 1.0, 2.0)] == [0.0, 0.0, 58.0]
    assert state.throttle(59.9, limit=2) == pytest.approx(0.1)
    assert state.throttle(60.0, limit=2) == 0.0  # the first question left the window


# --- running: token, URL, process ----------------------------------------------------------------


def test_token_filter_redacts_messages_arguments_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("test.telegram")
    with redacted_logs(TOKEN):
        try:
            raise ValueError(f"https://api.telegram.org/bot{TOKEN}/getMe failed")
        except ValueError:
            log.exception("calling %s", f"https://api.telegram.org/bot{TOKEN}/getMe")
        log.warning("secret half alone: %s", TOKEN.split(":")[1])
    log.warning("after: %s", "not redacted")
    text = caplog.text
    assert TOKEN not in text and TOKEN.split(":")[1] not in text
    assert text.count("bot<token>/getMe") == 2 and "secret half alone: <token>" in text
    assert "after: not redacted" in text
    assert TokenFilter("1:short").secrets == []  # nothing to redact in a malformed token


@pytest.mark.parametrize(
    ("token", "message"),
    [(None, "NEWSBOT_TELEGRAM_TOKEN is not set"), ("not-a-token", "is malformed")],
)
def test_missing_or_malformed_token_is_a_clear_error(
    token: str | None, message: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    if token:
        env["NEWSBOT_TELEGRAM_TOKEN"] = token
    done = subprocess.run(
        [NEWSBOT, "telegram"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.startswith("error: ") and message in done.stderr
    assert "Traceback" not in done.stderr and (token or "@@") not in done.stderr


def test_a_token_the_server_rejects_is_a_clear_error(
    api: FakeBotAPI, index_settings: Settings
) -> None:
    settings = bot_settings(index_settings, api, telegram_token=SecretStr("1:" + "x" * 30))
    bot = NewsBot(settings, lambda: Scripted(lambda q: Answer(q, REFUSAL, True, "extractive")))
    with pytest.raises(ConfigError, match="rejected NEWSBOT_TELEGRAM_TOKEN"):
        asyncio.run(asyncio.wait_for(bot.serve(asyncio.Event()), WAIT))
    assert [c.status for c in api.calls] == [401]


def test_an_unreachable_api_is_a_clear_error(index_settings: Settings) -> None:
    with FakeBotAPI() as gone:
        url = gone.base_url
    settings = index_settings.model_copy(
        update={"telegram_token": SecretStr(TOKEN), "telegram_api_url": url}
    )
    bot = NewsBot(settings, lambda: Scripted(lambda q: Answer(q, REFUSAL, True, "extractive")))
    with pytest.raises(NewsbotError, match="cannot reach the Telegram Bot API at http://127"):
        asyncio.run(asyncio.wait_for(bot.serve(asyncio.Event()), WAIT))


def test_bad_api_url_is_a_config_error(index_settings: Settings) -> None:
    settings = index_settings.model_copy(
        update={"telegram_token": SecretStr(TOKEN), "telegram_api_url": "api.telegram.org/bot"}
    )
    with pytest.raises(ConfigError, match="NEWSBOT_TELEGRAM_API_URL"):
        NewsBot(settings, lambda: Scripted(lambda q: Answer(q, REFUSAL, True, "extractive")))


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_newsbot_telegram_process_answers_and_stops_on_signal(
    api: FakeBotAPI, index_settings: Settings, tmp_path: Path, sig: signal.Signals
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env |= {
        "NEWSBOT_TELEGRAM_TOKEN": TOKEN,
        "NEWSBOT_TELEGRAM_API_URL": api.base_url,
        "NEWSBOT_STORE_DIR": str(index_settings.store_dir),
        "NEWSBOT_ARTICLES_DIR": str(index_settings.articles_dir),
    }
    log = tmp_path / "stderr.log"
    with log.open("w") as err:
        # -vv: httpx logs every request URL (token included) at DEBUG; all must come out redacted
        proc = subprocess.Popen(
            [NEWSBOT, "telegram", "-vv"], env=env, cwd=tmp_path, stdout=err, stderr=err
        )
    try:
        api.wait_polling(timeout=90)
        api.command(16, f"/ask {QUESTION}")
        [reply] = api.wait_sent(16, timeout=60)
        assert any(DECEMBER in q for q in reply.quoted())
        started = time.monotonic()
        proc.send_signal(sig)
        code = proc.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    stderr = log.read_text()
    assert code == 0, stderr[-3000:]
    assert took < 10, f"stopping took {took:.1f} s"
    assert "is answering on Telegram" in stderr and stderr.rstrip().endswith("stopped")
    assert "/bot<token>/getUpdates" in stderr
    assert TOKEN not in stderr and TOKEN.split(":")[1] not in stderr


# --- a news reader's bot: buttons, streaming, /latest, time questions, suggestions ------------


def _press_all(api: FakeBotAPI, reply: Any) -> list[str]:
    return [b["callback_data"] for row in reply.buttons for b in row]


def test_sources_are_buttons_and_a_press_shows_the_passage_in_bold(
    api: FakeBotAPI, start_bot: StartBot
) -> None:
    start_bot()
    api.command(40, f"/ask {QUESTION}")
    [reply] = api.wait_sent(40)
    buttons = [b for row in reply.buttons for b in row]
    assert buttons and buttons[0]["text"] == "[1]"
    assert "undated article" not in reply.text  # the per-citation date notes live in /sources
    api.press(reply, buttons[0]["callback_data"])
    passage = api.wait_sent(40, 2)[-1]
    assert passage.text.startswith("[1] 000_df79775a9f276dd4.txt — undated")
    bold = [parse_html(passage.raw)[0][e["offset"] : e["offset"] + e["length"]]
            for e in passage.entities if e["type"] == "bold"]  # fmt: skip
    assert any(DECEMBER in b for b in bold)  # the quoted sentence, in bold, in its passage
    assert "[1] undated article" in passage.text  # its date note
    assert api.wait_for(lambda: api.calls_to("answerCallbackQuery"))
    api.press(reply, "src:999:1")  # an answer long forgotten
    answered = api.wait_for(lambda: api.calls_to("answerCallbackQuery")[1:])
    assert "too old" in answered[0].params.get("text", "")


def test_a_strangers_button_press_is_refused_like_a_message(
    api: FakeBotAPI, start_bot: StartBot
) -> None:
    from fake_telegram import Sent

    start_bot(telegram_allowed_chats=[41])
    foreign = Sent(77, 555, "an answer", [], "an answer", None, None)
    api.press(foreign, "src:1:1", user_id=555)
    [refusal] = api.wait_for(lambda: api.calls_to("answerCallbackQuery"))
    assert refusal.params["text"] == NOT_ALLOWED and refusal.params.get("show_alert") is True
    assert api.sent_to(555) == []
    api.command(41, f"/ask {QUESTION}")  # the allowed chat's own buttons work
    [reply] = api.wait_sent(41)
    api.press(reply, reply.buttons[0][0]["callback_data"])
    assert api.wait_sent(41, 2)[-1].text.startswith("[1] ")


class Streaming(Scripted):
    """A generating answerer's stand-in: ``stream`` hands out pieces, then the answer."""

    def __init__(self, pieces: Sequence[str], gap: float = 0.15) -> None:
        super().__init__(self.final)
        self.pieces = pieces
        self.gap = gap

    def final(self, question: str) -> Answer:
        c = citation(1, "The floods killed 40 people.", title="Floods", source="AFP", score=1)
        return Answer(question, "The floods killed 40 people [1].", False, "llm", (c,))

    def stream(
        self, question: str, history: Sequence[Turn] = (), k: int | None = None, on_token=None
    ) -> Answer:
        for piece in self.pieces:
            if on_token:
                on_token(piece)
            time.sleep(self.gap)
        return self.final(question)


PIECES = ["The ", "floods ", "killed ", "40 ", "people ", "in ", "Yemen ", "[1]."]


def _gaps(calls: Sequence[Any]) -> list[float]:
    return [b.at - a.at for a, b in itertools.pairwise(calls)]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_a_generated_answer_streams_into_one_edited_message_in_a_group(
    api: FakeBotAPI, index_settings: Settings
) -> None:
    bot = NewsBot(bot_settings(index_settings, api), lambda: Streaming(PIECES))
    with Running(bot, WAIT):
        api.fail_next_edits(1, retry_after=1)  # a 429 while streaming
        api.command(-42, "/ask how many died?", chat_type="group")
        api.wait_for(lambda: [e for e in api.edits if e.buttons])  # the final edit has buttons
    [placeholder] = api.sent_to(-42)
    edits = [c for c in api.calls_to("editMessageText")]
    assert edits[0].status == 429
    assert all(gap >= 0.55 for gap in _gaps([c for c in edits if c.status == 200]))
    retried = next(c for c in edits[1:] if c.status == 200)
    assert retried.at - edits[0].at >= 1.0  # retry_after honoured
    shown = [e.text for e in api.edits]
    assert shown[-1].startswith("The floods killed 40 people [1].")  # the checked answer
    assert all(e.message_id == placeholder.message_id for e in api.edits)
    assert [b["text"] for row in api.edits[-1].buttons for b in row] == ["[1]"]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_a_generated_answer_streams_as_a_draft_in_private(
    api: FakeBotAPI, index_settings: Settings
) -> None:
    bot = NewsBot(bot_settings(index_settings, api), lambda: Streaming(PIECES))
    with Running(bot, WAIT):
        api.message(43, "how many died?")
        [reply] = api.wait_sent(43)
    drafts = api.drafts
    assert drafts and all(d["chat_id"] == 43 for d in drafts)
    assert drafts[0]["text"].startswith("The") and drafts[-1]["text"].endswith(" …")
    assert len({d["draft_id"] for d in drafts}) == 1
    assert all(gap >= 0.55 for gap in _gaps(api.calls_to("sendMessageDraft")))
    assert reply.text.startswith("The floods killed 40 people [1].") and reply.buttons


def test_drafts_refused_fall_back_to_edits(api: FakeBotAPI, index_settings: Settings) -> None:
    api.refuse_drafts()
    bot = NewsBot(bot_settings(index_settings, api), lambda: Streaming(PIECES))
    with Running(bot, WAIT):
        api.message(44, "how many died?")
        api.wait_for(lambda: [e for e in api.edits if e.buttons])
    assert api.drafts == [] and len(api.sent_to(44)) == 1


def test_typing_is_kept_up_while_answering(api: FakeBotAPI, start_bot: StartBot) -> None:
    def slow(question: str) -> Answer:
        time.sleep(6)  # longer than the 5 s a typing action lasts
        return Answer(question, REFUSAL, True, "extractive")

    start_bot(Scripted(slow))
    api.message(45, "slow one")
    api.wait_sent(45, timeout=WAIT)
    typing = [c for c in api.calls_to("sendChatAction") if c.params["chat_id"] == 45]
    assert len(typing) >= 2 and all(gap < 5 for gap in _gaps(typing))


def test_time_questions_latest_and_suggestions_on_telegram(
    api: FakeBotAPI, start_bot: StartBot, news_settings: Settings
) -> None:
    start_bot(base=news_settings)
    api.message(46, "What happened yesterday?")
    [reply] = api.wait_sent(46)
    assert "Searched only articles of 2024-09-03 (yesterday)." in reply.text
    assert "Houthis attack a tanker off Yemen (2024-09-03)" in reply.text
    assert "[1] article of" not in reply.text and "As of 2024-09-03" in reply.text
    api.command(46, "/sources")
    assert "[1] article of 2024-09-03: “on Tuesday” = 2024-09-03, past." in (
        api.wait_sent(46, 2)[-1].text
    )
    api.command(46, "/latest source:AFP since:30d")
    latest = api.wait_sent(46, 3)[-1]
    assert latest.text.splitlines()[1:] == [
        "2024-09-03 · AFP · Houthis attack a tanker off Yemen",
        "2024-08-15 · AFP · ليبيا تعلن زيادة إنتاج النفط",
    ]
    api.command(46, "/latest source:BBC")
    unknown = api.wait_sent(46, 4)[-1]
    assert unknown.text.startswith("Sorry, no source named BBC; the sources are: AFP (2)")
    api.message(46, "What happened today?")
    assert "the newest before is of 2024-09-03" in api.wait_sent(46, 5)[-1].text
    api.command(46, "/frobnicate")
    odd = api.wait_sent(46, 6)[-1]
    assert odd.text.startswith("I don't know the command /frobnicate.")
    assert "• Houthis attack a tanker off Yemen" in odd.text  # from the user's own articles
    api.command(46, "/start")
    assert "• Houthis attack a tanker off Yemen" in api.wait_sent(46, 7)[-1].text
    api.message(46, "ماذا يحدث في ليبيا؟")
    stories = api.wait_sent(46, 8)[-1]
    assert stories.text.index("أزمة المصرف المركزي") < stories.text.index("ليبيا تعلن زيادة")


def test_stopping_while_the_api_is_unreachable_is_quick_and_quiet(
    index_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    caplog.set_level(logging.DEBUG, logger="bot.telegram")
    api = FakeBotAPI().start()
    bot = NewsBot(
        bot_settings(index_settings, api),
        lambda: Scripted(lambda q: Answer(q, REFUSAL, True, "extractive")),
    )
    running = Running(bot, WAIT).__enter__()
    api.stop()  # the Bot API goes away while the bot polls

    def failures(level: int) -> list[logging.LogRecord]:
        return [
            r
            for r in caplog.records
            if r.getMessage().startswith("polling Telegram failed") and r.levelno == level
        ]

    deadline = time.monotonic() + WAIT
    while not failures(logging.DEBUG) and time.monotonic() < deadline:  # two failed polls
        time.sleep(0.1)
    assert failures(logging.DEBUG), "the bot did not poll again"
    started, wall = time.monotonic(), time.time()
    running.stop()
    took = time.monotonic() - started
    noisy = [
        r
        for r in caplog.records
        if r.name.startswith(("telegram", "bot")) and r.created >= wall and r.levelno >= 30
    ]
    assert [r.getMessage() for r in noisy] == [
        "stopped without reaching the Bot API; updates not yet confirmed may come again"
    ]
    assert len(failures(logging.WARNING)) == 1  # the failed polls: one line, not one a retry
    assert not any(r.exc_info for r in caplog.records)
    assert took < 4, f"stopping took {took:.1f} s"
