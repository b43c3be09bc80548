"""The batched SQLite online store writes and reads exactly what Feast's stock SQLite store does (real Feast stores)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from feast import FeatureStore
from feast.infra.online_stores.helpers import get_online_store_from_config
from feast.infra.online_stores.sqlite import SqliteOnlineStore
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto

from contracts.local_state import LocalState
from feature_repo.config import PROJECT, apply_definitions, open_store
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


def test_batched_store_writes_the_rows_and_values_of_the_stock_store(
    tmp_path: Path, open_stock_store: Callable[[Path], FeatureStore]
) -> None:
    batched, stock = open_store(tmp_path / "batched"), open_stock_store(tmp_path / "stock")
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


def pushed(root: Path) -> FeatureStore:
    """The project's store at ``root`` with every push of ``PUSHES`` written."""
    store = open_store(root)
    apply_definitions(store)
    for source, df in PUSHES:
        store.push(source, df)
    return store


def test_stock_reader_reads_what_the_batched_store_wrote(
    tmp_path: Path, open_stock_store: Callable[[Path], FeatureStore]
) -> None:
    """A reader on Feast's own store (another process, another config) sees the batched writes unchanged."""
    batched = pushed(tmp_path)
    assert online_values(open_stock_store(tmp_path)) == online_values(batched)


def entity_keys(rows: list[dict[str, str]]) -> list[EntityKeyProto]:
    return [
        EntityKeyProto(join_keys=list(row), entity_values=[ValueProto(string_val=v) for v in row.values()])
        for row in rows
    ]


def test_online_read_returns_what_the_stock_read_returns(
    tmp_path: Path, open_stock_store: Callable[[Path], FeatureStore]
) -> None:
    """Per key the same timestamp and values, None for a key without rows; the string-key read the same values."""
    batched = pushed(tmp_path)
    ours, stock = BatchedSqliteOnlineStore(), SqliteOnlineStore()
    config, stock_config = batched.config, open_stock_store(tmp_path).config
    for view, rows in READS.items():
        table = batched.get_feature_view(view)
        keys = [*entity_keys(rows), *entity_keys(rows[:1])]  # a key asked twice is answered twice
        got = ours.online_read(config, table, keys)
        assert got == stock.online_read(stock_config, table, keys), view
        assert got[-1] == got[0] and got[0][0] is not None and got[0][0].tzinfo is not None
        join_keys = list(rows[0])
        strings = ours.read_string_keys(config, table, join_keys, [list(r.values()) for r in rows])
        assert strings == [values for _, values in got[: len(rows)]], view
    activity = ours.online_read(config, batched.get_feature_view("user_activity"), entity_keys(READS["user_activity"]))
    stamps = [stamp for stamp, _ in activity]
    assert stamps[3] is None and stamps[1] == stamps[2]
    assert stamps[0] is not None and stamps[1] is not None and stamps[0] - stamps[1] == LATER - TS  # u1's upsert
    assert ours.online_read(config, batched.get_feature_view("tip_stats"), []) == []
