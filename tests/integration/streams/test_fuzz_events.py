"""Property-based fuzz of every event type through the real consumer and a real nats-server.

Each example publishes a few events, valid or broken on one named field, and waits until each one is either
written or dead-lettered. Properties: every valid event is written and never dead-lettered; every broken one
is dead-lettered with a reason naming its field and never written; nothing is both. Seeded and bounded
(examples, per-example deadline), so it runs the same in CI in well under a minute.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nats
import pytest
from event_strategies import Sent, sent_events
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from ingest_helpers import make_settings

from contracts.streams import DEADLETTER_STREAM, MSG_ID_HEADER
from streams.app import run
from streams.deadletter import ORIGINAL_MSG_ID_HEADER, parse_error_fields
from streams.metrics import IngestMetrics
from streams.settings import ConsumerSettings
from streams.topology import ensure_streams

pytestmark = pytest.mark.integration

SETTLE_SECONDS = 20.0


@dataclass
class Harness:
    """The consumer in a thread of its own, and what it has written and dead-lettered so far."""

    url: str
    settings: ConsumerSettings
    deadlettered: dict[str, list[str]] = field(default_factory=dict)
    loop: asyncio.AbstractEventLoop | None = None
    stop: asyncio.Event | None = None

    def written(self, ids: set[str]) -> set[str]:
        with sqlite3.connect(self.settings.state.state_db) as conn:
            marks = ",".join("?" * len(ids))
            rows = conn.execute(f"SELECT event_id FROM ingested_events WHERE event_id IN ({marks})", list(ids))
            return {r[0] for r in rows}


async def _reset(url: str) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    for name in await ensure_streams(js):
        await js.purge_stream(name)
        for info in await js.consumers_info(name):
            await js.delete_consumer(name, info.name)
    await nc.close()


@pytest.fixture
def harness(nats_server: Any, tmp_path: Path) -> Iterator[Harness]:
    asyncio.run(_reset(nats_server.url))
    h = Harness(nats_server.url, make_settings(tmp_path / "state", nats_server.url, max_deliver=2))
    started = threading.Event()

    async def consume() -> None:
        h.loop, h.stop = asyncio.get_running_loop(), asyncio.Event()
        started.set()
        await run(h.settings, h.stop, IngestMetrics())

    thread = threading.Thread(target=asyncio.run, args=(consume(),), daemon=True)
    thread.start()
    started.wait(10)
    yield h
    assert h.loop is not None and h.stop is not None
    h.loop.call_soon_threadsafe(h.stop.set)
    thread.join(30)


async def _send_and_settle(h: Harness, batch: list[Sent]) -> set[str]:
    nc = await nats.connect(h.url)
    js = nc.jetstream()
    try:
        for s in batch:
            await js.publish(s.subject, s.body, headers={MSG_ID_HEADER: s.msg_id})
        dl = await js.pull_subscribe("deadletter.>", stream=DEADLETTER_STREAM)
        ids = {s.msg_id for s in batch}
        deadline = asyncio.get_running_loop().time() + SETTLE_SECONDS
        while True:
            try:
                for msg in await dl.fetch(100, timeout=0.2):
                    await msg.ack()
                    h.deadlettered.setdefault(msg.headers[ORIGINAL_MSG_ID_HEADER], []).extend(
                        e.field for e in parse_error_fields(msg.headers)
                    )
            except (TimeoutError, nats.errors.TimeoutError):
                pass
            written = h.written(ids)
            if ids <= written | set(h.deadlettered):
                return written
            assert asyncio.get_running_loop().time() < deadline, f"unsettled: {ids - written - set(h.deadlettered)}"
    finally:
        await nc.close()


@seed(19)
@settings(
    max_examples=60,
    deadline=None,  # each example waits on a real server; SETTLE_SECONDS bounds it instead
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(sent_events(), min_size=1, max_size=8, unique_by=lambda s: s.msg_id))
def test_every_event_is_written_or_dead_lettered_naming_its_field(harness: Harness, batch: list[Sent]) -> None:
    written = asyncio.run(_send_and_settle(harness, batch))
    for s in batch:
        dead = harness.deadlettered.get(s.msg_id)
        if s.valid:
            assert s.msg_id in written and dead is None, (s, dead)
        else:
            assert s.msg_id not in written, s
            assert dead, s
            assert all(f for f in dead), (s, dead)
            if s.field:
                assert any(f == s.field or f.startswith(s.field + ".") for f in dead), (s, dead)
