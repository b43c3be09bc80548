"""The write path without a broker: settings, dead-letter records, event log, state store, feature parity."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from nats.aio.msg import Msg
from pydantic import ValidationError

from contracts.events import EventBase, parse_event_obj
from contracts.validation import FieldError
from feature_repo.features import (
    ActivityReplay,
    category_affinity,
    task_views,
    tip_stats,
    user_activity,
    user_tip_exposure,
)
from streams.consumer import stream_sequence
from streams.deadletter import (
    DELIVERIES_HEADER,
    ERROR_HEADER,
    ORIGINAL_MSG_ID_HEADER,
    deadletter_headers,
    parse_error_fields,
)
from streams.event_log import LoggedEvent, publish, read_event_log, recover, write_tmp
from streams.online import feature_rows
from streams.settings import ConsumerSettings
from streams.state_store import Affected, StateStore
from streams.writer import BatchWriter

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
CATS = ("work", "health", "home")


def random_events(n: int, seed: int = 3) -> list[EventBase]:
    rng = random.Random(seed)
    out: list[EventBase] = []
    for i in range(n):
        kind = rng.choice(("task_synced", "task_completed", "app_opened", "tip_shown", "tip_reaction"))
        at = NOW - timedelta(days=rng.uniform(0, 40))
        base: dict[str, object] = {
            "event_id": f"e{i}",
            "type": kind,
            "occurred_at": at,
            "user_id": f"u{rng.randrange(4)}",
        }
        task = {"task_id": f"t{rng.randrange(6)}", "category": rng.choice(CATS)}
        extra: dict[str, dict[str, object]] = {
            "task_synced": {
                **task,
                "status": rng.choice(("open", "in_progress", "done", "archived")),
                "due_at": NOW + timedelta(hours=rng.randrange(1, 50)),
                "title": f"task {i}",
            },
            "task_completed": task,
            "app_opened": {"platform": "ios", "tz_offset_minutes": rng.choice((0, 120, -300))},
            "tip_shown": {
                "request_id": f"r{i}",
                "tip_id": f"tip{i % 5}",
                "category": rng.choice(CATS),
                "model_version": "1",
                **({"profile_features": {"tenure_days": i, "from_a_newer_recommender": 1}} if i % 2 else {}),
            },
            "tip_reaction": {
                "request_id": f"r{(j := rng.randrange(n))}",
                "tip_id": f"tip{j % 5}",
                "reaction": rng.choice(("liked", "acted", "dismissed")),
            },
        }
        out.append(parse_event_obj({**base, **extra[kind]}))
    return out


def logged(events: list[EventBase]) -> list[LoggedEvent]:
    return [LoggedEvent(e, "signals.x", i, json.dumps({"event_id": e.event_id}).encode()) for i, e in enumerate(events)]


def test_settings_from_env_and_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIPSML_BATCH_SIZE", "123")
    monkeypatch.setenv("TIPSML_BACKOFF_SECONDS", "[1, 2]")
    s = ConsumerSettings()
    assert s.batch_size == 123 and s.backoff_seconds == [1.0, 2.0]
    assert [s.nak_delay(d) for d in (1, 2, 3)] == [2.0, 4.0, 8.0] and s.nak_delay(20) == s.max_nak_delay_seconds
    with pytest.raises(ValidationError, match="backoff"):
        ConsumerSettings(max_deliver=2, backoff_seconds=[1.0, 2.0])


def test_stream_sequence_from_ack_subject() -> None:
    msg = Msg(_client=None, subject="s", reply="$JS.ACK.SIGNALS.c.1.42.7.1700000000000000000.3", data=b"")  # type: ignore[arg-type]
    assert stream_sequence(msg) == 42


def test_deadletter_headers_keep_the_original_and_say_why() -> None:
    errors = [FieldError("platform", "Input should be 'ios'\nor 'web'")]
    h = deadletter_headers(
        {"Nats-Msg-Id": "ev-1", "X-Trace": "t"},
        errors=errors,
        reason="validation",
        subject="signals.app_opened",
        stream="SIGNALS",
        stream_seq=9,
        delivered=5,
    )
    assert h["Nats-Msg-Id"] == "dl:SIGNALS:9" and h[ORIGINAL_MSG_ID_HEADER] == "ev-1" and h["X-Trace"] == "t"
    assert h[DELIVERIES_HEADER] == "5" and "\n" not in h[ERROR_HEADER]
    assert parse_error_fields(h) == errors  # JSON keeps the reason exactly, on one header line
    many = deadletter_headers(
        None,
        errors=[FieldError("f" * 999, "r" * 999)] * 99,
        reason="validation",
        subject="s",
        stream="S",
        stream_seq=1,
        delivered=1,
    )
    assert len(parse_error_fields(many)) == 20


def test_event_log_recovery_publishes_committed_and_drops_the_rest(tmp_path: Path) -> None:
    events = logged(random_events(50))
    committed = write_tmp(tmp_path, "a", events[:30])
    orphan = write_tmp(tmp_path, "b", events[30:])
    assert read_event_log(tmp_path).num_rows == 0  # temporary files are invisible
    assert recover(tmp_path, {"a": [str(p) for p in committed]}) == (len(committed), len(orphan))
    log = read_event_log(tmp_path)
    assert sorted(log.column("event_id").to_pylist()) == sorted(le.event.event_id for le in events[:30])
    assert all(p.parent.name.startswith("date=") for p in tmp_path.glob("*/part-*.parquet"))
    publish(committed)  # idempotent
    assert read_event_log(tmp_path).num_rows == 30


def test_writer_applies_each_event_id_once(tmp_path: Path) -> None:
    writer = BatchWriter(ConsumerSettings(state_dir=tmp_path, sqlite_synchronous="NORMAL"))
    batch = logged(random_events(40))
    first = writer.write(batch + batch[:5])
    again = writer.write(batch)
    assert (first.applied, first.duplicates) == (40, 5) and (again.applied, again.duplicates) == (0, 40)
    assert read_event_log(tmp_path / "events").num_rows == 40
    assert writer.state.count_ingested() == 40
    writer.close()


def test_affected_roundtrip_and_push_bookkeeping(tmp_path: Path) -> None:
    a = Affected({"u1"}, {"u1"}, {"t"}, {("u1", "work")}, {("u1", "t")})
    assert Affected.from_json(a.to_json()) == a
    stored_before_user_tips = json.dumps({"users": ["u1"], "task_users": [], "tips": [], "user_categories": []})
    assert Affected.from_json(stored_before_user_tips) == Affected({"u1"})
    state = StateStore(tmp_path / "s.db")
    state.apply("b1", random_events(5), [], NOW)
    [(batch_id, _, as_of)] = state.unpushed()
    assert (batch_id, as_of) == ("b1", NOW) and state.count_unpushed() == 1
    state.mark_pushed(["b1"])
    assert state.unpushed() == []


def test_streaming_state_gives_the_batch_replay_values(tmp_path: Path) -> None:
    """No train/serve skew: the consumers' SQLite state and the batch replay compute identical features."""
    events = random_events(400)
    state = StateStore(tmp_path / "s.db")
    shuffled = events[:]
    random.Random(1).shuffle(shuffled)
    for i in range(0, len(shuffled), 37):  # out of order, in uneven batches
        chunk = state.unseen(shuffled[i : i + 37])
        state.apply(f"b{i}", chunk, [], NOW)
    replay = ActivityReplay()
    replay.apply(events)
    users = {e.user_id for e in events}
    tips = {f"tip{i}" for i in range(5)}
    pairs = {(u, t) for u in users for t in tips}
    affected = Affected(users, users, tips, {(u, c) for u in users for c in CATS}, pairs)
    frames = feature_rows(state, affected, NOW)
    assert len(frames["user_tip_exposure"]) == len(pairs)
    for row in frames["user_tip_exposure"]:
        _, _, shown = replay.user_records(row["user_id"])
        want_ut = user_tip_exposure(shown, row["tip_id"], NOW)
        assert {k: row[k] for k in want_ut} == want_ut
    assert any(r["ut_shown_30d"] > 0 for r in frames["user_tip_exposure"])
    for row in frames["user_activity"]:
        tasks, opens, shown = replay.user_records(row["user_id"])
        want = user_activity(tasks, opens, shown, NOW)
        got = {k: row[k] for k in want}
        assert got == pytest.approx(want, nan_ok=True) or all(
            (g == w) or (w is None and g != g) for g, w in zip(got.values(), want.values(), strict=True)
        )
    for row in frames["user_tasks"]:
        tasks, _, _ = replay.user_records(row["user_id"])
        assert {k: row[k] for k in ("open_tasks_json", "recent_completed_json")} == task_views(tasks, NOW)
    shown_all = replay.shown_tips()
    for row in frames["tip_stats"]:
        mine = [s for _, s in shown_all if s.tip_id == row["tip_id"]]
        want_tip = tip_stats(len(mine), sum(s.positive for s in mine), row["tip_category"])
        assert {k: row[k] for k in want_tip} == pytest.approx(want_tip)
    for row in frames["user_category_affinity"]:
        mine = [s for u, s in shown_all if u == row["user_id"] and s.category == row["category"]]
        assert row["uc_impressions"] == len(mine)
        assert row["uc_affinity"] == pytest.approx(
            category_affinity(len(mine), sum(s.positive for s in mine), 0)["uc_affinity"]
        )


def test_the_consumer_keeps_the_profile_snapshot_with_the_impression(tmp_path: Path) -> None:
    """The reward log row of a tip_shown keeps the recommender's known profile values (unknown names dropped)."""
    from experiments.reward_log import profile_snapshot

    events = random_events(60)
    state = StateStore(tmp_path / "s.db")
    state.apply("b1", events, [], NOW)
    shown = [e for e in events if e.type == "tip_shown"]
    with_profile = [e for e in shown if getattr(e, "profile_features", None) is not None]
    assert with_profile and len(with_profile) < len(shown)
    for e in shown:
        text = profile_snapshot(state.conn, e.request_id, e.tip_id)  # type: ignore[attr-defined]
        if e in with_profile:
            assert json.loads(text or "") == {"tenure_days": int(e.event_id[1:])}
        else:
            assert text is None
