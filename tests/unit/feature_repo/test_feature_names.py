"""The names of :mod:`feature_repo.names` are the ones the Feast objects declare and the feature functions fill."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.enums import TaskCategory
from feature_repo import definitions
from feature_repo.features import category_affinity, task_views, tip_stats, user_activity, user_tip_exposure
from feature_repo.names import (
    AFFINITY_FEATURES,
    FEATURE_SERVICE,
    MODEL_FEATURES,
    PUSHED_VIEWS,
    TIP_STATS_FEATURES,
    USER_ACTIVITY_FEATURES,
    USER_TASKS_FEATURES,
    USER_TIP_EXPOSURE_FEATURES,
    push_source_name,
)

NOW = datetime(2025, 3, 31, 12, 0, tzinfo=UTC)
VIEW_FEATURES = {
    definitions.user_activity: USER_ACTIVITY_FEATURES,
    definitions.tip_stats: TIP_STATS_FEATURES,
    definitions.user_category_affinity: AFFINITY_FEATURES,
    definitions.user_tasks: USER_TASKS_FEATURES,
    definitions.user_tip_exposure: USER_TIP_EXPOSURE_FEATURES,
}


def test_each_view_declares_exactly_its_feature_names_in_order() -> None:
    for view, names in VIEW_FEATURES.items():
        assert tuple(f.name for f in view.features) == names, view.name


def test_every_pushed_view_has_its_push_source_and_the_service_its_name() -> None:
    assert {v.name for v in VIEW_FEATURES} == set(PUSHED_VIEWS)
    pushes = {o.name for o in definitions.ALL_OBJECTS if type(o).__name__ == "PushSource"}
    assert pushes == {push_source_name(v) for v in PUSHED_VIEWS}
    assert definitions.tip_scoring.name == FEATURE_SERVICE
    assert tuple(f.name for f in definitions.scoring_inputs.features) == MODEL_FEATURES


def test_the_feature_functions_fill_exactly_the_declared_names() -> None:
    assert tuple(user_activity([], [], [], NOW)) == USER_ACTIVITY_FEATURES
    assert tuple(tip_stats(3, 1, TaskCategory.HEALTH)) == TIP_STATS_FEATURES
    assert tuple(category_affinity(3, 1, 2)) == AFFINITY_FEATURES
    assert tuple(task_views([], NOW)) == USER_TASKS_FEATURES
    assert tuple(user_tip_exposure([], "t", NOW)) == USER_TIP_EXPOSURE_FEATURES
