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
INTERCEPT = 10.0
COEFFICIENTS: dict[str, float] = {}
MEANS: dict[str, float] = {}
SCALES: dict[str, float] = {}
THRESHOLD = 0.0
FITTED = "not fitted yet: every question above the relevance floor is answered"
# --- end fitted ------------------------------------------------------------------------------


def confidence(features: Mapping[str, float]) -> float:
    """The fitted probability that the articles answer the question."""
    z = INTERCEPT
    for name, weight in COEFFICIENTS.items():
        x = (features.get(name, 0.0) - MEANS.get(name, 0.0)) / (SCALES.get(name) or 1.0)
        z += weight * x
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))
