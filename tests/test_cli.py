"""The real `newsbot` console script, run as a user would: exit codes, JSON shapes, chat."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.catalogue import filters_text, language_of, say
from bot.cli import build_parser, load_settings, main
from index.settings import Settings

NEWSBOT = str(Path(sys.executable).parent / "newsbot")
REPO = Path(__file__).resolve().parents[1]
DECEMBER = "أوائل كانون الأول/ديسمبر"


def run(args, env_extra=None, stdin=None, cwd=REPO, timeout=180):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update(env_extra or {})
    return subprocess.run(
        [NEWSBOT, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def store_env(sample_settings):
    return {
        "NEWSBOT_STORE_DIR": str(sample_settings.store_dir),
        "NEWSBOT_ARTICLES_DIR": str(sample_settings.articles_dir),
    }


def last_json(stdout: str):
    return json.loads(stdout.strip().splitlines()[-1])


def test_first_ask_builds_the_index_and_answers(tmp_path):
    """A new user's first command: no index yet, the sample question, a cited answer."""
    articles = tmp_path / "articles"
    shutil.copytree(REPO / "data" / "articles", articles)
    env = {"NEWSBOT_STORE_DIR": str(tmp_path / "store"), "NEWSBOT_ARTICLES_DIR": str(articles)}
    result = run(["ask", "When is the US-Israel meeting?", "--json"], env)
    assert result.returncode == 0, result.stderr
    assert "building one" in result.stderr  # progress goes to stderr, not stdout
    assert "embedding 1 article\n" in result.stderr
    data = last_json(result.stdout)
    assert data["refused"] is False and data["mode"] == "extractive"
    assert DECEMBER in data["citations"][0]["quote"]
    assert len(result.stdout.strip().splitlines()) == 1


def test_ask_plain_output(store_env):
    result = run(["ask", "When is the US-Israel meeting?"], store_env)
    assert result.returncode == 0, result.stderr
    assert DECEMBER in result.stdout and "[1]" in result.stdout and "Sources:" in result.stdout
    assert "000_df79775a9f276dd4.txt" in result.stdout


def test_off_topic_is_refused_with_exit_0(store_env):
    result = run(["ask", "What is the capital of France?", "--json"], store_env)
    assert result.returncode == 0, result.stderr
    data = last_json(result.stdout)
    assert data["refused"] is True and data["citations"] == []
    assert data["answer"] == "I couldn't find this in the indexed articles."


def test_k_flag_and_json_shape(store_env):
    result = run(["ask", "متى سيعقد الاجتماع الأمريكي الإسرائيلي؟", "-k", "2", "--json"], store_env)
    data = last_json(result.stdout)
    assert {"question", "answer", "refused", "mode", "citations"} <= set(data)  # more may follow
    for c in data["citations"]:
        assert isinstance(c["n"], int) and isinstance(c["score"], float)
        assert c["quote"] in c["passage"]


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["ask"], 2),
        (["ask", "   "], 2),
        (["ask", "x" * 5000], 2),
        (["frobnicate"], 2),
        (["ask", "q", "-k", "many"], 2),
    ],
)
def test_usage_errors_exit_2(store_env, args, code):
    result = run(args, store_env)
    assert result.returncode == code
    assert "Traceback" not in result.stderr and "error" in result.stderr


