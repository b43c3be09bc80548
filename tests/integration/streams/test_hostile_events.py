"""Hostile and careless producers: one bad event never costs its batch, never sticks, never slips through."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from ingest_helpers import Running, make_settings, payload, publish
from nats.js import JetStreamContext

from contracts.streams import DEADLETTER_STREAM, SIGNALS_STREAM
from streams.consumer import Consumer, durable_name
from streams.deadletter import (
    ORIGINAL_DIGEST_HEADER,
    ORIGINAL_SEQ_HEADER,
    ORIGINAL_SIZE_HEADER,
    REASON_HEADER,
    TRUNCATED_HEADER,
    parse_error_fields,
)
from streams.errors import WriteError
from streams.event_log import LoggedEvent, read_event_log
from streams.metrics import IngestMetrics
from streams.settings import ConsumerSettings
from streams.topology import StreamLimits
from streams.writer import BatchWriter, WriteResult

pytestmark = pytest.mark.integration


async def deadletters(js: JetStreamContext, n: int) -> list[Any]:
    sub = await js.pull_subscribe("deadletter.>", stream=DEADLETTER_STREAM)
    msgs = await sub.fetch(n, timeout=5)
    await sub.unsubscribe()
    return msgs


async def test_time_range_type_and_version_poison_is_dead_lettered_and_its_batch_written(
    jetstream: JetStreamContext, start_consumer: Any
) -> None:
    poison = [
        (payload("app_opened", 1, occurred_at="0001-01-01T00:00:00+14:00"), "occurred_at"),
        (payload("app_opened", 2, occurred_at="9999-12-31T23:59:59-14:00"), "occurred_at"),
        (payload("task_completed", 3, occurred_at="1970-01-01T00:00:00+00:00"), "occurred_at"),
        (payload("task_synced", 4, due_at="9999-12-31T23:59:59-14:00"), "due_at"),
        ({**payload("tip_shown", 5), "_subject": "signals.app_opened"}, "type"),
        (payload("task_completed", 6, schema_version=True), "schema_version"),
        (payload("task_completed", 7, schema_version="1"), "schema_version"),
    ]
    valid = [payload(k, n) for n in range(40) for k in ("app_opened", "tip_shown")]
    for ev in [*valid[:40], *(p for p, _ in poison), *valid[40:]]:
        await publish(jetstream, ev)
    r: Running = await start_consumer(max_deliver=2)
    await r.wait_for(lambda: r.count("deadlettered") == len(poison) and r.count("acked") == len(valid))
    written = set(read_event_log(r.settings.state.event_log_dir).column("event_id").to_pylist())
    assert written == {e["event_id"] for e in valid}
    by_id = {}
    for msg in await deadletters(jetstream, len(poison) + 5):
        assert msg.headers[REASON_HEADER] == "validation"
        by_id[msg.headers["Tipsml-Original-Msg-Id"]] = parse_error_fields(msg.headers)
    assert len(by_id) == len(poison)
    for ev, field in poison:
        errors = by_id[ev["event_id"]]
        assert any(e.field == field for e in errors), (field, errors)
    assert any("2000-01-01" in e.reason for e in by_id[poison[0][0]["event_id"]])


class FaultyWriter(BatchWriter):
    """Fails any batch holding one of ``poison`` (a fault the contract cannot foresee, e.g. a disk error)."""

    def __init__(self, settings: ConsumerSettings, poison: set[str]) -> None:
        super().__init__(settings)
        self.poison = poison

    def write(self, batch: Sequence[LoggedEvent]) -> WriteResult:
        if any(le.event.event_id in self.poison for le in batch):
            raise WriteError(f"batch of {len(batch)} events not written: injected fault")
        return super().write(batch)


async def test_a_write_failure_isolates_the_failing_event(
    jetstream: JetStreamContext, nats_server: Any, tmp_path: Path
) -> None:
    valid = [payload("app_opened", n) for n in range(60)]
    bad = payload("app_opened", 99)
    for ev in [*valid[:30], bad, *valid[30:]]:
        await publish(jetstream, ev)
    settings = make_settings(tmp_path / "state", nats_server.url, max_deliver=2)
    writer = FaultyWriter(settings, {bad["event_id"]})
    metrics, stop = IngestMetrics(), asyncio.Event()
    r = Running(settings, metrics, stop, asyncio.create_task(Consumer(settings, writer, metrics).run(stop)))
    try:
        await r.wait_for(lambda: r.count("deadlettered") == 1 and r.count("acked") == len(valid))
    finally:
        r.stop.set()
        await asyncio.wait_for(r.task, 30)
        writer.close()
    written = read_event_log(settings.state.event_log_dir).column("event_id").to_pylist()
    assert sorted(written) == sorted(e["event_id"] for e in valid)
    (msg,) = await deadletters(jetstream, 1)
    assert msg.headers[REASON_HEADER] == "write" and json.loads(msg.data)["event_id"] == bad["event_id"]
    assert not list(settings.state.event_log_dir.rglob(".part-*"))  # failed attempts leave no files behind


async def test_an_invalid_event_near_the_size_limit_is_dead_lettered_truncated_not_stuck(
    jetstream: JetStreamContext, start_consumer: Any
) -> None:
    limit = StreamLimits().max_msg_size
    ev = payload("app_opened", 1, platform="symbian")
    ev["padding"] = ""
    overhead = len(json.dumps({k: v for k, v in ev.items() if k != "_subject"}).encode())
    ev["padding"] = "x" * (limit - overhead - 100)
    body = json.dumps({k: v for k, v in ev.items() if k != "_subject"}).encode()
    ack = await jetstream.publish(ev["_subject"], body, headers={"Nats-Msg-Id": ev["event_id"]})
    r: Running = await start_consumer(max_deliver=2)
    await r.wait_for(lambda: r.count("deadlettered") == 1, timeout=30)
    (msg,) = await deadletters(jetstream, 1)
    assert msg.headers[TRUNCATED_HEADER] == "true" and len(msg.data) < len(body)
    assert body.startswith(msg.data)
    assert msg.headers[ORIGINAL_SIZE_HEADER] == str(len(body))
    assert msg.headers[ORIGINAL_DIGEST_HEADER] == hashlib.sha256(body).hexdigest()
    assert msg.headers[ORIGINAL_SEQ_HEADER] == str(ack.seq)
    assert any(e.field == "platform" for e in parse_error_fields(msg.headers))
    info = await jetstream.consumer_info(SIGNALS_STREAM, durable_name(r.settings, SIGNALS_STREAM))
    assert info.num_ack_pending == 0 and info.num_pending == 0
