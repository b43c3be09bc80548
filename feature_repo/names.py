"""Names of the feature repo that the consumers, the training pipeline and both predictors share: one owner each.

Feature views, their push sources, the feature service and every feature a view holds are spelled here once;
:mod:`feature_repo.definitions` declares the Feast objects from these names and the callers import them, so
a renamed view or feature breaks at import, not with an empty online read. The ``user_tasks`` view and its
two fields belong to :mod:`contracts.task_state`, whose JSON schema they carry; they are re-exported here.
"""

from __future__ import annotations

from typing import Final, Literal

from contracts.task_state import OPEN_TASKS_FIELD, RECENT_COMPLETED_FIELD, USER_TASKS_VIEW

__all__ = [
    "AFFINITY_DTYPES",
    "AFFINITY_FEATURES",
    "BATCH_VIEW_DTYPES",
    "FEATURE_SERVICE",
    "MODEL_FEATURES",
    "PUSHED_VIEWS",
    "TIP_STATS_DTYPES",
    "TIP_STATS_FEATURES",
    "TIP_STATS_VIEW",
    "USER_ACTIVITY_DTYPES",
    "USER_ACTIVITY_FEATURES",
    "USER_ACTIVITY_VIEW",
    "USER_CATEGORY_AFFINITY_VIEW",
    "USER_TASKS_DTYPES",
    "USER_TASKS_FEATURES",
    "USER_TASKS_VIEW",
    "USER_TIP_EXPOSURE_DTYPES",
    "USER_TIP_EXPOSURE_FEATURES",
    "USER_TIP_EXPOSURE_VIEW",
    "REQUEST_TIME_FIELD",
    "FeatureDtype",
    "push_source_name",
]

FEATURE_SERVICE: Final = "tip_scoring"
"""Everything the tip-scorer model reads; training and serving retrieve it alike."""

USER_ACTIVITY_VIEW: Final = "user_activity"
TIP_STATS_VIEW: Final = "tip_stats"
USER_CATEGORY_AFFINITY_VIEW: Final = "user_category_affinity"
USER_TIP_EXPOSURE_VIEW: Final = "user_tip_exposure"

PUSHED_VIEWS: Final = (
    USER_ACTIVITY_VIEW,
    TIP_STATS_VIEW,
    USER_CATEGORY_AFFINITY_VIEW,
    USER_TASKS_VIEW,
    USER_TIP_EXPOSURE_VIEW,
)
"""Every view the stream consumers push online (each has a push source, :func:`push_source_name`)."""


def push_source_name(view: str) -> str:
    """Name of the push source that feeds ``view``."""
    return f"{view}_push"


FeatureDtype = Literal["float", "int", "string"]
"""A stored feature's type, Feast-free: the definitions map it to Feast's, the batch tables to pandas'."""

USER_ACTIVITY_DTYPES: Final[dict[str, FeatureDtype]] = {
    "user_completion_rate_30d": "float",
    "user_preferred_hour": "int",
    "user_active_days_30d": "int",
    "user_tip_volume_7d": "int",
    "user_like_rate_30d": "float",
    "user_open_tasks": "int",
    "user_completed_7d": "int",
    "user_category_tasks_30d": "string",
    "user_tips_24h": "int",
    "user_category_due": "string",
}
TIP_STATS_DTYPES: Final[dict[str, FeatureDtype]] = {
    "tip_impressions": "int",
    "tip_positives": "int",
    "tip_like_rate_smoothed": "float",
    "tip_category": "string",
}
AFFINITY_DTYPES: Final[dict[str, FeatureDtype]] = {
    "uc_impressions": "int",
    "uc_positives": "int",
    "uc_completions_30d": "int",
    "uc_affinity": "float",
}
USER_TASKS_DTYPES: Final[dict[str, FeatureDtype]] = {OPEN_TASKS_FIELD: "string", RECENT_COMPLETED_FIELD: "string"}
USER_TIP_EXPOSURE_DTYPES: Final[dict[str, FeatureDtype]] = {
    "ut_shown_30d": "int",
    "ut_last_shown_at": "float",
}
"""How often one tip was shown to one user in 30 days, and when last (epoch seconds)."""

REQUEST_TIME_FIELD: Final = "request_time_s"
"""Epoch seconds of the scoring request (serving: the clock; training: the impression's time), so inputs
such as hours since a tip was last shown are computed against the same instant on both sides."""

USER_ACTIVITY_FEATURES: Final = tuple(USER_ACTIVITY_DTYPES)
TIP_STATS_FEATURES: Final = tuple(TIP_STATS_DTYPES)
AFFINITY_FEATURES: Final = tuple(AFFINITY_DTYPES)
USER_TASKS_FEATURES: Final = tuple(USER_TASKS_DTYPES)
USER_TIP_EXPOSURE_FEATURES: Final = tuple(USER_TIP_EXPOSURE_DTYPES)

BATCH_VIEW_DTYPES: Final[dict[str, dict[str, FeatureDtype]]] = {
    USER_ACTIVITY_VIEW: USER_ACTIVITY_DTYPES,
    TIP_STATS_VIEW: TIP_STATS_DTYPES,
    USER_CATEGORY_AFFINITY_VIEW: AFFINITY_DTYPES,
    USER_TIP_EXPOSURE_VIEW: USER_TIP_EXPOSURE_DTYPES,
}
"""The views the training pipeline writes offline tables for (``user_tasks`` is online only)."""

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
    "tips_24h",
    "tip_seen_30d",
    "tip_hours_since",
    "category_due_tasks",
)
"""Ordered model input columns: the outputs of the ``scoring_inputs`` on-demand view (all Float64)."""
