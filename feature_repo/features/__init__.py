"""How every feature value is computed, once, for both the streaming consumers and the batch pipeline.

The consumers keep per-user state (tasks, app-open counts, the reward log) and, after each batch, call these
functions for the users and tips the batch touched; the training pipeline folds the offline event log into the
same records (:class:`ActivityReplay`) and calls the same functions at each point in time. One implementation,
so training and serving see identical values.

Everything here is pure: no I/O, no clock (``as_of`` is always passed in). One module per concern:
:mod:`~feature_repo.features.records` (what is kept), :mod:`~feature_repo.features.tasks` (how task events
fold), :mod:`~feature_repo.features.views` (each view's values), :mod:`~feature_repo.features.scoring` (the
model inputs) and :mod:`~feature_repo.features.replay` (the batch side). This package re-exports their public
names, and the names of :mod:`feature_repo.names` the model needs, for callers that want the whole API.
"""

from __future__ import annotations

from feature_repo.features.records import OpenCount, ShownTip, TaskRecord, local_hour, utc_day
from feature_repo.features.replay import ActivityReplay
from feature_repo.features.scoring import category_task_lift, scoring_inputs, scoring_inputs_batch
from feature_repo.features.tasks import apply_task_event
from feature_repo.features.views import (
    PRIOR_LIKE_RATE,
    category_affinity,
    category_completions,
    decode_category_counts,
    encode_category_counts,
    smoothed_rate,
    task_views,
    tip_stats,
    user_activity,
    user_tip_exposure,
)
from feature_repo.names import MODEL_FEATURES

__all__ = [
    "MODEL_FEATURES",
    "PRIOR_LIKE_RATE",
    "ActivityReplay",
    "OpenCount",
    "ShownTip",
    "TaskRecord",
    "apply_task_event",
    "category_affinity",
    "category_completions",
    "category_task_lift",
    "decode_category_counts",
    "encode_category_counts",
    "local_hour",
    "scoring_inputs",
    "scoring_inputs_batch",
    "smoothed_rate",
    "task_views",
    "tip_stats",
    "user_activity",
    "user_tip_exposure",
    "utc_day",
]
