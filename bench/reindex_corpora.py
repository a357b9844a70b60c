"""The corpora of bench_reindex.py, read at run time and never copied into the repository.

- ``sample``: the articles in data/articles/, read in place (never written to);
- ``xquad``: the 240 Arabic XQuAD paragraphs of ../shared/eval/xquad/xquad.ar.json, written to a
  temporary folder as one .txt file per paragraph (the paragraph text only: the English
  ``title`` field is left out).
"""

from __future__ import annotations

import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE_ARTICLES = REPO / "data" / "articles"
DEFAULT_XQUAD = REPO.parent / "shared" / "eval" / "xquad" / "xquad.ar.json"


def prepare_xquad(source: Path, folder: Path) -> int:
    """One .txt file per Arabic paragraph (context only; the English title stays out)."""
    data = json.loads(source.read_text(encoding="utf-8"))
    folder.mkdir(parents=True)
    n = 0
    for article in data["data"]:
        for para in article["paragraphs"]:
            (folder / f"{n:03d}.txt").write_text(para["context"] + "\n", encoding="utf-8")
            n += 1
    return n