def test_missing_articles_dir_is_a_clear_error(tmp_path):
    env = {
        "NEWSBOT_STORE_DIR": str(tmp_path / "store"),
        "NEWSBOT_ARTICLES_DIR": str(tmp_path / "nowhere"),
    }
    result = run(["ask", "When is the US-Israel meeting?"], env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr
    assert "nowhere" in result.stderr


def test_empty_articles_dir_says_how_to_build_an_index(tmp_path):
    (tmp_path / "articles").mkdir()
    env = {
        "NEWSBOT_STORE_DIR": str(tmp_path / "store"),
        "NEWSBOT_ARTICLES_DIR": str(tmp_path / "articles"),
    }
    result = run(["ask", "When is the US-Israel meeting?"], env)
    assert result.returncode == 1
    assert "newsbot reindex" in result.stderr and "Traceback" not in result.stderr


def test_invalid_setting_is_a_clear_error(store_env):
    result = run(["ask", "When?"], {**store_env, "NEWSBOT_TOP_K": "lots"})
    assert result.returncode == 1
    assert "invalid settings" in result.stderr and "top_k" in result.stderr
    assert "Traceback" not in result.stderr


def test_reindex_json_strict_and_missing_source(tmp_path):
    articles = tmp_path / "articles"
    shutil.copytree(REPO / "data" / "articles", articles)
    env = {"NEWSBOT_STORE_DIR": str(tmp_path / "store"), "NEWSBOT_ARTICLES_DIR": str(articles)}
    first = run(["reindex", "--json"], env)
    assert first.returncode == 0, first.stderr
    report = last_json(first.stdout)
    assert set(report) == {
        "added", "updated", "removed", "unchanged", "skipped", "chunks", "seconds",
    }  # fmt: skip
    assert report["added"] == 1 and report["chunks"] > 0
    again = last_json(run(["reindex", "--json"], env).stdout)
    assert again["unchanged"] == 1 and again["chunks"] == 0 and again["added"] == 0

    (articles / "empty.txt").write_text("")
    lenient = run(["reindex", "--json"], env)
    assert lenient.returncode == 0
    skipped = last_json(lenient.stdout)["skipped"]
    assert skipped[0]["path"].endswith("empty.txt") and skipped[0]["reason"]
    strict = run(["reindex", "--strict"], env)
    assert strict.returncode == 1 and "empty.txt" in strict.stderr

    missing = run(["reindex", str(tmp_path / "absent")], env)
    assert missing.returncode == 1
    assert "source not found" in missing.stderr and "Traceback" not in missing.stderr


def test_status_json(store_env):
    result = run(["status", "--json"], store_env)
    assert result.returncode == 0, result.stderr
    info = last_json(result.stdout)
    assert info["mode"] == "embedded" and info["articles"] == 1 and info["chunks"] >= 1
    assert info["vectors"] == info["chunks"]
    assert info["collection"].startswith("newsbot-") and info["last_reindex"]


def test_status_masks_secrets(store_env):
    secret = "123456:SECRET-token-value-never-shown"
    result = run(["status"], {**store_env, "NEWSBOT_TELEGRAM_TOKEN": secret})
    assert result.returncode == 0
    assert secret not in result.stdout + result.stderr and "********" in result.stdout


def test_chat_follow_up_through_a_pipe(store_env):
    script = "When is the US-Israel meeting?\nand where will it be held?\n/quit\nignored?\n"
    result = run(["chat", "--json"], store_env, stdin=script)
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(answers) == 2  # /quit ends the session before the last line
    assert DECEMBER in answers[0]["citations"][0]["quote"]
    assert "ورفض ميلر تحديد مكان عقد الاجتماع" in answers[1]["citations"][0]["quote"]


def test_chat_new_forgets_the_conversation(store_env):
    script = "When is the US-Israel meeting?\n/new\nand where will it be held?\n"
    result = run(["chat", "--json", "-v"], store_env, stdin=script)
    assert result.returncode == 0, result.stderr
    assert "understood as" not in result.stderr  # no rewrite after /new


# --- a news reader's questions: time words, outlets, stories, the latest ---------------------


@pytest.fixture(scope="module")
def news_env(news_settings):
    return {
        "NEWSBOT_STORE_DIR": str(news_settings.store_dir),
        "NEWSBOT_ARTICLES_DIR": str(news_settings.articles_dir),
        "NEWSBOT_TODAY": news_settings.today.isoformat(),
    }


def ask_json(env, *args):
    result = run(["ask", *args, "--json"], env)
    assert result.returncode == 0, result.stderr
    return last_json(result.stdout)


@pytest.mark.parametrize(
    ("question", "said", "days"),
    [
        ("What happened yesterday?", "of 2024-09-03 (yesterday)", {"2024-09-03"}),
        ("ماذا حدث أمس؟", "of 2024-09-03 (أمس)", {"2024-09-03"}),
        ("news from last week", "of 2024-08-26 to 2024-09-01 (last week)", {"2024-08-28"}),
        ("What happened since Monday?", "of 2024-09-02 to 2024-09-04 (since Monday)",
         {"2024-09-02", "2024-09-03"}),
        ("أخبار هذا الشهر", "of 2024-09-01 to 2024-09-04 (هذا الشهر)",
         {"2024-09-02", "2024-09-03"}),
    ],
)  # fmt: skip
def test_time_questions_are_date_filters(news_env, question, said, days):
    data = ask_json(news_env, question)
    assert data["filters"] == said and not data["refused"]
    assert {c["published"][:10] for c in data["citations"]} == days
    plain = run(["ask", question], news_env).stdout
    # the line is in the question's language (bot/catalogue.py)
    language = language_of(question)
    assert say("searched_only", language, filters=filters_text(said, language)) in plain


def test_a_filter_that_leaves_nothing_names_the_nearest_date(news_env):
    data = ask_json(news_env, "What happened today?")
    assert data["refused"] and data["filters"] == "of 2024-09-04 (today)"
    plain = run(["ask", "What happened in Yemen?", "--since", "2024-09-04"], news_env)
    assert "No articles since 2024-09-04; the newest before is of 2024-09-03." in plain.stdout
    older = run(["ask", "What happened?", "--until", "2024-07-01"], news_env)
    assert "the next after is of 2024-07-10" in older.stdout


def test_an_unknown_source_lists_the_known_ones(news_env):
    result = run(["ask", "What happened?", "--source", "BBC"], news_env)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "no source named BBC" in result.stderr
    assert "AFP (2)" in result.stderr and "Al Jazeera (1)" in result.stderr
    assert run(["latest", "--source", "bbc"], news_env).returncode == 1


@pytest.mark.parametrize(
    ("question", "ids"),
    [
        ("What happened in Yemen?", ["yemen-ship", "yemen-floods"]),
        ("ماذا يحدث في ليبيا؟", ["libya-bank", "libya-oil"]),
        ("What happened in Libya?", ["libya-bank", "libya-oil"]),  # Arabic stories, in English
        ("ماذا يحدث في اليمن؟", ["yemen-ship", "yemen-floods"]),
        ("What happened?", ["yemen-ship", "libya-bank", "yemen-floods"]),
    ],
)
def test_broad_questions_are_answered_story_by_story(news_env, question, ids):
    data = ask_json(news_env, question)
    assert data["mode"] == "stories" and not data["refused"]
    assert [c["article_id"] for c in data["citations"]] == ids  # newest first, at most 3
    for line, c in zip(data["answer"].splitlines(), data["citations"], strict=True):
        assert line == f"{c['title']} ({c['published'][:10]}): {c['quote']} [{c['n']}]"


def test_a_broad_question_about_a_place_no_article_names_is_refused(news_env):
    data = ask_json(news_env, "What happened in France?")
    assert data["refused"] and data["citations"] == []  # not the nearest unrelated stories


def test_a_particular_question_is_not_a_story_list(news_env):
    data = ask_json(news_env, "How many people did the floods kill?")
    assert data["mode"] == "extractive" and "at least 40" in data["citations"][0]["quote"]


def test_latest_json_newest_first_with_filters(news_env):
    result = run(["latest", "--json"], news_env)
    assert result.returncode == 0, result.stderr
    articles = last_json(result.stdout)["articles"]
    assert [a["id"] for a in articles] == [
        "yemen-ship", "libya-bank", "yemen-floods", "libya-oil", "chess-final",
    ]  # fmt: skip
    assert set(articles[0]) == {"id", "title", "source", "published", "url", "language"}
    afp = last_json(run(["latest", "--json", "--source", "afp", "-n", "1"], news_env).stdout)
    assert [a["id"] for a in afp["articles"]] == ["yemen-ship"]
    week = last_json(run(["latest", "--json", "--since", "7d"], news_env).stdout)
    assert [a["id"] for a in week["articles"]] == ["yemen-ship", "libya-bank", "yemen-floods"]
    plain = run(["latest", "-n", "2"], news_env).stdout.splitlines()
    assert plain == [
        "2024-09-03  AFP  Houthis attack a tanker off Yemen  [yemen-ship]",
        "2024-09-02  Al Jazeera  أزمة المصرف المركزي في ليبيا  [libya-bank]",
    ]
    none = run(["latest", "--since", "today"], news_env)
    assert none.returncode == 0 and "newest before is of 2024-09-03" in none.stdout


def test_sources_lists_outlets_counts_and_newest(news_env):
    data = last_json(run(["sources", "--json"], news_env).stdout)
    assert data["sources"][0] == {
        "source": "AFP",
        "articles": 2,
        "newest": "2024-09-03T10:00:00+00:00",
    }
    assert {s["source"]: s["articles"] for s in data["sources"]} == {
        "AFP": 2, "Reuters": 2, "Al Jazeera": 1,
    }  # fmt: skip
    assert "Al Jazeera     1 article  newest 2024-09-02" in run(["sources"], news_env).stdout


def test_chat_commands_on_a_par_with_telegram(news_env):
    script = "\n".join([
        "/help",
        "How many people did the floods kill?",
        "/sources",
        "/latest source:AFP",
        "/frobnicate now",
        "what happened? since:2024-09-03",
        "/new",
        "/sources",
        "/quit",
    ]) + "\n"  # fmt: skip
    result = run(["chat"], news_env, stdin=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "/latest [since:DATE] [source:NAME]" in out and "Try:" in out
    assert "  Houthis attack a tanker off Yemen" in out  # a suggestion from the user's articles
    assert "Sources for: How many people did the floods kill?" in out
    assert ">>>Flash floods killed at least 40 people in western Yemen" in out  # marked quote
    assert "[1] article of 2024-08-28." in out.split("Sources for:")[1]  # date notes there
    latest = [line for line in out.splitlines() if line.startswith("2024-") and "  AFP  " in line]
    assert [line.rsplit(" ", 1)[-1] for line in latest] == ["[yemen-ship]", "[libya-oil]"]
    assert "Unknown command /frobnicate" in result.stderr and "frobnicate" not in out
    assert "Searched only articles since 2024-09-03." in out
    assert "There are no sources yet" in out  # /sources after /new


def test_chat_shows_the_rewritten_follow_up(news_env):
    script = "How many people did the floods kill?\nand where?\n"
    result = run(["chat", "--json"], news_env, stdin=script)
    assert result.returncode == 0, result.stderr
    assert "(understood as: How many people did the floods kill? and where?)" in result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(answers) == 2 and answers[1]["question"] == "and where?"


def test_reindex_reads_pdf_and_docx_and_names_every_file_it_leaves_out(tmp_path):
    from test_documents import make_docx, make_pdf

    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "floods.pdf").write_bytes(
        make_pdf(["Floods hit the coast on Monday."], "Coastal floods", "20240902080000Z")
    )
    (articles / "talks.docx").write_bytes(make_docx(["المحادثات في ليبيا مستمرة."], "Libya"))
    (articles / "scan.pdf").write_bytes(make_pdf([]))
    (articles / "photo.png").write_bytes(b"\x89PNG\r\n")
    env = {"NEWSBOT_STORE_DIR": str(tmp_path / "store"), "NEWSBOT_ARTICLES_DIR": str(articles)}
    result = run(["reindex", "--json"], env)
    assert result.returncode == 0, result.stderr
    report = last_json(result.stdout)
    assert report["added"] == 2
    reasons = {Path(s["path"]).name: s["reason"] for s in report["skipped"]}
    assert reasons["photo.png"].startswith("an image (.png)")
    assert reasons["scan.pdf"].startswith("PDF without a text layer")
    assert "skipped " in result.stderr and "photo.png: an image" in result.stderr
    assert "100% 2/2 articles" in result.stderr and "articles/s" in result.stderr
    latest = last_json(run(["latest", "--json"], env).stdout)["articles"]
    assert (latest[0]["title"], latest[0]["published"]) == (
        "Coastal floods", "2024-09-02T08:00:00+00:00",
    )  # fmt: skip


def test_piped_progress_is_a_line_every_tenth_with_rate_and_eta(capsys):
    from bot.cli import PlainProgress

    now = [100.0]
    progress = PlainProgress(clock=lambda: now[0])  # a clock the test moves: no real waiting
    progress.start(95)
    for _ in range(19):
        now[0] += 2.0
        progress.advance(5, 7)
    progress.finish()
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "embedding 95 articles"
    percents = [int(line.split("%")[0]) for line in lines[1:]]
    assert percents == sorted(set(percents)) and len(percents) == 10  # one line per tenth
    assert [p // 10 for p in percents] == list(range(1, 11))
    assert lines[1] == "   10% 10/95 articles, 14 chunks, 2.5 articles/s, ETA 34 s"
    assert lines[-1] == "  100% 95/95 articles, 133 chunks, 2.5 articles/s, in 38 s"


# --- the command line itself -------------------------------------------------------------------


def test_bare_newsbot_prints_the_help(store_env):
    result = run([], store_env)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith("usage: newsbot") and "telegram" in result.stdout


def test_version():
    from importlib.metadata import version

    result = run(["--version"])
    assert result.returncode == 0 and result.stdout.strip() == f"newsbot {version('newsbot')}"


@pytest.mark.parametrize("args", [["status"], ["ask", "When is the US-Israel meeting?"]])
def test_a_closed_pipe_ends_quietly(store_env, args):
    """The reader is gone before the first line (`| head -1` that has read its line)."""
    read, write = os.pipe()
    os.close(read)
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")} | store_env
        result = subprocess.run(
            [NEWSBOT, *args], stdout=write, stderr=subprocess.PIPE, text=True, env=env,
            cwd=REPO, timeout=180,
        )  # fmt: skip
    finally:
        os.close(write)
    assert result.returncode == 141, result.stderr  # 128 + SIGPIPE, as a shell reports it
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
    assert "Exception ignored" not in result.stderr


@pytest.mark.parametrize("args", [["status"], ["ask", "When is the US-Israel meeting?"]])
def test_piped_into_head(store_env, args):
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")} | store_env
    command = " ".join(f"'{a}'" for a in [NEWSBOT, *args]) + " | head -1"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, env=env,
        cwd=REPO, timeout=180,
    )  # fmt: skip
    assert result.returncode in (0, 141), result.stderr
    assert len(result.stdout.splitlines()) == 1 and "Traceback" not in result.stderr


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(sub.choices)


def _is_secret(annotation: object) -> bool:
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())


