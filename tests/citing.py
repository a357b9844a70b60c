"""Citations for renderer and bot tests, built the way production builds them: a real Passage of
a StoredChunk whose sentence spans hold the quote, cited through ``Citation.of``."""

from __future__ import annotations

import numpy as np

from bot.citations import Citation
from bot.retrieve import Passage
from index.manifest import StoredChunk


def citation(
    n: int,
    quote: str,
    *,
    before: str = "",
    after: str = "",
    article_id: str | None = None,
    title: str | None = None,
    source: str | None = None,
    url: str | None = None,
    published: str | None = None,
    path: str | None = None,
    score: float = 0.8,
) -> Citation:
    """Citation ``n`` of ``quote``, in a chunk reading ``before`` + quote + ``after``.

    The chunk has three sentence spans (before, quote, after; an empty one where nothing is
    there) and the quote is sentence 1.
    """
    start = len(before)
    end = start + len(quote)
    text = before + quote + after
    chunk = StoredChunk(
        id=f"{article_id or f'a{n}'}:0",
        article_id=article_id or f"a{n}",
        ordinal=0,
        text=text,
        sentences=((0, start), (start, end), (end, len(text))),
        sent_vecs=np.zeros((0, 0), dtype=np.float32),
        title=title,
        source=source,
        url=url,
        published=published,
        language=None,
        path=path,
    )
    passage = Passage(chunk, score, dense=score, lexical=0.0, sentence_scores=(0.0, score, 0.0))
    return Citation.of(n, passage, 1, score)
