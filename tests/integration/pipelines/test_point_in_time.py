"""Point-in-time correctness: nothing computed from events after an impression reaches its training row."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from contracts.enums import Platform, Reaction, TaskCategory, TaskStatus
from contracts.events import AppOpened, EventBase, TaskCompleted, TaskSynced, TipReaction, TipShown, dump_event
from contracts.profile import ProfileFeatures
from feature_repo.config import feature_table_path
from feature_repo.features import MODEL_FEATURES, PRIOR_LIKE_RATE, category_task_lift
from feature_repo.features.scoring import NEVER_SHOWN_HOURS
from pipelines.steps import feature_store
from pipelines.steps.events import load_events
from pipelines.steps.feature_tables import build_feature_tables
from pipelines.steps.training_set import label_impressions

pytestmark = pytest.mark.integration

T0 = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
ENGINES = ("feast", "duckdb")


def _write_log(path: Path, events: list[EventBase]) -> Path:
    path.write_bytes(b"\n".join(dump_event(e) for e in events) + b"\n")
    return path


def _story() -> list[EventBase]:
    """u1 sees t1 (liked a minute later), completes work tasks, then sees t1 again an hour later.

    Before the second impression u1 also opens a work task due an hour after it; just after it, another one.
    The second impression carries the recommender's profile snapshot (tenure 5 days), the first none.
    """
    n = iter(range(1000))

    def eid() -> str:
        return f"e{next(n)}"

    def shown(at: datetime, req: str, user: str = "u1", profile: ProfileFeatures | None = None) -> TipShown:
        return TipShown(
            event_id=eid(),
            occurred_at=at,
            user_id=user,
            request_id=req,
            tip_id="t1",
            category=TaskCategory.WORK,
            model_version="m0",
            platform=Platform.IOS,
            profile_features=profile,
        )

    def due_task(at: datetime, task_id: str) -> TaskSynced:
        return TaskSynced(
            event_id=eid(),
            occurred_at=at,
            user_id="u1",
            task_id=task_id,
            status=TaskStatus.OPEN,
            category=TaskCategory.WORK,
            due_at=T0 + timedelta(hours=2),
        )

    def liked(at: datetime, req: str, user: str = "u1") -> TipReaction:
        return TipReaction(
            event_id=eid(), occurred_at=at, user_id=user, request_id=req, tip_id="t1", reaction=Reaction.LIKED
        )

    late = T0 + timedelta(minutes=30)
    return [
        AppOpened(event_id=eid(), occurred_at=T0 - timedelta(days=3), user_id="u1", platform=Platform.IOS),
        AppOpened(event_id=eid(), occurred_at=T0 - timedelta(minutes=1), user_id="u1", platform=Platform.IOS),
        AppOpened(event_id=eid(), occurred_at=T0 - timedelta(minutes=1), user_id="u2", platform=Platform.WEB),
        shown(T0, "r1"),
        liked(T0 + timedelta(minutes=1), "r1"),
        shown(T0 + timedelta(minutes=2), "r9", user="u2"),
        liked(T0 + timedelta(minutes=3), "r9", user="u2"),
        TaskSynced(
            event_id=eid(),
            occurred_at=late,
            user_id="u1",
            task_id="k1",
            status=TaskStatus.OPEN,
            category=TaskCategory.WORK,
        ),
        TaskCompleted(
            event_id=eid(),
            occurred_at=late + timedelta(minutes=5),
            user_id="u1",
            task_id="k1",
            category=TaskCategory.WORK,
        ),
        due_task(late + timedelta(minutes=10), "k2"),
        shown(T0 + timedelta(hours=1), "r2", profile=ProfileFeatures(tenure_days=5, notifications_enabled=True)),
        due_task(T0 + timedelta(hours=1, seconds=30), "k3"),
        liked(T0 + timedelta(hours=1, minutes=1), "r2"),
        AppOpened(event_id=eid(), occurred_at=T0 + timedelta(days=2), user_id="u1", platform=Platform.IOS),
    ]


@pytest.fixture
def store_with_story(tmp_path: Path) -> tuple[object, pd.DataFrame]:
    events = load_events(_write_log(tmp_path / "events.jsonl", _story()))
    tables = build_feature_tables(events)
    feature_store.write_tables(tables, tmp_path / "state")
    store = feature_store.open_store(tmp_path / "state")
    entities = label_impressions(events, tables.impressions, 24.0).drop(columns=["first_seen_at"])
    return store, entities


@pytest.mark.parametrize("engine", ENGINES)
def test_reactions_and_tasks_after_an_impression_do_not_reach_its_row(
    store_with_story: tuple[object, pd.DataFrame], engine: str
) -> None:
    store, entities = store_with_story
    rows = feature_store.historical_features(store, entities, engine).set_index("request_id")
    first, second = rows.loc["r1"], rows.loc["r2"]
    assert first["label"] == 1 and second["label"] == 1
    # r1: no earlier impression or reaction anywhere, no task yet: everything is at its prior.
    assert first["tip_impressions_log"] == 0.0
    assert first["tip_like_rate"] == pytest.approx((0 + PRIOR_LIKE_RATE * 10) / 10)
    assert first["like_rate"] == PRIOR_LIKE_RATE
    assert first["completed_7d"] == 0.0 and first["category_completions_30d"] == 0.0
    assert first["tasks_30d"] == 0.0 and first["category_task_lift"] == 0.0
    # r2, an hour later, sees exactly what happened in between (its own reaction still excluded).
    assert second["tip_impressions_log"] == pytest.approx(np.log1p(2))
    assert second["like_rate"] == 1.0
    assert second["completed_7d"] == 1.0 and second["category_completions_30d"] == 1.0
    assert second["tasks_30d"] == 2.0
    assert second["category_task_lift"] == pytest.approx(category_task_lift({"work": 2}, "work"))
    assert second["affinity"] == pytest.approx((1 + PRIOR_LIKE_RATE * 10) / 11)
    # the new inputs: nothing before r1; r2 sees r1 (an hour ago) and k2 (due in an hour), not k3 after it
    assert (first["tips_24h"], first["tip_seen_30d"], first["category_due_tasks"]) == (0.0, 0.0, 0.0)
    assert first["tip_hours_since"] == NEVER_SHOWN_HOURS
    assert (second["tips_24h"], second["tip_seen_30d"], second["category_due_tasks"]) == (1.0, 1.0, 1.0)
    assert second["tip_hours_since"] == pytest.approx(1.0)
    # the profile snapshot reaches only the impression that carried it
    assert (first["tenure"], first["notifications_on"]) == (0.0, 0.0)
    assert (second["tenure"], second["notifications_on"]) == (5.0, 1.0)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_feature_row_stamped_after_the_label_time_never_reaches_training(
    store_with_story: tuple[object, pd.DataFrame], engine: str, tmp_path: Path
) -> None:
    """Plant an extreme tip_stats row one second after r1: r1's row must not see it; a probe after it does."""
    store, entities = store_with_story
    path = feature_table_path(tmp_path / "state", "tip_stats")
    table = pd.read_parquet(path)
    planted = pd.DataFrame(
        [
            {
                "tip_id": "t1",
                "event_timestamp": pd.Timestamp(T0 + timedelta(seconds=1)),
                "tip_impressions": 999,
                "tip_positives": 999,
                "tip_like_rate_smoothed": 0.987,
                "tip_category": "work",
            }
        ]
    ).astype(table.dtypes.to_dict())
    pd.concat([table, planted]).sort_values("event_timestamp").to_parquet(path, index=False)
    probe = entities[entities["request_id"] == "r1"].assign(
        request_id="probe", event_timestamp=pd.Timestamp(T0 + timedelta(seconds=30))
    )
    rows = feature_store.historical_features(store, pd.concat([entities, probe]), engine).set_index("request_id")
    assert rows.loc["r1", "tip_like_rate"] == pytest.approx(PRIOR_LIKE_RATE)
    assert rows.loc["probe", "tip_like_rate"] == pytest.approx(0.987)


def test_duckdb_join_equals_feast_get_historical_features(staged: Any) -> None:
    """The fast join is Feast's point-in-time join: same rows, same values, on a real simulator run."""
    store = feature_store.open_store(staged.state_root)
    entities = pd.read_parquet(staged.entities).head(800)
    feast_rows = feature_store.historical_features(store, entities, "feast").sort_values("request_id")
    duck_rows = feature_store.historical_features(store, entities, "duckdb").sort_values("request_id")
    assert len(feast_rows) == len(duck_rows) == len(entities)
    assert set(feast_rows.columns) == set(duck_rows.columns)
    for name in MODEL_FEATURES:
        np.testing.assert_allclose(
            feast_rows[name].to_numpy(float), duck_rows[name].to_numpy(float), equal_nan=True, err_msg=name
        )
    assert json.dumps(sorted(feast_rows["tip_category"].astype(str))) == json.dumps(
        sorted(duck_rows["tip_category"].astype(str))
    )
