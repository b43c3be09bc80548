"""The batched SQLite online store writes exactly what Feast's stock SQLite store writes (real Feast stores)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from feast import FeatureStore
from feast.infra.online_stores.helpers import get_online_store_from_config
from feast.infra.online_stores.sqlite import SqliteOnlineStore, SqliteOnlineStoreConfig

from contracts.local_state import LocalState
from feature_repo.config import PROJECT, apply_definitions, open_store, repo_config
from feature_repo.online_store import BatchedSqliteOnlineStore

pytestmark = pytest.mark.integration

TS = datetime(2025, 5, 1, 8, 0, tzinfo=UTC)
LATER = TS + timedelta(hours=2)

PUSHES = [
    (
        "user_activity_push",
        pd.DataFrame(
            {
                "user_id": ["u1", "u2", "u3"],
                "user_completion_rate_30d": [0.5, None, 1.0],
                "user_preferred_hour": [9, None, 23],
                "user_active_days_30d": [3, 0, 30],
                "user_tip_volume_7d": [2, 0, 1],
                "user_like_rate_30d": [None, 0.25, 0.0],
                "user_open_tasks": [1, 0, 7],
                "user_completed_7d": [0, 4, 2],
                "user_category_tasks_30d": ['{"work":2}', "{}", None],
                "user_tips_24h": [1, 0, 4],
                "user_category_due": ['{"work":1}', "{}", None],
                "event_timestamp": [TS] * 3,
            }
        ),
    ),
    (
        "tip_stats_push",
        pd.DataFrame(
            {
                "tip_id": ["t1", "t2"],
                "tip_impressions": [10, 0],
                "tip_positives": [3, 0],
                "tip_like_rate_smoothed": [0.25, 0.2],
                "tip_category": ["work", ""],
                "event_timestamp": [TS] * 2,
            }
        ),
    ),
    (
        "user_category_affinity_push",
        pd.DataFrame(
            {
                "user_id": ["u1", "u1"],
                "category": ["home", "work"],
                "uc_impressions": [4, 1],
                "uc_positives": [1, 0],
                "uc_completions_30d": [2, 0],
                "uc_affinity": [0.21, 0.18],
                "event_timestamp": [TS] * 2,
            }
        ),
    ),
    (
        "user_tasks_push",
        pd.DataFrame(
            {
                "user_id": ["u1"],
                "open_tasks_json": ['[{"task_id":"a","category":"work","title":"Zoë\'s \\"plan\\""}]'],
                "recent_completed_json": ["[]"],
                "event_timestamp": [TS],
            }
        ),
    ),
    (  # an upsert over existing rows, with a later timestamp and values turning null
        "user_activity_push",
        pd.DataFrame(
            {
                "user_id": ["u1"],
                "user_completion_rate_30d": [None],
                "user_preferred_hour": [10],
                "user_active_days_30d": [4],
                "user_tip_volume_7d": [3],
                "user_like_rate_30d": [0.5],
                "user_open_tasks": [0],
                "user_completed_7d": [1],
                "user_category_tasks_30d": ['{"home":1,"work":2}'],
                "user_tips_24h": [2],
                "user_category_due": [None],
                "event_timestamp": [LATER],
            }
        ),
    ),
    (
        "user_tip_exposure_push",
        pd.DataFrame(
            {
                "user_id": ["u1", "u1", "u2"],
                "tip_id": ["t1", "t2", "t1"],
                "ut_shown_30d": [2, 1, 0],
                "ut_last_shown_at": [TS.timestamp() - 3600, TS.timestamp() - 7200, None],
                "event_timestamp": [TS] * 3,
            }
        ),
    ),
]
READS = {
    "user_activity": [{"user_id": u} for u in ("u1", "u2", "u3", "nobody")],
    "tip_stats": [{"tip_id": t} for t in ("t1", "t2", "nope")],
    "user_category_affinity": [{"user_id": "u1", "category": c} for c in ("home", "work", "health")],
    "user_tasks": [{"user_id": u} for u in ("u1", "u2")],
    "user_tip_exposure": [{"user_id": u, "tip_id": t} for u, t in (("u1", "t1"), ("u1", "t2"), ("u2", "t1"))],
}


def stock_store(root: Path) -> FeatureStore:
    """The same repo config, but with Feast's own SQLite online store."""
    config = repo_config(root)
    config.online_config = SqliteOnlineStoreConfig(path=str(LocalState(root.resolve()).feast_dir / "online.db"))
    return FeatureStore(config=config)


def table_rows(store: FeatureStore) -> dict[str, list[tuple[object, ...]]]:
    """Every stored row of every view (``created_ts`` is the write's wall clock, so it is left out)."""
    path = LocalState(Path(store.config.repo_path)).feast_dir / "online.db"
    with sqlite3.connect(path) as conn:
        return {
            view: conn.execute(
                f"SELECT entity_key, feature_name, value, value_text, event_ts FROM {PROJECT}_{view} ORDER BY 1, 2"
            ).fetchall()
            for view in READS
        }


def online_values(store: FeatureStore) -> dict[str, dict[str, list[object]]]:
    out = {}
    for view, rows in READS.items():
        names = [f.name for f in store.get_feature_view(view).features]
        out[view] = store.get_online_features(features=[f"{view}:{n}" for n in names], entity_rows=rows).to_dict()
    return out


def test_batched_store_writes_the_rows_and_values_of_the_stock_store(tmp_path: Path) -> None:
    batched, stock = open_store(tmp_path / "batched"), stock_store(tmp_path / "stock")
    assert type(get_online_store_from_config(batched.config.online_store)) is BatchedSqliteOnlineStore
    assert type(get_online_store_from_config(stock.config.online_store)) is SqliteOnlineStore
    for store in (batched, stock):
        apply_definitions(store)
        for source, df in PUSHES:
            store.push(source, df)

    rows = table_rows(batched)
    assert rows == table_rows(stock)
    assert len(rows["user_activity"]) == 3 * 10 and len(rows["user_category_affinity"]) == 2 * 4
    got = online_values(batched)
    assert got == online_values(stock)
    assert got["user_activity"]["user_preferred_hour"] == [10, None, 23, None]
    assert got["user_activity"]["user_completion_rate_30d"] == [None, None, 1.0, None]
    assert got["user_category_affinity"]["uc_affinity"] == [0.21, 0.18, None]
    assert got["user_tasks"]["open_tasks_json"][0].startswith('[{"task_id":"a"')


def test_stock_reader_reads_what_the_batched_store_wrote(tmp_path: Path) -> None:
    """A reader on Feast's own store (another process, another config) sees the batched writes unchanged."""
    batched = open_store(tmp_path)
    apply_definitions(batched)
    for source, df in PUSHES:
        batched.push(source, df)
    assert online_values(stock_store(tmp_path)) == online_values(batched)
