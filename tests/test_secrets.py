"""Secrets and access: the bot token and the LLM key never leave in writing, and chats that are
not allowed reach neither retrieval nor the logs.

The processes run as users run them (``newsbot telegram -vv``, ``newsbot ask -vv``, ``newsbot
status``) with NEWSBOT_TELEGRAM_TOKEN and NEWSBOT_LLM_API_KEY set, against the fake Bot API
(tests/fake_telegram.py) and the fake OpenAI-compatible server (tests/fake_openai.py) on
127.0.0.1; everything they write, on success and through the failure paths (model errors,
refused HTML, an unreachable model), is searched for the secrets. -vv is where leaks hide:
httpx, the OpenAI client and python-telegram-bot all log requests at DEBUG.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI, Reply
from fake_telegram import TOKEN, FakeBotAPI
from pydantic import SecretStr

from bot.generate import GeneratingAnswerer
from bot.llm import LLMError, OpenAICompatible
from bot.redact import TokenFilter
from bot.telegram import NOT_ALLOWED
from index.errors import ConfigError
from index.settings import Settings

NEWSBOT = str(Path(sys.executable).parent / "newsbot")
LLM_KEY = "sk-newsbot-test-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
SECRETS = (TOKEN, TOKEN.split(":", 1)[1], LLM_KEY)
QUESTION = "When is the US-Israel meeting?"
DECEMBER = "أوائل كانون الأول/ديسمبر"
PRIVATE = "my private question about the informant in Gaza 90210"
ALLOWED, STRANGER = 16, 99
WAIT = 60.0  # seconds: the bound on any single wait for a process


def leaked(text: str) -> list[str]:
    """The secrets (or a recognisable part: the token's secret half) found in ``text``."""
    return [s for s in SECRETS if s in text]


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env |= {
        "NEWSBOT_STORE_DIR": str(settings.store_dir),
        "NEWSBOT_ARTICLES_DIR": str(settings.articles_dir),
        "NEWSBOT_TELEGRAM_TOKEN": TOKEN,
        "NEWSBOT_LLM_API_KEY": LLM_KEY,
        **extra,
    }
    return env


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [NEWSBOT, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=WAIT * 3
    )


def test_the_bot_process_at_debug_level_writes_no_secret_and_no_stranger_text(
    sample_settings: Settings, tmp_path: Path
) -> None:
    log = tmp_path / "telegram.log"
    with FakeBotAPI() as api, FakeOpenAI() as llm:
        env = environment(
            sample_settings,
            NEWSBOT_TELEGRAM_API_URL=api.base_url,
            NEWSBOT_LLM_URL=llm.url,
            NEWSBOT_LLM_TIMEOUT="5",
            NEWSBOT_TELEGRAM_ALLOWED_CHATS=str(ALLOWED),
        )
        with log.open("w") as out:
            proc = subprocess.Popen(
                [NEWSBOT, "telegram", "-vv"], env=env, cwd=tmp_path, stdout=out, stderr=out
            )
        try:
            api.wait_polling(timeout=WAIT * 2)
            # a stranger first: refused once, its text never logged, never answered
            api.message(STRANGER, PRIVATE)
            api.command(STRANGER, f"/ask {PRIVATE}")
            assert api.wait_sent(STRANGER, timeout=WAIT)[0].text == NOT_ALLOWED
            # the allowed chat, through the model's good and bad replies
            llm.script(
                Reply("The meeting will take place in early December [1]."),
                Reply(status=401),
                Reply(status=500),
                Reply(malformed=True),
            )
            api.reject_next_html(1)  # the first answer goes again as plain text
            for n in range(1, 5):
                api.command(ALLOWED, f"/ask {QUESTION}")
                api.wait_sent(ALLOWED, n, timeout=WAIT)
            api.command(ALLOWED, "/status")
            replies = api.wait_sent(ALLOWED, 5, timeout=WAIT)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=WAIT)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=WAIT)
        requests = [json.dumps(r) for r in llm.requests]
    output = log.read_text()
    assert code == 0, output[-3000:]
    assert "DEBUG" in output and "/bot<token>/getUpdates" in output  # -vv was in effect
    assert "the language model server answered HTTP 401" in output  # the failures were logged
    assert any(DECEMBER in "".join(r.quoted()) or "December" in r.text for r in replies[:4])
    assert not leaked(output)
    assert not leaked("".join(r.text for r in api.sent))
    assert not leaked("".join(requests))  # nor does the bot hand them to the model
    # the stranger: refused and counted, nothing of what it wrote kept
    assert f"chat {STRANGER} is not allowed" in output
    assert PRIVATE not in output and "90210" not in output
    assert len(api.sent_to(STRANGER)) == 1
    assert not any(PRIVATE in r for r in requests)


