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
under the answer verbatim, and beneath it the model's translation of it, marked as machine
translation (``Citation.translation``, "translation" in JSON). A translation is checked against
its original (``check_translation``): one that adds a number, a year or a name the original does
not hold is not shown (a small model wrote "early December 2024" for an undated "early
December" and "Miley Cyrus" for "ميلر").

Streaming: ``stream(question, history, k, on_token)`` calls ``on_token`` with each piece of text
as it is generated, then returns the checked ``Answer`` (which may differ from the streamed text:
show the returned answer last).

``make_answerer(settings)`` is the one place that chooses between the two answerers.
"""

from __future__ import annotations

import calendar
import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from bot.answer import Answerer, Question
from bot.catalogue import language_of, say
from bot.citations import REFUSAL, Answer, Citation, Turn
from bot.llm import ChatModel, LLMError, OnToken, make_chat_model
from bot.prompts import Excerpt, Prompts, language_name, load_prompts
from bot.retrieve import Passage, Retriever
from index.dates import resolve_dates
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
        foreign = [
            c for c in citations if script_of(c.quote) != question.script and c.quote not in text
        ]
        citations = tuple(
            replace(c, translation=self.translate(c.quote, question.text)) if c in foreign else c
            for c in citations
        )
        originals = []
        for c in citations:
            if c.quote in text or script_of(c.quote) == question.script:
                continue
            originals.append(f"[{c.n}] “{c.quote}”")
            if c.translation:
                marker = say("machine_translation", language_of(question.text))
                originals.append(f"    ({marker}) {c.translation}")
        if originals:
            text = text + "\n\n" + "\n".join(originals)
        return replace(extractive, text=text, mode="llm", citations=citations, notice=None)

    def translate(self, quote: str, question: str) -> str | None:
        """The model's translation of ``quote`` into the question's language, if it passes
        ``check_translation``; None when it fails, is empty or adds what the quote lacks."""
        language = language_name(detect_language(question))
        system, user = self.prompts.translation(quote, language)
        try:
            raw = self.model.chat(system, user, None)
        except LLMError as exc:
            logger.info("no translation: %s", exc.user_message)
            return None
        translation = " ".join(_MARKER.sub("", raw).split()).strip("“”\"' ")
        problems = check_translation(quote, translation)
        if not translation or problems:
            logger.info("translation not shown: %s", "; ".join(problems) or "empty")
            return None
        return translation

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


# --- checking a translation --------------------------------------------------------------------

_DIGITS = re.compile(r"\d+(?:[.,٫٬]\d+)*")
# Capitalised words of an English translation that are no name to check: sentence openers,
# months, days, and words of titles and institutions (they translate words, not names).
_NOT_NAMES = frozenset(
    """a an the in on at of and but or as it its this that these those there he she they we
    his her their when where who what why how if after before while during since for from to
    by with said says according however meanwhile also earlier later last next today tomorrow
    yesterday january february march april may june july august september october november
    december monday tuesday wednesday thursday friday saturday sunday state department
    ministry foreign defense defence health interior secretary minister president prime
    spokesman spokeswoman spokesperson administration senate senators senator congress army
    government united nations states council security house white kingdom republic agency
    authority authorities forces force military police court office officials official
    committee party movement organisation organization union international national general
    us usa uk un eu american americans israeli israelis palestinian palestinians arab arabs
    arabic muslim muslims christian european western eastern northern southern north south
    east west middle strip bank gulf sea river city region province affairs mr mrs ms dr sir
    news agency ministries""".split()
)
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
_ARABIC_WORD = re.compile(r"[\u0621-\u064a]+")
# Letters as sounds, coarsely, so that a Latin name and its Arabic spelling meet: vowels and h
# dropped, voiced and voiceless pairs merged (Arabic has no p or v, English no emphatics).
_AR_SOUND = {
    "ب": "b",
    "ت": "t",
    "ث": "t",
    "ج": "k",
    "خ": "k",
    "د": "t",
    "ذ": "t",
    "ر": "r",
    "ز": "s",
    "س": "s",
    "ش": "s",
    "ص": "s",
    "ض": "t",
    "ط": "t",
    "ظ": "t",
    "غ": "k",
    "ف": "f",
    "ق": "k",
    "ك": "k",
    "ل": "l",
    "م": "m",
    "ن": "n",
}  # fmt: skip (ح ع ه and the vowels and hamza carriers count as nothing)
_EN_SOUND = {"b": "b", "p": "b", "t": "t", "d": "t", "s": "s", "z": "s", "c": "k", "k": "k",
             "q": "k", "g": "k", "j": "k", "x": "k", "f": "f", "v": "f", "l": "l", "m": "m",
             "n": "n", "r": "r"}  # fmt: skip


def _digits(text: str) -> set[str]:
    return {re.sub(r"[.,٫٬]", "", d) for d in _DIGITS.findall(ascii_digits(text))}


def _skeleton_en(word: str) -> str:
    low = word.lower().replace("ph", "f").replace("th", "t").replace("sh", "s").replace("ch", "s")
    out = [_EN_SOUND.get(ch, "") for ch in low]
    return re.sub(r"(.)\1+", r"\1", "".join(out))


def _skeleton_ar(word: str) -> str:
    out = [_AR_SOUND.get(ch, "") for ch in word]
    return re.sub(r"(.)\1+", r"\1", "".join(out))


def _near(a: str, b: str) -> bool:
    """Skeletons equal, or one letter apart for longer ones ("snktn" Washington, "sntn")."""
    if a == b:
        return True
    if min(len(a), len(b)) < 3 or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


_SOME_DAY = dt.date(2001, 7, 1)  # places month names without a year, to compare their months


def _months(text: str) -> set[int]:
    """The months that the date expressions of ``text`` fall in."""
    out: set[int] = set()
    for m in resolve_dates(text, _SOME_DAY):
        if m.first and m.last and (m.last - m.first).days < 62:
            out.update({m.first.month, m.last.month})
    return out


def check_translation(original: str, translation: str) -> list[str]:
    """What ``translation`` says that ``original`` does not: numbers (digits, years) it lacks,
    months it does not name ("early January/December" for "أوائل كانون الأول/ديسمبر"), and,
    for an English translation of an Arabic sentence, capitalised names that no word of the
    original could be spelled as. Empty: nothing added that the check can see (a wrong
    meaning in the right words passes: the translation stays marked as machine translation)."""
    problems = [f"the number {n} is not in the original" for n in sorted(
        _digits(translation) - _digits(original)
    )]  # fmt: skip
    problems += [
        f"the month {calendar.month_name[n]} is not in the original"
        for n in sorted(_months(translation) - _months(original))
    ]
    if script_of(original) == "arabic" and script_of(translation) == "latin":
        sounds = [_skeleton_ar(w) for w in _ARABIC_WORD.findall(original)]
        for word in dict.fromkeys(_LATIN_WORD.findall(translation)):
            bare = re.sub(r"['’]s?$", "", word.lower())
            if not word[0].isupper() or bare in _NOT_NAMES:
                continue
            if word.isupper():
                continue  # an acronym (AFP: فرانس برس) is spelled out in Arabic: not checked
            skeleton = _skeleton_en(word.split("'")[0].split("’")[0])
            if skeleton and not any(_near(skeleton, s) or (len(skeleton) >= 3 and skeleton in s)
                                    for s in sounds):  # fmt: skip
                problems.append(f"the name {word} is not in the original")
    return problems
