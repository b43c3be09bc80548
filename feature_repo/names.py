"""Names of the feature repo that the consumers, the training pipeline and both predictors share: one owner each.

Feature views, their push sources, the feature service and every feature a view holds are spelled here once;
:mod:`feature_repo.definitions` declares the Feast objects from these names and the callers import them, so
a renamed view or feature breaks at import, not with an empty online read. The ``user_tasks`` view and its
two fields belong to :mod:`contracts.task_state`, whose JSON schema they carry; they are re-exported here.
"""

from __future__ import annotations

from typing import Final

from contracts.task_state import OPEN_TASKS_FIELD, RECENT_COMPLETED_FIELD, USER_TASKS_VIEW

__all__ = [
    "AFFINITY_FEATURES",
    "FEATURE_SERVICE",
    "MODEL_FEATURES",
    "PUSHED_VIEWS",
    "TIP_STATS_FEATURES",
    "TIP_STATS_VIEW",
    "USER_ACTIVITY_FEATURES",
    "USER_ACTIVITY_VIEW",
    "USER_CATEGORY_AFFINITY_VIEW",
    "USER_TASKS_FEATURES",
    "USER_TASKS_VIEW",
    "push_source_name",
]

FEATURE_SERVICE: Final = "tip_scoring"
"""Everything the tip-scorer model reads; training and serving retrieve it alike."""

USER_ACTIVITY_VIEW: Final = "user_activity"
TIP_STATS_VIEW: Final = "tip_stats"
USER_CATEGORY_AFFINITY_VIEW: Final = "user_category_affinity"

PUSHED_VIEWS: Final = (USER_ACTIVITY_VIEW, TIP_STATS_VIEW, USER_CATEGORY_AFFINITY_VIEW, USER_TASKS_VIEW)
"""Every view the stream consumers push online (each has a push source, :func:`push_source_name`)."""


def push_source_name(view: str) -> str:
    """Name of the push source that feeds ``view``."""
    return f"{view}_push"


USER_ACTIVITY_FEATURES: Final = (
    "user_completion_rate_30d",
    "user_preferred_hour",
    "user_active_days_30d",
    "user_tip_volume_7d",
    "user_like_rate_30d",
    "user_open_tasks",
    "user_completed_7d",
    "user_category_tasks_30d",
)
TIP_STATS_FEATURES: Final = ("tip_impressions", "tip_positives", "tip_like_rate_smoothed", "tip_category")
AFFINITY_FEATURES: Final = ("uc_impressions", "uc_positives", "uc_completions_30d", "uc_affinity")
USER_TASKS_FEATURES: Final = (OPEN_TASKS_FIELD, RECENT_COMPLETED_FIELD)

MODEL_FEATURES: Final[tuple[str, ...]] = (
    "completion_rate",
    "like_rate",
    "hour_preferred",
    "active_days",
    "tips_7d",
    "open_tasks",
    "completed_7d",
    "tip_impressions_log",
    "tip_like_rate",
    "affinity",
    "affinity_lift",
    "category_completions_30d",
    "tenure",
    "streak",
    "notifications_on",
    "tasks_30d",
    "category_task_lift",
)
"""Ordered model input columns: the outputs of the ``scoring_inputs`` on-demand view (all Float64)."""
