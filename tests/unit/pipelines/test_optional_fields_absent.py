"""Training takes every valid event: each optional field of each event type, left out by the producer.

The event log keeps the producer's bytes, so an optional field the producer omitted is NULL in the frame
training reads (not the contract's default). Each case writes a small log through the ingestion writer's
Parquet path, with one field absent (and one case with every optional field absent), and builds the feature
tables and the labelled, sliced training frame from it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts.events import EVENT_TYPES, parse_event
from pipelines.steps.events import load_events
from pipelines.steps.feature_tables import build_feature_tables
from pipelines.steps.training_set import add_slices, label_impressions
from streams.event_log import LoggedEvent, publish, write_tmp

T = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
FULL: dict[str, dict[str, Any]] = {
    "task_synced": {
        "task_id": "t-1", "status": "open", "priority": "high", "category": "work", "title": "private",
        "due_at": "2026-10-03T17:00:00+00:00", "estimated_minutes": 45,
    },
    "task_completed": {"task_id": "t-1", "category": "work", "on_time": True},
    "app_opened": {"platform": "ios", "tz_offset_minutes": 60, "app_version": "4.2.0"},
    "tip_shown": {
        "request_id": "r-1", "tip_id": "tip-7", "category": "work", "model_version": "3", "prompt_version": "v2",
        "propensity": 0.25, "position": 0, "platform": "web",
        "profile_features": {"tenure_days": 40, "notifications_enabled": True, "from_a_newer_recommender": 1},
    },
    "tip_reaction": {
        "request_id": "r-1", "tip_id": "tip-7", "reaction": "liked", "model_version": "3", "prompt_version": "v2",
    },
}
ORDER = ("app_opened", "task_synced", "tip_shown", "tip_reaction", "task_completed")
OPTIONAL = sorted(
    (kind, name)
    for kind, model in EVENT_TYPES.items()
    for name, info in model.model_fields.items()
    if not info.is_required() and name not in ("type", "schema_version")
)


def _log(tmp_path: Path, drop: dict[str, set[str]]) -> Path:
    logged = []
    for i, kind in enumerate(ORDER * 2):
        body = {
            "event_id": f"e-{i}", "type": kind, "user_id": "u-1",
            "occurred_at": (T + timedelta(hours=i)).isoformat(),
            **{k: v for k, v in FULL[kind].items() if k not in drop.get(kind, set())},
        }
        if i >= len(ORDER):  # a second round, a day later, so the first impression's window closes
            body["occurred_at"] = (T + timedelta(days=2, hours=i)).isoformat()
            body.update({k: f"{v}-2" for k, v in body.items() if k == "request_id"})
        raw = json.dumps(body).encode()
        event = parse_event(raw)  # the log only holds valid events
        logged.append(LoggedEvent(event, event.subject, i, raw))
    root = tmp_path / "events"
    root.mkdir()
    publish(write_tmp(root, "b1", logged))
    return root


def _train_frame(root: Path) -> int:
    events = load_events(root)
    tables = build_feature_tables(events)
    labelled = label_impressions(events, tables.impressions, window_hours=24)
    sliced = add_slices(labelled, events["occurred_at"].min(), new_user_days=7)
    assert not tables.user_activity.empty and not tables.tip_stats.empty
    return len(sliced)


def test_every_type_has_optional_fields_to_cover() -> None:
    assert {kind for kind, _ in OPTIONAL} == set(EVENT_TYPES)


@pytest.mark.parametrize(("kind", "name"), OPTIONAL, ids=[f"{k}.{n}" for k, n in OPTIONAL])
def test_training_takes_events_without_an_optional_field(kind: str, name: str, tmp_path: Path) -> None:
    assert name in FULL[kind], f"add {kind}.{name} to FULL"
    assert _train_frame(_log(tmp_path, {kind: {name}})) >= 1


def test_training_takes_events_without_any_optional_field(tmp_path: Path) -> None:
    drop: dict[str, set[str]] = {}
    for kind, name in OPTIONAL:
        drop.setdefault(kind, set()).add(name)
    assert _train_frame(_log(tmp_path, drop)) >= 1
