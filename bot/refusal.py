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
INTERCEPT = 1.04449
COEFFICIENTS: dict[str, float] = {
    "relevance": 0.220375,
    "fair": 0.724978,
    "dense": 0.0126467,
    "overlap": 0.768586,
    "same_script": -0.431073,
    "lexical": 0.0699027,
    "margin": -0.365,
    "dense_margin": 0.576724,
    "agree": 0.282104,
    "kind_fact": -0.11317,
    "typed": -0.124372,
    "typed_near": 0.2203,
    "coverage": 1.19144,
    "coverage_chunk": -1.32096,
    "lacking": -0.221923,
    "numbers_missing": -0.338256,
    "sentence_margin": 1.59099,
    "same_script*fair": -2.33656,
    "same_script*sentence_margin": -0.806727,
    "same_script*relevance": 1.59165,
    "same_script*margin": -0.105797,
    "kind_fact*typed": -0.124372,
}
MEANS: dict[str, float] = {
    "relevance": 0.116247,
    "fair": 0.0985233,
    "dense": 0.108434,
    "overlap": 0.289216,
    "same_script": 0.487286,
    "lexical": 8.56757,
    "margin": 0.0307825,
    "dense_margin": 0.0290983,
    "agree": 0.700709,
    "kind_fact": 0.476657,
    "typed": 0.365361,
    "typed_near": 0.420175,
    "coverage": 0.223183,
    "coverage_chunk": 0.250521,
    "lacking": 0.0103481,
    "numbers_missing": 0.0671113,
    "sentence_margin": 0.0428143,
    "same_script*fair": 0.0553624,
    "same_script*sentence_margin": 0.0320727,
    "same_script*relevance": 0.0732389,
    "same_script*margin": 0.0206436,
    "kind_fact*typed": 0.365361,
}
SCALES: dict[str, float] = {
    "relevance": 0.0460421,
    "fair": 0.0354804,
    "dense": 0.0479658,
    "overlap": 0.310649,
    "same_script": 0.499838,
    "lexical": 9.87868,
    "margin": 0.0303074,
    "dense_margin": 0.027751,
    "agree": 0.457948,
    "kind_fact": 0.499455,
    "typed": 0.481531,
    "typed_near": 0.493587,
    "coverage": 0.297469,
    "coverage_chunk": 0.32249,
    "lacking": 0.0753609,
    "numbers_missing": 0.250215,
    "sentence_margin": 0.045749,
    "same_script*fair": 0.0631753,
    "same_script*sentence_margin": 0.0495116,
    "same_script*relevance": 0.0796994,
    "same_script*margin": 0.0329072,
    "kind_fact*typed": 0.481531,
}
THRESHOLD = 0.3103
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
