"""The online pusher against a real Feast store (local SQLite) and the consumers' real state database.

A round pushes the union of the keys of every committed batch once and marks those batches pushed; a failed
write leaves them for the next round; the process pushes what an earlier run left, then what is committed,
and drains on stop.
"""

from __future__ import annotations

import multiprocessing as mp
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from contracts.events import EventBase, parse_event_obj
from feature_repo.config import apply_definitions, open_store
from feature_repo.names import TIP_STATS_VIEW, USER_ACTIVITY_VIEW, USER_TASKS_VIEW
from streams.online import OnlineWriter
from streams.pusher import (
    MAX_BATCHES_PER_ROUND,
    MAX_ROUND_SECONDS,
    MIN_ROUND_SECONDS,
    RETRY_BASE_SECONDS,
    RETRY_MAX_SECONDS,
    OnlinePusher,
    PushCounters,
    push_round,
    retry_delay,
    round_interval,
)
from streams.state_store import StateStore

pytestmark = pytest.mark.integration

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def event(kind: str, event_id: str, user_id: str, **fields: Any) -> EventBase:
    return parse_event_obj({"event_id": event_id, "type": kind, "occurred_at": NOW, "user_id": user_id, **fields})


def opened(event_id: str, user_id: str) -> EventBase:
    return event("app_opened", event_id, user_id, platform="ios")


def shown(event_id: str, user_id: str, tip_id: str) -> EventBase:
    return event(
        "tip_shown", event_id, user_id, request_id=f"r-{event_id}", tip_id=tip_id, category="health", model_version="1"
    )


def synced(event_id: str, user_id: str, task_id: str) -> EventBase:
    return event("task_synced", event_id, user_id, task_id=task_id, status="open", category="work")


def counters() -> PushCounters:
    return PushCounters(mp.Value("q", 0), mp.Value("q", 0), mp.Value("q", 0), mp.Value("d", 0.0), mp.Value("q", 0))


def online(store: Any, view: str, feature: str, **key: str) -> object:
    got = store.get_online_features(features=[f"{view}:{feature}"], entity_rows=[key]).to_dict()
    return got[feature][0]


