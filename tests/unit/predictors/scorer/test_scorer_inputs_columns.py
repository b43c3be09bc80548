"""The column-wise model inputs equal the one-row definition, value for value, on any mix of inputs."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.enums import TaskCategory
from feature_repo.features.scoring import scoring_inputs, scoring_inputs_batch, scoring_inputs_columns
from feature_repo.names import MODEL_FEATURES, REQUEST_TIME_FIELD

INPUT_NAMES = (
    "completion_rate_30d",
    "user_completion_rate_30d",
    "like_rate_30d",
    "user_like_rate_30d",
    "uc_affinity",
    "preferred_hour",
    "user_preferred_hour",
    "active_days_30d",
    "user_active_days_30d",
    "tip_volume_7d",
    "user_tip_volume_7d",
    "user_open_tasks",
    "user_completed_7d",
    "tip_impressions",
    "tip_like_rate_smoothed",
    "uc_completions_30d",
    "tenure_days",
    "streak_days",
    "notifications_enabled",
    "user_tips_24h",
    "ut_shown_30d",
    "ut_last_shown_at",
    REQUEST_TIME_FIELD,
    "user_category_tasks_30d",
    "user_category_due",
    "tip_category",
)
CATEGORIES = [c.value for c in TaskCategory]

values = st.one_of(
    st.none(),
    st.just(math.nan),
    st.booleans(),
    st.integers(-1000, 10**10),
    st.floats(-1e6, 2e9, allow_nan=False),
    st.sampled_from(["", "7", "not a number", *CATEGORIES]),
    st.dictionaries(st.sampled_from([*CATEGORIES, "other"]), st.integers(0, 9), max_size=4).map(
        lambda d: "{" + ",".join(f'"{k}":{v}' for k, v in d.items()) + "}"
    ),
)


def same(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= 1e-12 * max(1.0, abs(a))


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 25).flatmap(
        lambda n: st.fixed_dictionaries({k: st.lists(values, min_size=n, max_size=n) for k in INPUT_NAMES})
    )
)
def test_columns_equal_the_row_definition(columns: dict[str, list[object]]) -> None:
    n = len(columns[INPUT_NAMES[0]])
    got = scoring_inputs_columns(columns)
    assert list(got) == list(MODEL_FEATURES)
    for i in range(n):
        row = scoring_inputs({k: v[i] for k, v in columns.items()})
        for name in MODEL_FEATURES:
            assert same(row[name], float(got[name][i])), (name, i, row[name], got[name][i])


def test_short_and_absent_columns_read_as_missing_and_feast_gets_lists() -> None:
    columns: dict[str, list[object]] = {"tip_impressions": [3, 4, 5], "tenure_days": [10]}
    got = scoring_inputs_columns(columns)
    assert got["tenure"].tolist() == [10.0, 0.0, 0.0]
    assert got["completion_rate"].tolist() == [0.5, 0.5, 0.5]
    batch = scoring_inputs_batch(columns)
    assert all(type(v) is list and all(type(x) is float for x in v) for v in batch.values())
    assert batch["tip_impressions_log"] == [math.log1p(3), math.log1p(4), math.log1p(5)]


def test_numeric_arrays_are_taken_as_they_are() -> None:
    got = scoring_inputs_columns({"tip_impressions": np.array([0, 9]), "uc_affinity": np.array([0.3, np.nan])})
    assert got["tip_impressions_log"].tolist() == [0.0, math.log1p(9)]
    assert got["affinity"].tolist() == [0.3, 0.2]
