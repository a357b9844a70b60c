"""The suite's guard against logging crashes (tests/conftest.py) fails the test during which a
handler crashed, here in the way the suite once met it: a handler left on a stream pytest closed.

Run in a child pytest with a copy of the suite's conftest, so its failure stays there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

INNER = """
import logging
import sys

def test_leaves_a_handler_on_its_captured_stderr(capsys):
    logging.getLogger("inner").addHandler(logging.StreamHandler(sys.stderr))

def test_logs_after_that_stream_was_closed():
    logging.getLogger("inner").warning("a record for the closed stream")

def test_logs_nothing():
    pass
"""


def test_a_logging_crash_fails_the_test_it_happened_in(tmp_path: Path):
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_inner.py").write_text(INNER, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rE", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "3 passed, 1 error" in out, out
    assert "ERROR test_inner.py::test_logs_after_that_stream_was_closed" in out, out
    assert "a logging handler crashed during this test" in out, out
    assert "I/O operation on closed file" in out, out
