"""The real `newsbot` console script, run as a user would: exit codes, JSON shapes, chat."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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
        ([], 2),
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
