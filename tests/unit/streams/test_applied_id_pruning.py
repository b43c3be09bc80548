"""Applied event ids are forgotten after the retention, not before; databases from before pruning migrate."""

from __future__ import annotations

import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from contracts.events import AppOpened, EventBase
from streams.event_log import LoggedEvent
from streams.settings import ConsumerSettings
from streams.state_store import StateStore
from streams.writer import BatchWriter

NOW = datetime.now(UTC)


def opens(prefix: str, n: int) -> list[EventBase]:
    return [AppOpened(event_id=f"{prefix}-{i}", occurred_at=NOW, user_id="u1", platform="ios") for i in range(n)]


def logged(events: list[EventBase]) -> list[LoggedEvent]:
    return [LoggedEvent(e, "signals.app_opened", i, json.dumps({"event_id": e.event_id}).encode())
            for i, e in enumerate(events)]


def age(db: Path, prefix: str, seconds: float) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE ingested_events SET applied_at = applied_at - ? WHERE event_id LIKE ?",
                     (seconds, f"{prefix}-%"))


def test_prune_forgets_only_ids_older_than_the_cutoff(tmp_path: Path) -> None:
    state = StateStore(tmp_path / "s.db")
    state.apply("b1", opens("old", 120), [], NOW)
    state.apply("b2", opens("new", 30), [], NOW)
    age(tmp_path / "s.db", "old", 20 * 86400)
    assert state.prune_applied_ids(NOW - timedelta(days=14)) == 120
    assert state.count_ingested() == 30
    assert {e.event_id for e in state.unseen(opens("old", 3) + opens("new", 3))} == {"old-0", "old-1", "old-2"}
    assert state.prune_applied_ids(NOW - timedelta(days=14)) == 0
    state.close()


def test_writer_prunes_after_a_batch_and_then_at_most_hourly(tmp_path: Path) -> None:
    writer = BatchWriter(ConsumerSettings(state_dir=tmp_path, sqlite_synchronous="NORMAL"))
    db = tmp_path / "state.db"
    assert writer.write(logged(opens("a", 10))).applied == 10  # first batch: pruned (nothing old yet)
    age(db, "a", 15 * 86400)
    assert writer.write(logged(opens("b", 5))).applied == 5
    assert writer.state.count_ingested() == 15  # within the hour since the last prune: kept
    writer.next_prune = 0.0
    assert writer.write(logged(opens("c", 5))).applied == 5
    assert writer.state.count_ingested() == 10  # the 14-day-old "a" ids are gone, "b" and "c" stay
    writer.close()


def test_database_from_before_pruning_gets_applied_at(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE ingested_events (event_id TEXT PRIMARY KEY) WITHOUT ROWID")
        conn.executemany("INSERT INTO ingested_events VALUES (?)", [("legacy-1",), ("legacy-2",)])
    before = time.time()
    state = StateStore(db)
    [(lo, hi)] = state.conn.execute("SELECT MIN(applied_at), MAX(applied_at) FROM ingested_events").fetchall()
    assert before <= lo <= hi <= time.time()  # counted as applied now: forgotten a full retention later
    assert [e.event_id for e in state.unseen(opens("legacy", 3))] == ["legacy-0"]
    assert state.prune_applied_ids(NOW - timedelta(days=14)) == 0
    state.close()


def test_retention_must_outlive_the_streams() -> None:
    assert ConsumerSettings().applied_ids_retention_hours == 14 * 24
    with pytest.raises(ValidationError, match="max age"):
        ConsumerSettings(applied_ids_retention_hours=24)