def wait_until(cond: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


@pytest.fixture
def store(tmp_path: Path) -> Any:
    s = open_store(tmp_path)
    apply_definitions(s)
    return s


def test_backoff_and_round_spacing_stay_within_their_bounds() -> None:
    assert [retry_delay(n) for n in (0, 1, 2)] == [RETRY_BASE_SECONDS, 2 * RETRY_BASE_SECONDS, 4 * RETRY_BASE_SECONDS]
    assert retry_delay(30) == RETRY_MAX_SECONDS
    assert round_interval(0.0) == MIN_ROUND_SECONDS
    assert round_interval(60.0) == MAX_ROUND_SECONDS
    assert MIN_ROUND_SECONDS < round_interval(0.05) < MAX_ROUND_SECONDS


def test_a_round_pushes_each_key_of_all_committed_batches_once(tmp_path: Path, store: Any) -> None:
    state = StateStore(tmp_path / "state.db")
    state.apply("b1", [opened("e1", "u1"), shown("e2", "u1", "tip1")], [], NOW)
    state.apply("b2", [opened("e3", "u1"), synced("e4", "u2", "t1")], [], NOW + timedelta(minutes=1))
    c = counters()

    assert push_round(state, OnlineWriter(store), c) == (False, True)

    assert state.count_unpushed() == 0
    # user_activity u1 and u2, user_tasks u2, tip_stats tip1, affinity (u1, health): u1 once despite two batches
    assert (c.rows.value, c.batches.value, c.rounds.value, c.failures.value) == (5, 2, 1, 0)
    assert c.seconds.value > 0
    assert online(store, USER_ACTIVITY_VIEW, "user_tip_volume_7d", user_id="u1") == 1
    assert online(store, USER_ACTIVITY_VIEW, "user_active_days_30d", user_id="u1") == 1
    assert online(store, TIP_STATS_VIEW, "tip_impressions", tip_id="tip1") == 1
    assert '"t1"' in str(online(store, USER_TASKS_VIEW, "open_tasks_json", user_id="u2"))
    assert push_round(state, OnlineWriter(store), c) == (False, True)
    assert c.rounds.value == 1  # nothing pending: no round counted


def test_a_failed_write_leaves_the_batches_for_the_next_round(tmp_path: Path, store: Any) -> None:
    state = StateStore(tmp_path / "state.db")
    state.apply("b1", [opened("e1", "u1")], [], NOW)
    writer = OnlineWriter(store)
    db = sqlite3.connect(tmp_path / "feast" / "online.db", isolation_level=None)
    table = f"tipsml_{USER_ACTIVITY_VIEW}"
    c = counters()

    db.execute(f"ALTER TABLE {table} RENAME TO away")  # the online store loses the view's table
    assert push_round(state, writer, c) == (True, False)
    assert state.count_unpushed() == 1 and c.failures.value == 1 and c.batches.value == 0

    db.execute(f"ALTER TABLE away RENAME TO {table}")
    assert push_round(state, writer, c) == (False, True)
    assert state.count_unpushed() == 0 and c.batches.value == 1
    assert online(store, USER_ACTIVITY_VIEW, "user_active_days_30d", user_id="u1") == 1
    db.close()


def test_a_round_takes_at_most_its_share_of_a_backlog(tmp_path: Path, store: Any) -> None:
    state = StateStore(tmp_path / "state.db", synchronous="OFF")
    for i in range(MAX_BATCHES_PER_ROUND + 1):
        state.apply(f"b{i}", [opened(f"e{i}", f"u{i}")], [], NOW)
    writer = OnlineWriter(store)

    assert push_round(state, writer) == (True, True)
    assert state.count_unpushed() == 1
    assert push_round(state, writer) == (False, True)
    assert state.count_unpushed() == 0


def test_the_process_pushes_what_was_left_then_what_is_committed_and_drains_on_stop(tmp_path: Path) -> None:
    state = StateStore(tmp_path / "state.db")
    state.apply("left", [opened("e1", "u1")], [], NOW)  # committed by a run that died before pushing
    pusher = OnlinePusher(tmp_path)
    pusher.start()
    try:
        assert pusher.wait_ready(180)
        wait_until(lambda: state.count_unpushed() == 0)
        state.apply("new", [shown("e2", "u2", "tip1")], [], NOW)
        pusher.notify()
    finally:
        pusher.stop()

    assert state.count_unpushed() == 0
    assert pusher.counters.batches.value == 2 and pusher.counters.failures.value == 0
    store = open_store(tmp_path)
    assert online(store, USER_ACTIVITY_VIEW, "user_active_days_30d", user_id="u1") == 1
    assert online(store, TIP_STATS_VIEW, "tip_impressions", tip_id="tip1") == 1


class StampRecorder(OnlineWriter):
    """The real writer (local SQLite store), keeping the event time each push is stamped with.

    The Redis online store keeps a row only if its stamp is newer than the stored one; the local SQLite store
    keeps the last write whatever its stamp, so the stamps themselves are what this checks. The cluster test
    reads values back from a real Redis.
    """

    def __init__(self, store: Any) -> None:
        super().__init__(store)
        self.stamps: list[datetime] = []

    def write(self, rows: Any, event_ts: datetime) -> int:
        self.stamps.append(event_ts)
        return super().write(rows, event_ts)


def test_a_lagging_stream_is_pushed_after_the_stream_ahead_of_it(tmp_path: Path, store: Any) -> None:
    state = StateStore(tmp_path / "state.db")
    writer = StampRecorder(store)
    # The task stream is consumed to day 3 before the app stream's day-1 opens arrive.
    state.apply("tasks", [synced("e1", "u1", "t1")], [], NOW + timedelta(days=2))
    assert push_round(state, writer) == (False, True)
    assert online(store, USER_ACTIVITY_VIEW, "user_active_days_30d", user_id="u1") == 0
    state.apply("app", [opened("e2", "u1")], [], NOW)
    assert push_round(state, writer) == (False, True)

    assert writer.stamps == [NOW + timedelta(days=2), NOW + timedelta(days=2, microseconds=1)]
    assert online(store, USER_ACTIVITY_VIEW, "user_active_days_30d", user_id="u1") == 1


def test_the_push_clock_survives_a_restart_and_moves_on_with_event_time(tmp_path: Path, store: Any) -> None:
    state = StateStore(tmp_path / "state.db")
    first = state.next_push_stamp(NOW)
    state.close()  # a crash after recording the stamp, before or during the write

    reopened = StateStore(tmp_path / "state.db")
    assert reopened.next_push_stamp(NOW) == first + timedelta(microseconds=1)
    assert reopened.next_push_stamp(NOW - timedelta(hours=1)) == first + timedelta(microseconds=2)
    assert reopened.next_push_stamp(NOW + timedelta(minutes=5)) == NOW + timedelta(minutes=5)
