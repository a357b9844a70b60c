"""The README is the front door: every setting is documented, the two set-up commands are
there and CI runs exactly the test one."""

from __future__ import annotations

import re
from pathlib import Path

from index.settings import Settings

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text("utf-8")


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