def test_every_setting_but_the_secrets_is_a_flag_of_every_command():
    fields = Settings.model_fields
    secrets = {name for name, field in fields.items() if _is_secret(field.annotation)}
    assert secrets == {"telegram_token", "llm_api_key"}
    wanted = {"--" + name.replace("_", "-") for name in fields if name not in secrets}
    commands = _subcommands()
    assert {
        "ask", "latest", "sources", "chat", "reindex", "watch", "status", "eval", "telegram",
    } <= set(commands)  # fmt: skip
    for name, parser in commands.items():
        flags = {flag for action in parser._actions for flag in action.option_strings}
        assert wanted <= flags, (name, wanted - flags)
        assert not {"--telegram-token", "--llm-api-key"} & flags, name
        helped = parser.format_help()
        assert "NEWSBOT_TELEGRAM_TOKEN" in helped and "visible to every user" in helped
        assert helped.count("--embed-model") == 1 and "--no-telegram-watch" in helped


def test_flags_are_typed_from_the_settings_and_keep_their_short_forms():
    parse = build_parser().parse_args
    argv = ["ask", "q", "-k", "3", "--today", "2024-05-01", "--telegram-allowed-chats", "1,2"]
    argv += ["--telegram-watch", "--llm-temperature", "0.5", "--store-dir", "/tmp/x"]
    settings = load_settings(parse(argv))
    assert (settings.top_k, settings.today.isoformat()) == (3, "2024-05-01")
    assert settings.telegram_allowed_chats == [1, 2] and settings.telegram_watch is True
    assert settings.llm_temperature == 0.5 and settings.store_dir == Path("/tmp/x")
    assert parse(["watch", "--every", "5"]).watch_minutes == 5.0
    assert parse(["telegram", "--api-url", "http://127.0.0.1:1/bot"]).telegram_api_url
    assert parse(["chat", "--top-k", "4"]).top_k == 4
    evaluate = parse(["eval", "--corpus", "c", "--queries", "q", "-k", "20", "--top-k", "3"])
    assert (evaluate.k, evaluate.top_k) == (20, 3)  # eval's own -k: articles ranked per query
    assert parse(["status", "--no-telegram-watch"]).telegram_watch is False


