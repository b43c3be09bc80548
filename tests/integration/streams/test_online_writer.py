"""The pusher's direct online write reads back exactly like Feast's own push (real Feast SQLite stores)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from feast.data_source import PushMode

from feature_repo.config import apply_definitions, open_store
from streams.online import PUSH_SOURCES, OnlineWriter, feature_frames

pytestmark = pytest.mark.integration

TS = pd.Timestamp(datetime(2025, 5, 1, 8, 0, tzinfo=UTC))
FRAMES = {
    "user_activity": pd.DataFrame(
        [
            {
                "user_id": "u1",
                "user_completion_rate_30d": 0.5,
                "user_preferred_hour": 9,
                "user_active_days_30d": 3,
                "user_tip_volume_7d": 2,
                "user_like_rate_30d": None,
                "user_open_tasks": 1,
                "user_completed_7d": 0,
                "user_category_tasks_30d": '{"work":1}',
                "user_tips_24h": 2,
                "user_category_due": '{"work":1}',
            },
            {
                "user_id": "u2",
                "user_completion_rate_30d": None,
                "user_preferred_hour": None,
                "user_active_days_30d": 0,
                "user_tip_volume_7d": 0,
                "user_like_rate_30d": 0.25,
                "user_open_tasks": 0,
                "user_completed_7d": 4,
                "user_category_tasks_30d": "{}",
                "user_tips_24h": 0,
                "user_category_due": "{}",
            },
        ]
    ),
    "tip_stats": pd.DataFrame(
        [
            {
                "tip_id": "t1",
                "tip_impressions": 10,
                "tip_positives": 3,
                "tip_like_rate_smoothed": 0.25,
                "tip_category": "work",
            }
        ]
    ),
    "user_category_affinity": pd.DataFrame(
        [
            {
                "user_id": "u1",
                "category": "home",
                "uc_impressions": 4,
                "uc_positives": 1,
                "uc_completions_30d": 2,
                "uc_affinity": 0.21,
            }
        ]
    ),
    "user_tasks": pd.DataFrame(
        [{"user_id": "u1", "open_tasks_json": '[{"task_id":"a","category":"work"}]', "recent_completed_json": "[]"}]
    ),
    "user_tip_exposure": pd.DataFrame(
        [
            {"user_id": "u1", "tip_id": "t1", "ut_shown_30d": 2, "ut_last_shown_at": 1746000000.5},
            {"user_id": "u2", "tip_id": "t1", "ut_shown_30d": 0, "ut_last_shown_at": None},
        ]
    ),
}
REFS = {
    "user_activity": (
        [{"user_id": "u1"}, {"user_id": "u2"}],
        [
            "user_preferred_hour",
            "user_like_rate_30d",
            "user_completion_rate_30d",
            "user_completed_7d",
            "user_tips_24h",
            "user_category_due",
        ],
    ),
    "tip_stats": ([{"tip_id": "t1"}], ["tip_impressions", "tip_like_rate_smoothed", "tip_category"]),
    "user_category_affinity": ([{"user_id": "u1", "category": "home"}], ["uc_affinity", "uc_completions_30d"]),
    "user_tasks": ([{"user_id": "u1"}], ["open_tasks_json", "recent_completed_json"]),
    "user_tip_exposure": (
        [{"user_id": "u1", "tip_id": "t1"}, {"user_id": "u2", "tip_id": "t1"}],
        ["ut_shown_30d", "ut_last_shown_at"],
    ),
}


def read_all(store: object) -> dict[str, dict[str, list[object]]]:
    out = {}
    for view, (rows, names) in REFS.items():
        got = store.get_online_features(features=[f"{view}:{n}" for n in names], entity_rows=rows)  # type: ignore[attr-defined]
        out[view] = got.to_dict()
    return out


def test_direct_write_equals_feast_push(tmp_path: Path) -> None:
    direct, pushed = open_store(tmp_path / "a"), open_store(tmp_path / "b")
    apply_definitions(direct)
    apply_definitions(pushed)
    rows = {view: df.to_dict("records") for view, df in FRAMES.items()}
    assert OnlineWriter(direct).write(rows, TS.to_pydatetime()) == 7
    for view, df in feature_frames(rows, TS.to_pydatetime()).items():
        pushed.push(PUSH_SOURCES[view], df, to=PushMode.ONLINE)
    got = read_all(direct)
    assert got == read_all(pushed)
    assert got["user_activity"]["user_preferred_hour"] == [9, None]
    assert got["user_category_affinity"]["uc_affinity"] == [0.21]
    assert got["user_tip_exposure"]["ut_shown_30d"] == [2, 0]
    assert got["user_tip_exposure"]["ut_last_shown_at"] == [1746000000.5, None]
