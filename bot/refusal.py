"""The answer-or-refuse model: a logistic regression over the signals ``answer.signals`` computes.

Fitted in bench/fit_refusal.py on the tuning halves of the trust benchmark (XQuAD with each
question's own paragraph removed, mixed-language stores, real news with questions about stories
that are not there), never at run time; the block between the markers below is written by that
script. ``confidence`` is the fitted probability that the articles hold the answer, and
``THRESHOLD`` the operating point chosen on the tuning half (NEWSBOT_MIN_CONFIDENCE overrides it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from index.settings import Settings

# The signals, in the order of the coefficients.
FEATURES = (
    "relevance",  # best sentence cosine above the question's background baseline
    "fair",  # the lead sentence's cosine above its language's mean, less the priors
    "dense",  # best chunk cosine above the baseline
    "overlap",  # best share of the question's content words in a retrieved chunk (same script)
    "same_script",  # the lead passage is in the question's script
    "lexical",  # best BM25 score
    "margin",  # lead story's best fair sentence score over the next story's
    "dense_margin",  # the same for chunk cosines
    "agree",  # the fused, sentence and chunk channels put the same article first
    "kind_fact",  # the question asks for a date, number, person or place
    "typed",  # the lead sentence carries that kind of fact
    "typed_near",  # one of the first three sentences does
    "coverage",  # share of the question's content words in the lead sentence (same script)
    "coverage_chunk",  # the same in the lead chunk and its title
    "lacking",  # share of the question's names the lead passage lacks
    "numbers_missing",  # a number of the question is not in the lead chunk
    "sentence_margin",  # the lead sentence's score over the best sentence of another article
    "coverage_cross",  # share of the question's words the lead sentence holds by word vectors,
    # when it is in the other script (answer.coverage_across)
)

# --- fitted: written by bench/fit_refusal.py -------------------------------------------------
INTERCEPT = 1.03591
COEFFICIENTS: dict[str, float] = {
    "relevance": 0.822615,
    "fair": 0.285027,
    "dense": -0.312347,
    "overlap": 0.823735,
    "same_script": -0.663807,
    "lexical": 0.0310408,
    "margin": -0.314478,
    "dense_margin": 0.550232,
    "agree": 0.297256,
    "kind_fact": -0.0711774,
    "typed": -0.197515,
    "typed_near": 0.281956,
    "coverage": 1.00386,
    "coverage_chunk": -0.746169,
    "lacking": 0.0514681,
    "numbers_missing": -0.424218,
    "sentence_margin": 1.49114,
    "coverage_cross": 0.44121,
    "same_script*fair": -0.97301,
    "same_script*sentence_margin": -0.647347,
    "same_script*relevance": 0.63989,
    "same_script*margin": -0.592134,
    "kind_fact*typed": -0.197515,
}
MEANS: dict[str, float] = {
    "relevance": 0.11685,
    "fair": 0.0976043,
    "dense": 0.109156,
    "overlap": 0.292136,
    "same_script": 0.489579,
    "lexical": 8.6451,
    "margin": 0.0345734,
    "dense_margin": 0.0285468,
    "agree": 0.698833,
    "kind_fact": 0.476657,
    "typed": 0.363902,
    "typed_near": 0.418508,
    "coverage": 0.231138,
    "coverage_chunk": 0.261634,
    "lacking": 0.0224885,
    "numbers_missing": 0.066486,
    "sentence_margin": 0.0464811,
    "coverage_cross": 0.146744,
    "same_script*fair": 0.0547955,
    "same_script*sentence_margin": 0.0347292,
    "same_script*relevance": 0.0737328,
    "same_script*margin": 0.0235993,
    "kind_fact*typed": 0.363902,
}
SCALES: dict[str, float] = {
    "relevance": 0.0455795,
    "fair": 0.0375745,
    "dense": 0.0474515,
    "overlap": 0.310508,
    "same_script": 0.499891,
    "lexical": 9.85606,
    "margin": 0.0369234,
    "dense_margin": 0.026475,
    "agree": 0.458765,
    "kind_fact": 0.499455,
    "typed": 0.481121,
    "typed_near": 0.493314,
    "coverage": 0.30103,
    "coverage_chunk": 0.327865,
    "lacking": 0.126565,
    "numbers_missing": 0.24913,
    "sentence_margin": 0.0505206,
    "coverage_cross": 0.217471,
    "same_script*fair": 0.0636363,
    "same_script*sentence_margin": 0.0541663,
    "same_script*relevance": 0.0797137,
    "same_script*margin": 0.0392356,
    "kind_fact*typed": 0.481121,
}
THRESHOLD = 0.2869
FITTED = (
    "bench/fit_refusal.py --stores ar-1b,m1-1b,m2-1b,en-1b,news -"
    "-max-false-refusal 0.05: tuning half, 4798 questions"
)
# --- end fitted ------------------------------------------------------------------------------


# Products of two signals the model also reads: what a cosine or a margin says depends on
# whether question and passage share a script (same-script words can be compared, others not).
INTERACTIONS = (
    "same_script*fair",
    "same_script*sentence_margin",
    "same_script*relevance",
    "same_script*margin",
    "kind_fact*typed",
)
INPUTS = FEATURES + INTERACTIONS


def floor(settings: Settings, arabic: bool, same_script: bool) -> float:
    """The relevance under which the answerer refuses before asking the model: per question
    script when the best passage shares it, one lower floor across scripts."""
    if not same_script:
        return settings.min_relevance_cross
    return settings.min_relevance_ar if arabic else settings.min_relevance_en


def value(features: Mapping[str, float], name: str) -> float:
    """Signal ``name`` of ``features``; "a*b" is the product of two."""
    if "*" in name:
        a, b = name.split("*")
        return features.get(a, 0.0) * features.get(b, 0.0)
    return features.get(name, 0.0)


def confidence(features: Mapping[str, float]) -> float:
    """The fitted probability that the articles answer the question."""
    z = INTERCEPT
    for name, weight in COEFFICIENTS.items():
        x = (value(features, name) - MEANS.get(name, 0.0)) / (SCALES.get(name) or 1.0)
        z += weight * x
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
