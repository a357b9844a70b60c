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
)

# --- fitted: written by bench/fit_refusal.py -------------------------------------------------
INTERCEPT = 1.0212
COEFFICIENTS: dict[str, float] = {
    "relevance": 0.833793,
    "fair": 0.389784,
    "dense": -0.2048,
    "overlap": 0.839713,
    "same_script": -0.719141,
    "lexical": -0.00581517,
    "margin": -0.352465,
    "dense_margin": 0.514491,
    "agree": 0.326621,
    "kind_fact": -0.0816132,
    "typed": -0.185255,
    "typed_near": 0.261257,
    "coverage": 0.990398,
    "coverage_chunk": -0.756369,
    "lacking": 0.0758157,
    "numbers_missing": -0.432954,
    "sentence_margin": 1.62741,
    "same_script*fair": -1.05975,
    "same_script*sentence_margin": -0.728606,
    "same_script*relevance": 0.394818,
    "same_script*margin": -0.595742,
    "kind_fact*typed": -0.185255,
}
MEANS: dict[str, float] = {
    "relevance": 0.116842,
    "fair": 0.097615,
    "dense": 0.109136,
    "overlap": 0.291754,
    "same_script": 0.489371,
    "lexical": 8.64159,
    "margin": 0.0345747,
    "dense_margin": 0.0287073,
    "agree": 0.699041,
    "kind_fact": 0.476657,
    "typed": 0.363902,
    "typed_near": 0.418508,
    "coverage": 0.23093,
    "coverage_chunk": 0.261426,
    "lacking": 0.0224885,
    "numbers_missing": 0.066486,
    "sentence_margin": 0.0466188,
    "same_script*fair": 0.0547927,
    "same_script*sentence_margin": 0.0348636,
    "same_script*relevance": 0.0737149,
    "same_script*margin": 0.0235995,
    "kind_fact*typed": 0.363902,
}
SCALES: dict[str, float] = {
    "relevance": 0.045582,
    "fair": 0.0375579,
    "dense": 0.0474648,
    "overlap": 0.31021,
    "same_script": 0.499887,
    "lexical": 9.85675,
    "margin": 0.0368798,
    "dense_margin": 0.0266722,
    "agree": 0.458675,
    "kind_fact": 0.499455,
    "typed": 0.481121,
    "typed_near": 0.493314,
    "coverage": 0.300844,
    "coverage_chunk": 0.327713,
    "lacking": 0.126565,
    "numbers_missing": 0.24913,
    "sentence_margin": 0.0506897,
    "same_script*fair": 0.0636384,
    "same_script*sentence_margin": 0.0543553,
    "same_script*relevance": 0.0797169,
    "same_script*margin": 0.0391955,
    "kind_fact*typed": 0.481121,
}
THRESHOLD = 0.2976
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
