"""Feast objects of tipsml: entities, sources, feature views, the on-demand view and the feature service.

Declarative only. Values are computed by :mod:`feature_repo.features` (consumers push them online; the
training pipeline writes the Parquet tables the file sources read). Source paths are relative to the
store's ``repo_path``, which :mod:`feature_repo.config` sets to the state root, so they land in
``LocalState(root).feature_tables_dir``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from feast import Entity, FeatureService, FeatureView, Field, FileSource, PushSource, RequestSource, ValueType
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Bool, Float64, Int64, String

from contracts.profile import PROFILE_FEATURES
from feature_repo.features import MODEL_FEATURES

TIMESTAMP_FIELD: Final = "event_timestamp"
FEATURE_TABLES_SUBDIR: Final = "features"

user = Entity(
    name="user",
    join_keys=["user_id"],
    value_type=ValueType.STRING,
    description="A person using the task app.",
)
tip = Entity(
    name="tip",
    join_keys=["tip_id"],
    value_type=ValueType.STRING,
    description="A tip from the catalogue or written by the generator.",
)
category = Entity(
    name="category",
    join_keys=["category"],
    value_type=ValueType.STRING,
    description="A task/tip category (contracts.enums.TaskCategory); pairs with user for affinity.",
)


def _push_source(view: str) -> PushSource:
    batch = FileSource(
        name=f"{view}_table", path=f"{FEATURE_TABLES_SUBDIR}/{view}.parquet", timestamp_field=TIMESTAMP_FIELD
    )
    return PushSource(name=f"{view}_push", batch_source=batch)


user_activity_push = _push_source("user_activity")
tip_stats_push = _push_source("tip_stats")
user_category_affinity_push = _push_source("user_category_affinity")
user_tasks_push = _push_source("user_tasks")

user_activity = FeatureView(
    name="user_activity",
    entities=[user],
    ttl=timedelta(days=45),
    schema=[
        Field(name="user_completion_rate_30d", dtype=Float64),
        Field(name="user_preferred_hour", dtype=Int64),
        Field(name="user_active_days_30d", dtype=Int64),
        Field(name="user_tip_volume_7d", dtype=Int64),
        Field(name="user_like_rate_30d", dtype=Float64),
        Field(name="user_open_tasks", dtype=Int64),
        Field(name="user_completed_7d", dtype=Int64),
        Field(name="user_category_tasks_30d", dtype=String),
    ],
    source=user_activity_push,
    online=True,
    description=(
        "Completion rate, preferred hour, active days, tip volume, like rate, tasks per category "
        "(7/30-day windows)."
    ),
)

tip_stats = FeatureView(
    name="tip_stats",
    entities=[tip],
    ttl=timedelta(days=90),
    schema=[
        Field(name="tip_impressions", dtype=Int64),
        Field(name="tip_positives", dtype=Int64),
        Field(name="tip_like_rate_smoothed", dtype=Float64),
        Field(name="tip_category", dtype=String),
    ],
    source=tip_stats_push,
    online=True,
    description="All-time impressions and a like rate shrunk towards the population rate.",
)

user_category_affinity = FeatureView(
    name="user_category_affinity",
    entities=[user, category],
    ttl=timedelta(days=90),
    schema=[
        Field(name="uc_impressions", dtype=Int64),
        Field(name="uc_positives", dtype=Int64),
        Field(name="uc_completions_30d", dtype=Int64),
        Field(name="uc_affinity", dtype=Float64),
    ],
    source=user_category_affinity_push,
    online=True,
    description="How a user responds to tips of a category and how much they complete in it.",
)

user_tasks = FeatureView(
    name="user_tasks",
    entities=[user],
    ttl=timedelta(days=30),
    schema=[
        Field(name="open_tasks_json", dtype=String),
        Field(name="recent_completed_json", dtype=String),
    ],
    source=user_tasks_push,
    online=True,
    description="Open and recent tasks for the generator's prompt context (schema: contracts.task_state).",
)

_DTYPES: Final[dict[str, Any]] = {"float": Float64, "int": Int64, "bool": Bool, "string": String}

profile_features = RequestSource(
    name="profile_features",
    schema=[Field(name=f.name, dtype=_DTYPES[f.dtype]) for f in PROFILE_FEATURES],
    description="The recommender's profile_features, sent with every call (contracts.profile).",
)


@on_demand_feature_view(  # type: ignore[untyped-decorator]
    sources=[user_activity, tip_stats, user_category_affinity, profile_features],
    schema=[Field(name=name, dtype=Float64) for name in MODEL_FEATURES],
    mode="python",
    description="Model inputs (feature_repo.features.MODEL_FEATURES), identical in training and serving.",
)
def scoring_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """Delegate to :func:`feature_repo.features.scoring_inputs_batch` (imported here: the UDF is pickled)."""
    from feature_repo.features import scoring_inputs_batch

    return dict(scoring_inputs_batch(inputs))


tip_scoring = FeatureService(
    name="tip_scoring",
    features=[user_activity, tip_stats, user_category_affinity, scoring_inputs],
    description="Everything the tip-scorer model reads; used by training and serving alike.",
)

ALL_OBJECTS: Final[list[Any]] = [
    user,
    tip,
    category,
    user_activity_push,
    tip_stats_push,
    user_category_affinity_push,
    user_tasks_push,
    user_activity,
    tip_stats,
    user_category_affinity,
    user_tasks,
    profile_features,
    scoring_inputs,
    tip_scoring,
]
"""What ``apply`` registers (the same set ``feast apply`` finds in this folder)."""