def test_ask_and_status_at_debug_level_write_no_secret(
    sample_settings: Settings, tmp_path: Path
) -> None:
    outputs = []
    with FakeOpenAI() as llm:
        env = environment(sample_settings, NEWSBOT_LLM_URL=llm.url, NEWSBOT_LLM_TIMEOUT="5")
        llm.script(Reply(status=401))  # the failure path, where a client might quote a request
        done = run(["ask", "-vv", "--json", QUESTION], env, tmp_path)
        assert done.returncode == 0, done.stderr[-2000:]
        outputs.append(done.stdout + done.stderr)
        assert "HTTP 401" in outputs[-1] and "DEBUG" in outputs[-1]
    # an unreachable model, a status at every verbosity, and as JSON
    down = environment(sample_settings, NEWSBOT_LLM_URL=llm.url, NEWSBOT_LLM_TIMEOUT="2")
    done = run(["ask", "-vv", QUESTION], down, tmp_path)
    assert done.returncode == 0 and "could not reach the language model" in done.stdout
    outputs.append(done.stdout + done.stderr)
    for args in (["status", "-vv"], ["status", "--json"]):
        done = run(args, env, tmp_path)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout + done.stderr)
    status = json.loads(outputs[-1].strip().splitlines()[-1])
    masked = status["settings"]
    assert masked["telegram_token"] == masked["llm_api_key"] == "********"
    for text in outputs:
        assert not leaked(text), text[-2000:]


def test_a_bad_token_or_key_is_reported_without_echoing_it(tmp_path: Path) -> None:
    almost = TOKEN[:-1] + "!"  # one character off the format: malformed
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env |= {"NEWSBOT_TELEGRAM_TOKEN": almost, "NEWSBOT_STORE_DIR": str(tmp_path / "store")}
    done = subprocess.run(
        [NEWSBOT, "telegram", "-vv"], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=WAIT * 3,
    )  # fmt: skip
    assert done.returncode == 1 and "is malformed" in done.stderr
    assert almost not in done.stderr and almost.split(":")[1] not in done.stderr


def test_settings_and_exceptions_mask_the_secrets(sample_settings: Settings) -> None:
    settings = sample_settings.model_copy(
        update={"telegram_token": SecretStr(TOKEN), "llm_api_key": SecretStr(LLM_KEY)}
    )
    shown = [
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        repr(settings.model_dump()),
        json.dumps(settings.masked()),
    ]
    # a failed generation: its error, its chain of causes and its traceback
    down = FakeOpenAI()  # never started: connection refused
    model = OpenAICompatible(settings.model_copy(update={"llm_url": down.url, "llm_timeout": 1}))
    with pytest.raises(LLMError) as failed:
        model.chat("system", "user")
    shown += [repr(failed.value), str(failed.value), repr(model), repr(vars(model))]
    shown += [repr(model._llm), str(model._llm)]  # what a traceback showing locals prints
    shown.append("".join(traceback.format_exception(failed.value)))
    answerer = GeneratingAnswerer(settings.model_copy(update={"llm_url": down.url}))
    shown += [repr(answerer), repr(answerer.answer(QUESTION))]
    # a malformed token: the error says so and does not repeat it
    broken = settings.model_copy(update={"telegram_token": SecretStr(TOKEN + " x")})
    from bot.telegram import check_token

    with pytest.raises(ConfigError) as bad:
        check_token(broken)
    shown += [repr(bad.value), "".join(traceback.format_exception(bad.value))]
    for text in shown:
        assert not leaked(text), text[:500]
    # the filter that guards the bot's logs also catches the token inside longer text
    assert TokenFilter(TOKEN).redact(f"x{TOKEN}y {SECRETS[1]}") == "x<token>y <token>"
