"""The README is the front door: every setting is documented (the table is the generated one),
the sample output is what `newsbot ask` prints, the two set-up commands are there and CI runs
exactly the test one; docs/ARCHITECTURE.md names every module and the contracts' layers."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot import cli
from index.settings import Settings

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text("utf-8")
ARCHITECTURE = (REPO / "docs" / "ARCHITECTURE.md").read_text("utf-8")
QUESTION = "When is the US-Israel meeting?"


def test_every_setting_is_in_the_readme():
    missing = [
        f"NEWSBOT_{name.upper()}"
        for name in Settings.model_fields
        if f"`NEWSBOT_{name.upper()}`" not in README
    ]
    assert not missing, f"README's settings table misses {missing}"


def test_every_setting_is_described():
    assert all(field.description for field in Settings.model_fields.values())


def test_readme_has_no_placeholders():
    assert not re.search(r"^[A-Z_]{6,}$", README, re.MULTILINE)


def test_ci_runs_the_readme_test_command():
    blocks = re.findall(r"```\n(.*?)\n```", README, re.DOTALL)
    test_command = next(b for b in blocks if "pytest" in b and "pip install" in b)
    ci = (REPO / ".ci" / "run").read_text("utf-8")
    assert test_command.strip() in ci
    assert any("newsbot ask" in b and "pip install -e ." in b for b in blocks)


def test_settings_table_is_the_generated_one():
    """Run `python bench/settings_table.py --write` after changing a setting."""
    table = subprocess.run(
        [sys.executable, str(REPO / "bench" / "settings_table.py")],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.strip()
    assert table in README


def test_sample_output_is_what_ask_prints(
    sample_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ["--store-dir", str(sample_settings.store_dir)]
    code = cli.main(["ask", QUESTION, *store, "--articles-dir", str(sample_settings.articles_dir)])
    assert code == 0
    printed = capsys.readouterr().out.strip()
    assert f'```\n$ newsbot ask "{QUESTION}"\n{printed}\n```' in README, printed


def test_architecture_doc_is_linked_and_names_every_module():
    assert "(docs/ARCHITECTURE.md)" in README
    modules = [
        f"{path.parent.name}/{path.name}"
        for package in ("bot", "index")
        for path in sorted((REPO / package).glob("*.py"))
        if path.name != "__init__.py"
    ]
    missing = [m for m in modules if f"`{m.split('/')[1]}`" not in ARCHITECTURE]
    assert not missing, f"docs/ARCHITECTURE.md does not name {missing}"


def test_architecture_doc_shows_the_contracts_layers():
    config = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    (layers,) = [
        c["layers"] for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"
    ]
    block = "\n".join(f"  {layer}" for layer in layers)
    assert f"  ```\n{block}\n  ```" in ARCHITECTURE, block
