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
INTERCEPT = 1.01735
COEFFICIENTS: dict[str, float] = {
    "relevance": 0.72697,
    "fair": 0.587514,
    "dense": -0.242189,
    "overlap": 0.881295,
    "same_script": -0.534484,
    "lexical": -0.0469734,
    "margin": -0.420092,
    "dense_margin": 0.552527,
    "agree": 0.314338,
    "kind_fact": -0.0871295,
    "typed": -0.175459,
    "typed_near": 0.265007,
    "coverage": 0.835685,
    "coverage_chunk": -0.629862,
    "lacking": 0.0880324,
    "numbers_missing": -0.437329,
    "sentence_margin": 1.59625,
    "same_script*fair": -1.35938,
    "same_script*sentence_margin": -0.705104,
    "same_script*relevance": 0.544403,
    "same_script*margin": -0.588328,
    "kind_fact*typed": -0.175459,
}
MEANS: dict[str, float] = {
    "relevance": 0.116799,
    "fair": 0.0975609,
    "dense": 0.109086,
    "overlap": 0.291974,
    "same_script": 0.489787,
    "lexical": 8.64753,
    "margin": 0.0348084,
    "dense_margin": 0.0288181,
    "agree": 0.698208,
    "kind_fact": 0.476657,
    "typed": 0.364527,
    "typed_near": 0.418299,
    "coverage": 0.231043,
    "coverage_chunk": 0.261568,
    "lacking": 0.0222106,
    "numbers_missing": 0.0662776,
    "sentence_margin": 0.0468468,
    "same_script*fair": 0.0548041,
    "same_script*sentence_margin": 0.035004,
    "same_script*relevance": 0.0737537,
    "same_script*margin": 0.0237604,
    "kind_fact*typed": 0.364527,
}
SCALES: dict[str, float] = {
    "relevance": 0.0456352,
    "fair": 0.0376183,
    "dense": 0.0475181,
    "overlap": 0.310121,
    "same_script": 0.499896,
    "lexical": 9.85492,
    "margin": 0.0375646,
    "dense_margin": 0.0268688,
    "agree": 0.459036,
    "kind_fact": 0.499455,
    "typed": 0.481297,
    "typed_near": 0.49328,
    "coverage": 0.300819,
    "coverage_chunk": 0.327676,
    "lacking": 0.126454,
    "numbers_missing": 0.248767,
    "sentence_margin": 0.051187,
    "same_script*fair": 0.0636312,
    "same_script*sentence_margin": 0.0548108,
    "same_script*relevance": 0.0797038,
    "same_script*margin": 0.0398059,
    "kind_fact*typed": 0.481297,
}
THRESHOLD = 0.28
FITTED = (
    "bench/fit_refusal.py --stores ar-1b,m1-1b,m2-1b,en-1b,news -"
    "-threshold 0.28: tuning half, 4798 questions"
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