def test_a_flag_beats_the_environment_which_beats_dotenv(store_env, tmp_path):
    (tmp_path / ".env").write_text("NEWSBOT_TOP_K=7\nNEWSBOT_MAX_QUOTES=5\n")
    env = {**store_env, "NEWSBOT_MAX_QUOTES": "4"}

    def shown(*flags: str) -> dict[str, object]:
        result = run(["status", "--json", *flags], env, cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        return last_json(result.stdout)["settings"]

    assert (shown()["top_k"], shown()["max_quotes"]) == (7, 4)
    flagged = shown("--max-quotes", "3", "--telegram-allowed-chats", "5,6", "--chroma-url", "")
    assert (flagged["top_k"], flagged["max_quotes"]) == (7, 3)
    assert flagged["telegram_allowed_chats"] == [5, 6] and flagged["chroma_url"] is None
    refused = run(["status", "--telegram-token", "1:x"], env, cwd=tmp_path)
    assert refused.returncode == 2 and "unrecognized arguments" in refused.stderr


def test_main_in_process_leaves_logging_alone(store_env, monkeypatch, capsys):
    """pytest closes the stderr a test captured: a handler left on it crashes later records."""
    for name in [k for k in os.environ if k.startswith("NEWSBOT_")]:
        monkeypatch.delenv(name)
    for name, value in store_env.items():
        monkeypatch.setenv(name, value)
    root = logging.getLogger()
    before = (list(root.handlers), root.level, logging.getLogger("httpx").level)
    assert main(["status", "-vv"]) == 0
    assert (list(root.handlers), root.level, logging.getLogger("httpx").level) == before
    assert "store:" in capsys.readouterr().out


def test_verbose_flags_still_log_in_a_real_process(store_env):
    quiet = run(["status"], store_env)
    loud = run(["status", "-vv"], store_env)
    assert quiet.returncode == loud.returncode == 0, loud.stderr
    assert "DEBUG" not in quiet.stderr and "INFO" not in quiet.stderr
    assert "DEBUG " in loud.stderr
