"""Feast on the local default (SQLite online, Parquet offline, file registry): apply, push, read both ways."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from contracts.local_state import LocalState
from contracts.profile import PROFILE_FEATURES
from feature_repo.config import apply_definitions, feature_table_path, open_store
from feature_repo.features import MODEL_FEATURES

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)

ACTIVITY = {
    "user_completion_rate_30d": 0.25,
    "user_preferred_hour": 21,
    "user_active_days_30d": 4,
    "user_tip_volume_7d": 3,
    "user_like_rate_30d": 0.5,
    "user_open_tasks": 2,
    "user_completed_7d": 1,
    "user_category_tasks_30d": '{"home":1,"work":3}',
    "user_tips_24h": 2,
    "user_category_due": '{"work":1}',
}
TIP = {"tip_impressions": 40, "tip_positives": 10, "tip_like_rate_smoothed": 0.24, "tip_category": "work"}
AFFINITY = {"uc_impressions": 5, "uc_positives": 3, "uc_completions_30d": 2, "uc_affinity": 0.33}
EXPOSURE = {"ut_shown_30d": 2, "ut_last_shown_at": (NOW - timedelta(hours=30)).timestamp()}


def frame(keys: dict[str, str], values: dict[str, object], ts: datetime) -> pd.DataFrame:
    return pd.DataFrame([{**keys, **values, "event_timestamp": ts}])


def test_apply_is_idempotent_and_lands_under_the_state_root(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    apply_definitions(store)
    apply_definitions(open_store(tmp_path))
    state = LocalState(tmp_path.resolve())
    assert (state.feast_dir / "registry.db").exists()
    assert {fv.name for fv in store.list_feature_views()} == {
        "user_activity",
        "tip_stats",
        "user_category_affinity",
        "user_tasks",
        "user_tip_exposure",
    }
    assert [s.name for s in store.list_feature_services()] == ["tip_scoring"]
    assert feature_table_path(tmp_path, "tip_stats") == state.feature_tables_dir / "tip_stats.parquet"


def test_online_and_historical_retrieval_give_the_same_model_inputs(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    apply_definitions(store)
    ts = NOW - timedelta(minutes=5)
    keys_user, keys_tip, keys_uc = {"user_id": "u1"}, {"tip_id": "t1"}, {"user_id": "u1", "category": "work"}
    keys_ut = {"user_id": "u1", "tip_id": "t1"}
    store.push("user_activity_push", frame(keys_user, ACTIVITY, ts))
    store.push("tip_stats_push", frame(keys_tip, TIP, ts))
    store.push("user_category_affinity_push", frame(keys_uc, AFFINITY, ts))
    store.push("user_tip_exposure_push", frame(keys_ut, EXPOSURE, ts))
    for view, keys, values in (
        ("user_activity", keys_user, ACTIVITY),
        ("tip_stats", keys_tip, TIP),
        ("user_category_affinity", keys_uc, AFFINITY),
        ("user_tip_exposure", keys_ut, EXPOSURE),
    ):
        frame(keys, values, ts).to_parquet(feature_table_path(tmp_path, view))

    profile: dict[str, object] = {f.name: None for f in PROFILE_FEATURES}
    profile.update(completion_rate_30d=0.75, tenure_days=100, notifications_enabled=True)
    row = {"user_id": "u1", "tip_id": "t1", "category": "work", **profile, "request_time_s": NOW.timestamp()}
    service = store.get_feature_service("tip_scoring")
    online = store.get_online_features(features=service, entity_rows=[row]).to_dict()
    online_inputs = {name: online[name][0] for name in MODEL_FEATURES}
    assert online_inputs["completion_rate"] == 0.75
    assert online_inputs["hour_preferred"] == 21.0 and online_inputs["tenure"] == 100.0
    assert (online_inputs["tips_24h"], online_inputs["tip_seen_30d"], online_inputs["category_due_tasks"]) == (2, 2, 1)
    assert online_inputs["tip_hours_since"] == pytest.approx(30.0)

    entity_df = pd.DataFrame([{**row, "event_timestamp": NOW}])
    offline = store.get_historical_features(entity_df=entity_df, features=service).to_df()
    offline_inputs = {name: float(offline[name].iloc[0]) for name in MODEL_FEATURES}
    assert offline_inputs == pytest.approx(online_inputs)


def test_user_tasks_view_reads_back_json(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    apply_definitions(store)
    store.push(
        "user_tasks_push",
        frame(
            {"user_id": "u9"},
            {"open_tasks_json": '[{"task_id":"t","category":"work"}]', "recent_completed_json": "[]"},
            NOW,
        ),
    )
    got = store.get_online_features(
        features=["user_tasks:open_tasks_json", "user_tasks:recent_completed_json"],
        entity_rows=[{"user_id": "u9"}, {"user_id": "nobody"}],
    ).to_dict()
    assert got["open_tasks_json"] == ['[{"task_id":"t","category":"work"}]', None]
