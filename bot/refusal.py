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
INTERCEPT = 0.983146
COEFFICIENTS: dict[str, float] = {
    "relevance": 0.227732,
    "fair": 0.735104,
    "dense": -0.0709199,
    "overlap": 0.871122,
    "same_script": -0.355285,
    "lexical": 0.0207497,
    "margin": -0.36658,
    "dense_margin": 0.626953,
    "agree": 0.267719,
    "kind_fact": -0.091664,
    "typed": -0.128224,
    "typed_near": 0.205075,
    "coverage": 1.12727,
    "coverage_chunk": -1.30559,
    "lacking": -0.256031,
    "numbers_missing": -0.493602,
    "sentence_margin": 1.56932,
    "same_script*fair": -2.2379,
    "same_script*sentence_margin": -0.966865,
    "same_script*relevance": 1.46267,
    "same_script*margin": -0.0420263,
    "kind_fact*typed": -0.128224,
}
MEANS: dict[str, float] = {
    "relevance": 0.116316,
    "fair": 0.0985698,
    "dense": 0.108512,
    "overlap": 0.289459,
    "same_script": 0.487703,
    "lexical": 8.57637,
    "margin": 0.0308154,
    "dense_margin": 0.0291687,
    "agree": 0.701125,
    "kind_fact": 0.476657,
    "typed": 0.365569,
    "typed_near": 0.420383,
    "coverage": 0.223408,
    "coverage_chunk": 0.25079,
    "lacking": 0.0104523,
    "numbers_missing": 0.0675281,
    "sentence_margin": 0.0428676,
    "same_script*fair": 0.0554106,
    "same_script*sentence_margin": 0.032106,
    "same_script*relevance": 0.0733104,
    "same_script*margin": 0.0206597,
    "kind_fact*typed": 0.365569,
}
SCALES: dict[str, float] = {
    "relevance": 0.0460075,
    "fair": 0.0354427,
    "dense": 0.0479444,
    "overlap": 0.310697,
    "same_script": 0.499849,
    "lexical": 9.88277,
    "margin": 0.030276,
    "dense_margin": 0.0276441,
    "agree": 0.457765,
    "kind_fact": 0.499455,
    "typed": 0.481589,
    "typed_near": 0.493621,
    "coverage": 0.297545,
    "coverage_chunk": 0.322551,
    "lacking": 0.0756915,
    "numbers_missing": 0.250934,
    "sentence_margin": 0.0457255,
    "same_script*fair": 0.0631803,
    "same_script*sentence_margin": 0.0495234,
    "same_script*relevance": 0.0797108,
    "same_script*margin": 0.0329078,
    "kind_fact*typed": 0.481589,
}
THRESHOLD = 0.2
FITTED = (
    "bench/fit_refusal.py --stores ar-1b,m1-1b,m2-1b,en-1b,news -"
    "-threshold 0.2: tuning half, 4798 questions"
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
