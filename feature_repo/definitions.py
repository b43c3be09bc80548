"""Feast objects of tipsml: entities, sources, feature views, the on-demand view and the feature service.

Declarative only. Values are computed by :mod:`feature_repo.features` (consumers push them online; the
training pipeline writes the Parquet tables the file sources read). Source paths are relative to the
store's ``repo_path``, which :mod:`feature_repo.config` sets to the state root, so they land in
``LocalState(root).feature_tables_dir``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from feast import Entity, FeatureService, FeatureView, Field, FileSource, PushSource, RequestSource, ValueType
from feast.on_demand_feature_view import on_demand_feature_view
from feast.types import Bool, Float64, Int64, String

from contracts.profile import PROFILE_FEATURES
from feature_repo.names import (
    AFFINITY_DTYPES,
    FEATURE_SERVICE,
    MODEL_FEATURES,
    REQUEST_TIME_FIELD,
    TIP_STATS_DTYPES,
    TIP_STATS_VIEW,
    USER_ACTIVITY_DTYPES,
    USER_ACTIVITY_VIEW,
    USER_CATEGORY_AFFINITY_VIEW,
    USER_TASKS_DTYPES,
    USER_TASKS_VIEW,
    USER_TIP_EXPOSURE_DTYPES,
    USER_TIP_EXPOSURE_VIEW,
    push_source_name,
)

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
    return PushSource(name=push_source_name(view), batch_source=batch)


_DTYPES: Final[dict[str, Any]] = {"float": Float64, "int": Int64, "bool": Bool, "string": String}


def _schema(dtypes: Mapping[str, str]) -> list[Field]:
    """One field per feature of a view, named and typed by :mod:`feature_repo.names`, in its order."""
    return [Field(name=name, dtype=_DTYPES[dtype]) for name, dtype in dtypes.items()]


user_activity_push = _push_source(USER_ACTIVITY_VIEW)
tip_stats_push = _push_source(TIP_STATS_VIEW)
user_category_affinity_push = _push_source(USER_CATEGORY_AFFINITY_VIEW)
user_tasks_push = _push_source(USER_TASKS_VIEW)
user_tip_exposure_push = _push_source(USER_TIP_EXPOSURE_VIEW)

user_activity = FeatureView(
    name=USER_ACTIVITY_VIEW,
    entities=[user],
    ttl=timedelta(days=45),
    schema=_schema(USER_ACTIVITY_DTYPES),
    source=user_activity_push,
    online=True,
    description=(
        "Completion rate, preferred hour, active days, tip volume, like rate, tasks per category "
        "(7/30-day windows)."
    ),
)

tip_stats = FeatureView(
    name=TIP_STATS_VIEW,
    entities=[tip],
    ttl=timedelta(days=90),
    schema=_schema(TIP_STATS_DTYPES),
    source=tip_stats_push,
    online=True,
    description="All-time impressions and a like rate shrunk towards the population rate.",
)

user_category_affinity = FeatureView(
    name=USER_CATEGORY_AFFINITY_VIEW,
    entities=[user, category],
    ttl=timedelta(days=90),
    schema=_schema(AFFINITY_DTYPES),
    source=user_category_affinity_push,
    online=True,
    description="How a user responds to tips of a category and how much they complete in it.",
)

user_tasks = FeatureView(
    name=USER_TASKS_VIEW,
    entities=[user],
    ttl=timedelta(days=30),
    schema=_schema(USER_TASKS_DTYPES),
    source=user_tasks_push,
    online=True,
    description="Open and recent tasks for the generator's prompt context (schema: contracts.task_state).",
)

user_tip_exposure = FeatureView(
    name=USER_TIP_EXPOSURE_VIEW,
    entities=[user, tip],
    ttl=timedelta(days=30),
    schema=_schema(USER_TIP_EXPOSURE_DTYPES),
    source=user_tip_exposure_push,
    online=True,
    description="Times a tip was shown to a user in 30 days and when last: the repeat-exposure input.",
)

request_context = RequestSource(
    name="request_context",
    schema=[Field(name=REQUEST_TIME_FIELD, dtype=Float64)],
    description="When the scoring request was made (training: the impression's time).",
)

profile_features = RequestSource(
    name="profile_features",
    schema=[Field(name=f.name, dtype=_DTYPES[f.dtype]) for f in PROFILE_FEATURES],
    description="The recommender's profile_features, sent with every call (contracts.profile).",
)


@on_demand_feature_view(  # type: ignore[untyped-decorator]
    sources=[user_activity, tip_stats, user_category_affinity, user_tip_exposure, profile_features, request_context],
    schema=[Field(name=name, dtype=Float64) for name in MODEL_FEATURES],
    mode="python",
    description="Model inputs (feature_repo.names.MODEL_FEATURES), identical in training and serving.",
)
def scoring_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """Delegate to :func:`feature_repo.features.scoring.scoring_inputs_batch` (imported here: the UDF is pickled)."""
    from feature_repo.features.scoring import scoring_inputs_batch

    return dict(scoring_inputs_batch(inputs))


tip_scoring = FeatureService(
    name=FEATURE_SERVICE,
    features=[user_activity, tip_stats, user_category_affinity, user_tip_exposure, scoring_inputs],
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
    user_tip_exposure_push,
    user_activity,
    tip_stats,
    user_category_affinity,
    user_tasks,
    user_tip_exposure,
    request_context,
    profile_features,
    scoring_inputs,
    tip_scoring,
]
"""What ``apply`` registers (the same set ``feast apply`` finds in this folder)."""
