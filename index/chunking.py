"""Article -> Chunks: sentence-aware, sized in o200k tokens, with each chunk's sentence spans.

llama-index's SentenceSplitter does the packing; we give it our sentence splitter (which knows
the Arabic ؟ ؛ ۔ marks) and a tiktoken counter, and compute sentence spans on what it returns.

``Embedded`` (an article's chunks with their vectors, ready to write) lives here too: both sides
of the index (index.manifest and index.store) write it, and this is the lowest room that knows
articles and chunks without importing anything heavy.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from index.articles import Article
from index.text import sentence_spans, split_sentences

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

ENCODING = "o200k_base"
# Sentence spans (each gets a vector) per chunk, at most. News runs 5-10 sentences a chunk; text
# of tiny "sentences" (100,000 numbers with full stops in bench/hostile.py: 100,017 vectors, 12
# minutes, 719 MB) is grouped into this many spans, so an article's sentence vectors grow with
# its tokens, not with its full stops.
MAX_SENTENCES = 24


def ensure_tiktoken_cache() -> None:
    """Point tiktoken at the encoding files llama-index-core ships, unless the user chose a dir.

    tiktoken downloads its encodings on first use otherwise, which fails offline.
    """
    if os.environ.get("TIKTOKEN_CACHE_DIR"):
        return
    spec = find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        return
    cache = Path(next(iter(spec.submodule_search_locations))) / "_static" / "tiktoken_cache"
    if cache.is_dir():
        os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)


@lru_cache(maxsize=1)
def encoding() -> Any:
    ensure_tiktoken_cache()
    import tiktoken

    return tiktoken.get_encoding(ENCODING)


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


@dataclass(frozen=True)
class Chunk:
    """A piece of an article, with sentence spans relative to ``text``."""

    id: str
    article_id: str
    ordinal: int
    text: str
    start: int
    end: int
    sentences: tuple[tuple[int, int], ...]

    def sentence_texts(self) -> list[str]:
        return [self.text[a:b] for a, b in self.sentences]


@dataclass(frozen=True)
class Embedded:
    """An article ready to write: its chunks, chunk vectors and per-chunk sentence vectors."""

    article: Article
    root: str
    file_key: str
    chunks: list[Chunk]
    vectors: np.ndarray
    sentence_vectors: list[np.ndarray]


def chunk_id(article: Article, ordinal: int) -> str:
    """Stable per article content, so an unchanged article keeps its ids across reindexes."""
    digest = hashlib.sha256(f"{article.id}|{article.content_hash}".encode()).hexdigest()[:12]
    return f"{article.id}:{digest}:{ordinal}"


@lru_cache(maxsize=16)
def _splitter(chunk_tokens: int) -> Any:
    ensure_tiktoken_cache()
    from llama_index.core.node_parser import SentenceSplitter

    enc = encoding()
    return SentenceSplitter(
        chunk_size=chunk_tokens,
        chunk_overlap=0,
        tokenizer=lambda text: enc.encode(text, disallowed_special=()),
        paragraph_separator="\n\n",
        chunking_tokenizer_fn=split_sentences,
        # Our splitter already cuts at sentence marks; the fallback for an over-long sentence
        # cuts at commas (Latin and Arabic) and semicolons before it cuts words. llama-index
        # applies it with re.findall, so it must match every character: a run of marks (",,")
        # or a leading mark would otherwise be dropped and the chunk no longer be a slice.
        secondary_chunking_regex=r"[^,;،؛]+[,;،؛]*|[,;،؛]+",
        include_metadata=False,
        include_prev_next_rel=False,
    )


def _pieces(text: str, chunk_tokens: int, budget: int) -> list[str]:
    """The splitter's pieces of ``text``, each at most ``chunk_tokens`` tokens.

    llama-index sizes a piece by summing the token counts of the parts it joins; BPE can count
    the joined text a token or two higher (seen on sentences longer than a chunk, cut at words),
    so a piece over the limit is split again with a tighter budget.
    """
    out: list[str] = []
    for piece in _splitter(budget).split_text(text):
        if budget > 8 and count_tokens(piece) > chunk_tokens:
            out.extend(_pieces(piece, chunk_tokens, budget - max(1, budget // 16)))
        else:
            out.append(piece)
    return out


def chunk_article(article: Article, chunk_tokens: int) -> list[Chunk]:
    """Chunks of ``article``; each one's text is an exact slice of the article text.

    A chunk that repeats an earlier one of the same article word for word is left out: it
    would only add copies of one vector, and 1,000 copies of a junk line took every place
    among a question's nearest chunks (bench/hostile.py).
    """
    pieces = _pieces(article.text, chunk_tokens, chunk_tokens)
    chunks: list[Chunk] = []
    seen: set[str] = set()
    cursor = 0
    for piece in pieces:
        piece = piece.strip()
        if not piece:
            continue
        start = article.text.find(piece, cursor)
        if start < 0:  # the splitter re-joined white space; fall back to its own text
            logger.debug("chunk of %s not found verbatim; keeping splitter text", article.id)
            start = cursor
            text = piece
        else:
            text = piece
            cursor = start + len(piece)
        if text in seen:
            continue
        seen.add(text)
        ordinal = len(chunks)
        chunks.append(
            Chunk(
                id=chunk_id(article, ordinal),
                article_id=article.id,
                ordinal=ordinal,
                text=text,
                start=start,
                end=start + len(text),
                sentences=tuple(_grouped(sentence_spans(text), MAX_SENTENCES)),
            )
        )
    return chunks


def _grouped(spans: list[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    """``spans`` joined into at most ``limit`` runs of neighbours (unchanged when they fit)."""
    if len(spans) <= limit:
        return spans
    size = -(-len(spans) // limit)
    return [
        (spans[i][0], spans[min(i + size, len(spans)) - 1][1]) for i in range(0, len(spans), size)
    ]
