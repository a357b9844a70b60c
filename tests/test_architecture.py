"""The allowed arrows between modules (docs/ARCHITECTURE.md), checked two ways.

- import-linter's contracts in pyproject.toml ([tool.importlinter]), run as ``lint-imports``:
  index/ never imports bot/, the layers of bot/, llama_index only in index/ and bot/retrieve.py,
  no circle among the modules of a package.
- This file's own reading of every module's syntax tree: every import statement counts, inside a
  function or under ``if TYPE_CHECKING:`` too (a function-level import that dodges a circle is a
  circle), so a circle is reported with its path; and the manifest's SQLite connection is used
  only inside index/manifest.py, its one owner.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "index")
MANIFEST_OWNER = "index.manifest"


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int

    def __str__(self) -> str:
        return f"{self.importer} -> {self.imported} (line {self.line})"


def modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """``{dotted name: file}`` of every module of ``packages`` under ``root``."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def imports_of(name: str, path: Path, known: Iterable[str]) -> Iterator[Import]:
    """Every import in the module's tree that names a module of ``known``."""
    known = set(known)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def target(dotted: str) -> str | None:
        while dotted and dotted not in known:  # `import bot.answer.Citation` -> bot.answer
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *filter(None, [base])])
            # `from bot import render` imports the module bot.render, not the package bot
            names = [f"{base}.{alias.name}" for alias in node.names] or [base]
            names = [n if n in known else base for n in names]
        for dotted in names:
            imported = target(dotted)
            if imported and imported != name:
                yield Import(name, imported, node.lineno)


@cache
def project_imports() -> tuple[Import, ...]:
    found = modules(REPO, PACKAGES)
    return tuple(i for name, path in found.items() for i in imports_of(name, path, found))


def find_cycle(edges: Iterable[Import]) -> list[Import] | None:
    """One import circle (as its imports, in order), or None."""
    graph: dict[str, list[Import]] = {}
    for edge in edges:
        graph.setdefault(edge.importer, []).append(edge)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[Import] = []

    def visit(node: str) -> list[Import] | None:
        state[node] = 1
        for edge in graph.get(node, []):
            if state.get(edge.imported) == 1:  # back to a module on the path: a circle
                start = next(i for i, e in enumerate(path) if e.importer == edge.imported)
                return [*path[start:], edge]
            if edge.imported not in state:
                path.append(edge)
                if cycle := visit(edge.imported):
                    return cycle
                path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


# --- import-linter -------------------------------------------------------------------------------


def test_import_linter_contracts_hold():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    proc = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=REPO,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert proc.returncode == 0, f"lint-imports failed:\n{proc.stdout}\n{proc.stderr}"
    assert "BROKEN" not in proc.stdout and " KEPT" in proc.stdout


THROWAWAY = {
    "__init__.py": "",
    "low.py": "def later():\n    from pkg import high\n    return high\n",
    "high.py": (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.low import later\n"
    ),
}


@pytest.fixture
def throwaway(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package whose only circle hides in a function and under TYPE_CHECKING."""
    for name, text in THROWAWAY.items():
        (tmp_path / "pkg").mkdir(exist_ok=True)
        (tmp_path / "pkg" / name).write_text(text, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_both_checkers_see_function_level_and_type_checking_imports(throwaway: Path):
    graph = grimp.build_graph("pkg", cache_dir=None)  # what lint-imports reads
    assert graph.direct_import_exists(importer="pkg.low", imported="pkg.high")
    assert graph.direct_import_exists(importer="pkg.high", imported="pkg.low")
    found = modules(throwaway, ["pkg"])
    edges = [i for name, path in found.items() for i in imports_of(name, path, found)]
    cycle = find_cycle(edges)
    assert cycle and {e.importer for e in cycle} == {"pkg.low", "pkg.high"}


# --- this file's own reading ---------------------------------------------------------------------


def test_the_reader_finds_the_modules_and_their_imports():
    found = modules(REPO, PACKAGES)
    assert {"bot.cli", "bot.answer", "index.reindex", "index.manifest"} <= set(found)
    edges = project_imports()
    assert any(e.importer.startswith("bot.") and e.imported.startswith("index.") for e in edges)


def test_no_import_circle_among_bot_and_index_modules():
    cycle = find_cycle(project_imports())
    assert cycle is None, "import circle:\n" + "\n".join(f"  {e}" for e in cycle or [])


def test_index_never_imports_bot():
    upward = [str(e) for e in project_imports() if e.importer.split(".")[0] == "index"
              and e.imported.split(".")[0] == "bot"]  # fmt: skip
    assert not upward, "index/ imports bot/:\n" + "\n".join(upward)


def test_feeds_parsing_imports_nothing_else_from_index():
    inside = [str(e) for e in project_imports() if e.importer == "index.feeds"]
    assert not inside, "index/feeds.py imports from index/:\n" + "\n".join(inside)


def _raw_manifest_uses(name: str, path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Attribute) and node.attr == "db":
            yield f"{name} line {node.lineno}: {ast.unparse(node)}"
        if isinstance(node, ast.Import | ast.ImportFrom):
            named = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            if "sqlite3" in named:
                yield f"{name} line {node.lineno}: imports sqlite3"


def test_only_index_manifest_touches_the_manifests_sqlite():
    """Manifest.db (the raw connection) may be read by tests; production code calls methods."""
    uses = [
        use
        for name, path in modules(REPO, PACKAGES).items()
        if name != MANIFEST_OWNER
        for use in _raw_manifest_uses(name, path)
    ]
    assert not uses, "the manifest's SQLite used outside index/manifest.py:\n" + "\n".join(uses)


def test_the_sqlite_check_can_fail(tmp_path: Path):
    (tmp_path / "m.py").write_text(
        "import sqlite3\n\ndef f(self):\n    return self.manifest.db.execute('SELECT 1')\n",
        encoding="utf-8",
    )
    uses = sorted(_raw_manifest_uses("m", tmp_path / "m.py"))
    assert uses == ["m line 1: imports sqlite3", "m line 4: self.manifest.db"]
