"""A normal install (a built wheel, not the editable clone) answers: its package data (the prompt
templates, the background sentences) travels in the wheel.

The wheel is built from a copy of the sources (no build isolation: nothing is downloaded) and
installed without dependencies into a fresh virtual environment. That environment reuses this
one's installed dependencies through a .pth line naming this site-packages folder: a folder named
in a .pth file is only appended to sys.path, its own .pth files are not run, so the editable
install's finder stays out and ``bot``, ``index`` and ``prompts`` can only come from the wheel.
The installed ``newsbot`` answers from a temp folder with a generator pointed at the fake
OpenAI-compatible server.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI, Reply

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "articles" / "000_df79775a9f276dd4.txt"
QUESTION = "When is the US-Israel meeting?"
SOURCES = ["pyproject.toml", "README.md", "bot", "index", "prompts"]

WHERE = """
import importlib.metadata, importlib.resources, json, sys
import bot.cli, index.embedding, prompts
print(json.dumps({
    "modules": {m.__name__: m.__file__ for m in (bot.cli, index.embedding, prompts)},
    "templates": str(importlib.resources.files("prompts") / "system.txt"),
    "distribution": str(importlib.metadata.distribution("newsbot").locate_file("")),
    "finders": [getattr(f, "__name__", type(f).__name__) for f in sys.meta_path],
    "editable": [m for m in sys.modules if "editable" in m],
    "path": sys.path,
}))
"""


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300
    )
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    """A fresh virtual environment holding the newsbot wheel, on top of this one's packages."""
    src = tmp_path / "src"
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            src.mkdir(exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    dist = tmp_path / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(src)], tmp_path)
    (wheel,) = dist.glob("newsbot-*.whl")

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    python = venv / "bin" / "python"
    run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)], tmp_path)
    fresh = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], tmp_path
    )
    ours = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    Path(fresh.strip(), "_newsbot_test_dependencies.pth").write_text("\n".join(ours) + "\n")
    return venv


def child_env(tmp_path: Path, fake: FakeOpenAI) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "PYTHON"))}
    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy2(SAMPLE, articles / SAMPLE.name)
    env.update(
        NEWSBOT_ARTICLES_DIR=str(articles),
        NEWSBOT_STORE_DIR=str(tmp_path / "store"),
        NEWSBOT_SOURCES_FILE=str(tmp_path / "no-sources.toml"),
        NEWSBOT_LLM_URL=fake.url,
        NEWSBOT_LLM_MODEL="fake",
    )
    return env


def test_the_installed_wheel_answers_with_its_own_prompts(
    venv: Path, fake: FakeOpenAI, tmp_path: Path
) -> None:
    cwd = tmp_path / "elsewhere"  # no prompts/ folder, no .env, no repository
    cwd.mkdir()
    env = child_env(tmp_path, fake)
    where = json.loads(run([str(venv / "bin" / "python"), "-c", WHERE], cwd, env))
    fresh = (venv / "lib").resolve()
    for name, file in where["modules"].items():
        assert Path(file).resolve().is_relative_to(fresh), f"{name} imported from {file}"
    assert Path(where["templates"]).resolve().is_relative_to(fresh)
    assert Path(where["distribution"]).resolve().is_relative_to(fresh)
    assert not any("Editable" in f for f in where["finders"]), where["finders"]
    assert not where["editable"] and str(REPO) not in where["path"]
    assert sysconfig.get_path("purelib") in where["path"]  # the dependencies, from this venv

    fake.script(Reply("The meeting will take place in early December [1]."))
    out = run([str(venv / "bin" / "newsbot"), "ask", "--json", QUESTION], cwd, env)
    answer = json.loads(out.strip().splitlines()[-1])
    assert answer["mode"] == "llm" and not answer["refused"], answer
    assert answer["answer"].startswith("The meeting will take place in early December [1].")
    system = fake.requests[0]["messages"][0]["content"]  # the answer; translations follow
    assert system.startswith("You are a careful news assistant.")  # prompts/system.txt
