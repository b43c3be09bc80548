"""The consumers against a real nats-server: write paths, nak, dead-letter, idempotency, online freshness."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from typing import Any

import pytest
from ingest_helpers import NOW, Running, payload, publish
from nats.js import JetStreamContext

from contracts.streams import DEADLETTER_STREAM, SIGNALS_STREAM
from contracts.task_state import decode_task_views
from streams.consumer import durable_name
from streams.deadletter import DELIVERIES_HEADER, ORIGINAL_SUBJECT_HEADER, REASON_HEADER, parse_error_fields
from streams.event_log import read_event_log

pytestmark = pytest.mark.integration

KINDS = ("task_synced", "task_completed", "app_opened", "tip_shown", "tip_reaction")


def rows(r: Running, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(r.settings.state.state_db) as conn:
        return conn.execute(sql).fetchall()


async def deadletters(js: JetStreamContext, n: int) -> list[Any]:
    sub = await js.pull_subscribe("deadletter.>", stream=DEADLETTER_STREAM)
    msgs = await sub.fetch(n, timeout=5)
    await sub.unsubscribe()
    return msgs


VALID = [
    *(payload(k, 1) for k in KINDS),
    payload("task_synced", 2, priority="urgent", due_at="2030-01-01T00:00:00+00:00", estimated_minutes=30),
    payload("task_synced", 3, title=None, status="in_progress"),
    payload("task_completed", 4, on_time=True),
    payload("app_opened", 5, app_version="1.2.3", tz_offset_minutes=-300, platform="web"),
    payload("tip_shown", 6, prompt_version=None, position=3, platform="android"),
    payload("tip_reaction", 7, reaction="snoozed", model_version="3", prompt_version="v1"),
    payload("app_opened", 8, unknown_field="ignored by the tolerant reader"),
]


async def test_every_payload_type_with_optional_fields_is_written_and_acked(
    jetstream: JetStreamContext, start_consumer: Any
) -> None:
    r: Running = await start_consumer()
    for ev in VALID:
        await publish(jetstream, ev)
    await r.wait_for(lambda: r.count("acked") == len(VALID))
    log = read_event_log(r.settings.state.event_log_dir)
    assert sorted(log.column("event_id").to_pylist()) == sorted(e["event_id"] for e in VALID)
    assert set(log.column("type").to_pylist()) == set(KINDS)
    assert json.loads(log.column("payload").to_pylist()[0])["event_id"]
    assert r.count("naked") == 0 and r.count("deadlettered") == 0
    info = await jetstream.consumer_info(SIGNALS_STREAM, durable_name(r.settings, SIGNALS_STREAM))
    assert info.num_ack_pending == 0 and info.num_pending == 0
    rewards = rows(
        r,
        "SELECT request_id, model_version, prompt_version, propensity, reaction FROM reward_log"
        " WHERE request_id = 'r-1'",
    )
    assert rewards == [("r-1", "3", "v2", 0.5, "liked")]


async def test_task_synced_write_path_keeps_latest_state_and_pushes_user_tasks(
    jetstream: JetStreamContext, start_consumer: Any
) -> None:
    r: Running = await start_consumer(online_push=True)
    base = payload("task_synced", 7, user_id="alice", occurred_at=(NOW - timedelta(hours=1)).isoformat())
    await publish(jetstream, base)
    await publish(
        jetstream,
        {
            **base,
            "event_id": "upd",
            "status": "in_progress",
            "priority": "high",
            "occurred_at": (NOW - timedelta(minutes=30)).isoformat(),
        },
    )
    await publish(
        jetstream,
        {
            **base,
            "event_id": "stale",
            "status": "archived",
            "occurred_at": (NOW - timedelta(hours=2)).isoformat(),
        },
    )
    await publish(jetstream, payload("task_synced", 8, user_id="alice", status="done"))
    await r.wait_for(lambda: r.count("acked") == 4)
    await r.wait_for(lambda: rows(r, "SELECT COUNT(*) FROM batches WHERE pushed = 0") == [(0,)])
    assert sorted(rows(r, "SELECT task_id, status, priority FROM tasks WHERE user_id = 'alice'")) == [
        ("t-7", "in_progress", "high"),
        ("t-8", "done", "medium"),
    ]

    from streams.app import open_feature_store

    store = open_feature_store(r.settings)
    got = store.get_online_features(
        features=[
            "user_tasks:open_tasks_json",
            "user_tasks:recent_completed_json",
            "user_activity:user_open_tasks",
        ],
        entity_rows=[{"user_id": "alice"}],
    ).to_dict()
    [open_task] = decode_task_views(got["open_tasks_json"][0])
    assert (open_task.task_id, open_task.status.value, open_task.title) == (
        "t-7",
        "in_progress",
        "Write the report",
    )
    assert [t.task_id for t in decode_task_views(got["recent_completed_json"][0])] == ["t-8"]
    assert got["user_open_tasks"] == [1]


async def test_validation_error_naks_instead_of_acking(
    jetstream: JetStreamContext, start_consumer: Any
) -> None:
    r: Running = await start_consumer(max_deliver=5, nak_delay_seconds=30.0)
    await publish(jetstream, payload("app_opened", 1, platform="symbian"))
    await r.wait_for(lambda: r.count("naked") == 1)
    assert r.count("acked") == 0 and r.count("deadlettered") == 0
    info = await jetstream.consumer_info(SIGNALS_STREAM, durable_name(r.settings, SIGNALS_STREAM))
    assert info.num_ack_pending == 1 and info.num_redelivered == 0
    assert read_event_log(r.settings.state.event_log_dir).num_rows == 0


INVALID = [
    (payload("app_opened", 1, platform="symbian"), "platform"),  # invalid enum value
    (payload("tip_reaction", 2, reaction="loved"), "reaction"),  # invalid enum value
    ({k: v for k, v in payload("task_synced", 3).items() if k != "category"}, "category"),  # missing required
    ({k: v for k, v in payload("tip_shown", 4).items() if k != "model_version"}, "model_version"),
    (payload("tip_shown", 5, propensity=0), "propensity"),
    (payload("app_opened", 6, occurred_at="2025-01-01T00:00:00"), "occurred_at"),  # naive timestamp
    (payload("app_opened", 7, type="app_closed"), "type"),  # unknown event type
    (payload("task_completed", 8, schema_version=99), "schema_version"),
]


async def test_invalid_events_are_dead_lettered_after_max_deliver_with_the_reason(
    jetstream: JetStreamContext, start_consumer: Any
) -> None:
    r: Running = await start_consumer(max_deliver=3)
    garbage = f"garbage-{NOW.timestamp()}"
    for ev, _ in INVALID:
        await publish(jetstream, ev)
    await jetstream.publish("signals.app_opened", b"{not json", headers={"Nats-Msg-Id": garbage})
    total = len(INVALID) + 1
    await r.wait_for(lambda: r.count("deadlettered") == total)
    assert r.count("naked") == total * 2 and r.count("acked") == 0
    by_subject_id = {}
    for msg in await deadletters(jetstream, total):
        assert msg.headers[DELIVERIES_HEADER] == "3" and msg.headers[REASON_HEADER] == "validation"
        assert msg.subject == f"deadletter.{msg.headers[ORIGINAL_SUBJECT_HEADER]}"
        by_subject_id[msg.headers.get("Tipsml-Original-Msg-Id")] = (msg.data, parse_error_fields(msg.headers))
    for ev, field in INVALID:
        raw, errors = by_subject_id[ev["event_id"]]
        assert json.loads(raw)["event_id"] == ev["event_id"]  # the original bytes
        assert any(e.field == field for e in errors), (field, errors)
    assert by_subject_id[garbage][0] == b"{not json"
    info = await jetstream.consumer_info(SIGNALS_STREAM, durable_name(r.settings, SIGNALS_STREAM))
    assert info.num_ack_pending == 0 and info.num_pending == 0


async def test_duplicate_event_id_is_applied_once(jetstream: JetStreamContext, start_consumer: Any) -> None:
    r: Running = await start_consumer()
    ev = payload("app_opened", 1)
    await publish(jetstream, ev, msg_id=ev["event_id"] + "-first")
    await publish(jetstream, ev, msg_id=ev["event_id"] + "-second")  # a re-publish JetStream lets through
    await r.wait_for(lambda: r.count("acked") == 2)
    await publish(jetstream, ev, msg_id=ev["event_id"] + "-third")
    await r.wait_for(lambda: r.count("acked") == 3)
    assert r.count("duplicates") == 2 and r.count("written") == 1
    assert read_event_log(r.settings.state.event_log_dir).num_rows == 1
    assert rows(r, "SELECT SUM(n) FROM open_counts") == [(1,)]
