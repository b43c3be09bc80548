"""Names of the Prometheus metrics the scorer exposes and the rollout gates read.

The scorer (champion, canary or shadow) exports these on ``/metrics``; the operator's metrics providers
query them (through Prometheus in a cluster, by scraping locally). Every series carries the labels
``model_version`` and ``role`` (:data:`ROLES`). Keeping the names here means a rename breaks both sides'
tests instead of silently starving a gate of samples.
"""

from __future__ import annotations

from typing import Final

REQUESTS_TOTAL: Final = "tipsml_scorer_requests_total"
"""Counter: scoring requests handled."""
ERRORS_TOTAL: Final = "tipsml_scorer_errors_total"
"""Counter: requests answered with a 5xx (bad input, a 4xx, is the caller's error and not counted)."""
LATENCY_SECONDS: Final = "tipsml_scorer_latency_seconds"
"""Histogram: end-to-end predict latency."""
SCORE: Final = "tipsml_scorer_score"
"""Histogram: every score returned (buckets :data:`SCORE_BUCKETS`), for population stability (PSI)."""
RANK_AGREEMENT: Final = "tipsml_scorer_rank_agreement"
"""Summary (shadow only): Kendall tau between the shadow's and the champion's ranking of one request."""

UNKNOWN_PROFILE_FEATURES_TOTAL: Final = "tipsml_scorer_unknown_profile_features_total"
"""Counter: ``profile_features`` names sent that this side does not know (ignored, not a 400): a recommender
newer than ``contracts.profile``. Not a gate input; a dashboard's hint to mirror the new names."""

LABEL_MODEL_VERSION: Final = "model_version"
LABEL_ROLE: Final = "role"
LABEL_NAMESPACE: Final = "namespace"
"""Not set by our processes: the scrape adds it (the Pod's namespace); rollout gates match on it."""
ROLES: Final = ("champion", "canary", "shadow")

SCORE_BUCKETS: Final = tuple(round(i / 10, 1) for i in range(1, 10)) + (float("inf"),)
"""Upper bounds of the score histogram; scores are probabilities in [0, 1]."""

REWARDS_SHOWN_TOTAL: Final = "tipsml_rewards_shown_total"
"""Counter (feedback consumers): tips shown, once per impression ``(request_id, tip_id)``, labelled
``model_version`` and ``prompt_version`` (``""`` for a tip no prompt wrote); the canary gate's denominator."""
REWARDS_POSITIVE_TOTAL: Final = "tipsml_rewards_positive_total"
"""Counter (feedback consumers): impressions joined with a positive reaction (either may arrive first), once
each, same labels as :data:`REWARDS_SHOWN_TOTAL`."""
LABEL_PROMPT_VERSION: Final = "prompt_version"

SHADOW_UNPAIRED_TOTAL: Final = "tipsml_scorer_shadow_unpaired_total"
"""Counter (shadow only): mirrored events that gave no :data:`RANK_AGREEMENT` sample, by ``reason``:
``expired`` (its other half never came within the pairing window or cap), ``mismatch`` (request and response
differ in instances), ``undefined`` (an instance whose rankings share fewer than two tips or tie them all)."""
LABEL_REASON: Final = "reason"
