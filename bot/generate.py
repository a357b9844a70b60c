"""Generated answers, grounded and cited, with the extractive answer as the safety net.

``GeneratingAnswerer`` runs the extractive path first (retrieval, evidence, the calibrated
refusal), then shows the top passages to a language model as numbered excerpts and checks what
comes back:

- a citation ``[n]`` that points to no excerpt is stripped;
- an answer left without any valid citation (a refusal, an answer that obeyed an instruction
  hidden in an article, prose with no sources) is replaced by the extractive answer;
- a failure (server down, timeout, HTTP error, malformed or empty reply) is replaced by the
  extractive answer with a one-line ``notice``; never a traceback.

Citations are renumbered in order of use. Each cites the sentence of its excerpt that best matches
the generated claim; when that sentence's language differs from the question's, it is shown
under the answer in the original, next to the model's translation.

Streaming: ``stream(question, history, k, on_token)`` calls ``on_token`` with each piece of text
as it is generated, then returns the checked ``Answer`` (which may differ from the streamed text:
show the returned answer last).

``make_answerer(settings)`` is the one place that chooses between the two answerers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from bot.answer import Answerer, Question
from bot.citations import REFUSAL, Answer, Citation, Turn
from bot.llm import ChatModel, LLMError, OnToken, make_chat_model
from bot.prompts import Excerpt, Prompts, language_name, load_prompts
from bot.retrieve import Passage, Retriever
from index.errors import ConfigError
from index.settings import Settings
from index.text import ascii_digits, detect_language, script_of

logger = logging.getLogger(__name__)

# [1], [1][2], [1, 2], [١] (Arabic-Indic digits), [1،2] (Arabic comma).
_MARKER = re.compile(r"\[\s*([0-9٠-٩]+(?:\s*[,،]\s*[0-9٠-٩]+)*)\s*\]")
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([.,;:!?؟،؛])")
_CLAIM_EDGE = " \t.,;:!?؟،؛"

NOTICE_NO_CITATION = "the generated answer cited no excerpt; showing the quoted sentences instead"
NOTICE_REFUSED = "the language model found no answer in the excerpts; showing the closest quotes"


def make_answerer(settings: Settings) -> Answerer:
    """A generating answerer when NEWSBOT_LLM_URL or NEWSBOT_LLM_GGUF is set, else extractive."""
    if settings.llm_url or settings.llm_gguf:
        return GeneratingAnswerer(settings)
    return Answerer(settings)


class GeneratingAnswerer(Answerer):
    """Answers with a language model over the extractive evidence; falls back to extractive."""

    def __init__(
        self,
        settings: Settings,
        retriever: Retriever | None = None,
        model: ChatModel | None = None,
        prompts: Prompts | None = None,
    ) -> None:
        self.prompts = prompts or load_prompts()  # fail at start-up on a broken template
        model = model or make_chat_model(settings)
        if model is None:
            raise ConfigError("set NEWSBOT_LLM_URL or NEWSBOT_LLM_GGUF to generate answers")
        self.model = model
        super().__init__(settings, retriever)

    def answer(self, question: str, history: Sequence[Turn] = (), k: int | None = None) -> Answer:
        return self.stream(question, history, k, None)

    def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        k: int | None = None,
        on_token: OnToken | None = None,
    ) -> Answer:
        """The checked answer; ``on_token`` (if given) sees the raw text as it is generated."""
        asked = Question.of(question)
        extractive = self.extract(asked, history, k)
        if extractive.refused:
            return extractive  # the calibrated retrieval gate decides refusals, not the model
        passages = self.excerpt_passages(extractive)
        excerpts = [_excerpt(n, p) for n, p in enumerate(passages, 1)]
        q_language = detect_language(asked.text)
        standalone = extractive.rewritten or asked.text  # a follow-up, made standalone
        system, user = self.prompts.render(standalone, excerpts, language_name(q_language), REFUSAL)
        try:
            raw = self.model.chat(system, user, on_token)
        except LLMError as exc:
            logger.warning("generation failed, answering extractively: %s", exc.user_message)
            return replace(extractive, notice=f"{exc.user_message}; showing the quoted sentences")
        return self.ground(asked, extractive, passages, raw)

    def excerpt_passages(self, extractive: Answer) -> list[Passage]:
        """The passages the model sees: the top ones, always including the quoted evidence."""
        limit = self.settings.llm_excerpts
        quoted = {c.passage.chunk.id for c in extractive.citations}
        must = [p.chunk.id for p in extractive.passages if p.chunk.id in quoted][:limit]
        rest = [p.chunk.id for p in extractive.passages if p.chunk.id not in must]
        chosen = set(must + rest[: limit - len(must)])
        return [p for p in extractive.passages if p.chunk.id in chosen]  # retrieval order

    def ground(
        self, question: Question, extractive: Answer, passages: Sequence[Passage], raw: str
    ) -> Answer:
        """The generated text checked against its excerpts, or the extractive answer."""
        text, cited, invented = check_citations(raw, len(passages))
        if invented:
            logger.info("stripped %d citations to no excerpt", invented)
        if not cited or not re.search(r"\w", _MARKER.sub("", text)):  # no claim, or only "[1]"
            notice = NOTICE_REFUSED if _is_refusal(raw) else NOTICE_NO_CITATION
            logger.info("falling back to extractive: %s", notice)
            return replace(extractive, notice=notice)
        quotes = self._quotes(text, [passages[n - 1] for n in cited], cited)
        citations = tuple(
            Citation.of(m, passages[n - 1], quotes[n], passages[n - 1].sentence_score(quotes[n]))
            for m, n in enumerate(cited, 1)
        )
        originals = [
            f"[{c.n}] “{c.quote}”"
            for c in citations
            if script_of(c.quote) != question.script and c.quote not in text
        ]
        if originals:
            text = text + "\n\n" + "\n".join(originals)
        return replace(extractive, text=text, mode="llm", citations=citations, notice=None)

    def _quotes(
        self, text: str, cited_passages: Sequence[Passage], cited: Sequence[int]
    ) -> dict[int, int]:
        """For each cited excerpt, the sentence that best matches the claims citing it."""
        claims = claims_by_excerpt(text, len(cited))  # keyed by the new numbers 1..m
        out: dict[int, int] = {}
        texts = [c for m in range(1, len(cited) + 1) for c in claims.get(m, [])]
        vectors = self.retriever.embedder.queries(texts) if texts else np.zeros((0, 0))
        row = 0
        for m, (n, p) in enumerate(zip(cited, cited_passages, strict=True), 1):
            count = len(claims.get(m, []))
            own = vectors[row : row + count]
            row += count
            if count and p.chunk.sent_vecs.size:
                scores = p.chunk.sent_vecs @ own.T  # (sentences, claims)
                out[n] = int(np.unravel_index(np.argmax(scores), scores.shape)[0])
            else:
                out[n] = max(p.best_sentence, 0)
        return out


def check_citations(raw: str, excerpts: int) -> tuple[str, list[int], int]:
    """(text with valid markers renumbered 1..m in order of use, excerpt numbers cited in that
    order, how many markers pointed to no excerpt and were stripped)."""
    order: list[int] = []
    invented = 0

    def renumber(match: re.Match[str]) -> str:
        nonlocal invented
        kept: list[str] = []
        for part in re.split(r"[,،]", match.group(1)):
            n = int(ascii_digits(part.strip()))
            if not 1 <= n <= excerpts:
                invented += 1
                continue
            if n not in order:
                order.append(n)
            label = f"[{order.index(n) + 1}]"
            if label not in kept:
                kept.append(label)
        return "".join(kept)

    text = _MARKER.sub(renumber, raw.strip())
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    text = re.sub(r"[ \t]{2,}", " ", text).strip()
    return text, order, invented


def claims_by_excerpt(text: str, cited: int) -> dict[int, list[str]]:
    """The text before each [m] marker (back to the previous marker or line), per m."""
    out: dict[int, list[str]] = {}
    last_end = 0
    last_claim = ""
    for match in re.finditer(r"\[(\d+)\]", text):
        claim = text[last_end : match.start()].strip().split("\n")[-1].strip(_CLAIM_EDGE)
        claim = claim or last_claim  # [1][2]: both cite the same words
        m = int(match.group(1))
        if claim and 1 <= m <= cited:
            out.setdefault(m, []).append(claim)
        last_end, last_claim = match.end(), claim
    return out


def _is_refusal(raw: str) -> bool:
    return REFUSAL.lower().rstrip(".") in " ".join(raw.lower().split())


def _excerpt(n: int, p: Passage) -> Excerpt:
    c = p.chunk
    return Excerpt(n=n, text=c.text, title=c.title, source=c.source, published=c.published)
