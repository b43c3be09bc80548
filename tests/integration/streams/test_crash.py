"""Crash tests: kill -9 the consumer process, and separately restart nats-server, in the middle of a run.

Afterwards events in = events written + events dead-lettered, exactly: every valid event is in the offline
event log once, every invalid one is on DEADLETTER once. 5,000 events here to keep CI fast; the 50,000-event
run is ``bench/ingest_crash.py``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from ingest_helpers import Wire, many_events, publish_many
from nats.js import JetStreamContext

from contracts.streams import DEADLETTER_STREAM, FEEDBACK_STREAM, SIGNALS_STREAM
from streams.deadletter import ORIGINAL_MSG_ID_HEADER
from streams.event_log import read_event_log
from streams.topology import ensure_streams

pytestmark = [pytest.mark.integration, pytest.mark.slow]

N_EVENTS = 5000


def consumer_env(url: str, state: Path, online: bool) -> dict[str, str]:
    return {
        **os.environ, "TIPSML_NATS_URL": url, "TIPSML_STATE_DIR": str(state), "TIPSML_BATCH_SIZE": "250",
        "TIPSML_MAX_DELIVER": "3", "TIPSML_BACKOFF_SECONDS": "[]", "TIPSML_ACK_WAIT_SECONDS": "3",
        "TIPSML_NAK_DELAY_SECONDS": "0.05", "TIPSML_FETCH_TIMEOUT_SECONDS": "0.2",
        "TIPSML_ONLINE_PUSH": "true" if online else "false", "TIPSML_DURABLE_PREFIX": "crash",
    }


class ConsumerProcess:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "streams"], env=self.env, stdout=out,
                                         stderr=subprocess.STDOUT)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def terminate(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
        return int(self.proc.returncode)


@pytest.fixture
def consumer_process(tmp_path: Path) -> Iterator[list[ConsumerProcess]]:
    made: list[ConsumerProcess] = []
    yield made
    for p in made:
        if p.proc is not None and p.proc.poll() is None:
            p.proc.kill()
            p.proc.wait(10)


def ingested(state: Path) -> int:
    db = state / "state.db"
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM ingested_events").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


async def settled(js: JetStreamContext, invalid: int, timeout: float = 180.0) -> None:
    """Both consumers have nothing pending or unacked, and every invalid event is dead-lettered."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            infos = [await js.consumer_info(s, f"crash-{s.lower()}") for s in (SIGNALS_STREAM, FEEDBACK_STREAM)]
            dl = (await js.stream_info(DEADLETTER_STREAM)).state.messages
            if dl == invalid and all(i.num_pending == 0 and i.num_ack_pending == 0 for i in infos):
                return
        except Exception:  # the consumer may not exist yet, or NATS is coming back
            pass
        assert loop.time() < deadline, "the consumer did not settle in time"
        await asyncio.sleep(0.2)


async def wait_until(cond: Any, timeout: float = 120.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def check_exactly_once(js: JetStreamContext, state: Path, events: list[Wire]) -> None:
    log = read_event_log(state / "events")
    ids = log.column("event_id").to_pylist()
    assert len(ids) == len(set(ids)), "an event was written twice"
    assert set(ids) == {w.event_id for w in events if w.valid}
    assert not list((state / "events").glob("date=*/.part-*")), "a temporary file was left behind"
    invalid = {w.event_id for w in events if not w.valid}
    sub = await js.pull_subscribe("deadletter.>", stream=DEADLETTER_STREAM)
    msgs = await sub.fetch(len(invalid) + 10, timeout=2) if invalid else []
    assert sorted(m.headers[ORIGINAL_MSG_ID_HEADER] for m in msgs) == sorted(invalid)
    for m in msgs:
        await m.ack()
    assert len(ids) + len(msgs) == len(events)


async def test_kill_minus_nine_mid_run_loses_and_duplicates_nothing(
    fresh_nats_server: Any, tmp_path: Path, consumer_process: list[ConsumerProcess]
) -> None:
    nc = await nats.connect(fresh_nats_server.url)
    js = nc.jetstream()
    await ensure_streams(js)
    events = many_events(N_EVENTS)
    await publish_many(js, events)
    state = tmp_path / "state"
    first = ConsumerProcess(consumer_env(fresh_nats_server.url, state, online=True), tmp_path / "consumer.log")
    consumer_process.append(first)
    first.start()
    await wait_until(lambda: ingested(state) >= N_EVENTS // 3)
    first.kill9()
    assert ingested(state) < sum(w.valid for w in events), "killed too late to test anything"

    second = ConsumerProcess(first.env, first.log)
    consumer_process.append(second)
    second.start()
    await settled(js, invalid=sum(not w.valid for w in events))
    assert second.terminate() == 0
    await check_exactly_once(js, state, events)
    with sqlite3.connect(state / "state.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM batches WHERE pushed = 0").fetchone()[0] == 0
    await nc.close()


async def test_nats_restart_mid_run_loses_and_duplicates_nothing(
    fresh_nats_server: Any, tmp_path: Path, consumer_process: list[ConsumerProcess]
) -> None:
    nc = await nats.connect(fresh_nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    js = nc.jetstream()
    await ensure_streams(js)
    events = many_events(N_EVENTS)
    await publish_many(js, events)
    state = tmp_path / "state"
    proc = ConsumerProcess(consumer_env(fresh_nats_server.url, state, online=False), tmp_path / "consumer.log")
    consumer_process.append(proc)
    proc.start()
    await wait_until(lambda: ingested(state) >= N_EVENTS // 3)
    assert ingested(state) < sum(w.valid for w in events), "restarted too late to test anything"
    fresh_nats_server.stop()
    await asyncio.sleep(1.0)
    fresh_nats_server.restart()
    await settled(js, invalid=sum(not w.valid for w in events))
    assert ingested(state) == sum(w.valid for w in events)
    assert proc.terminate() == 0
    await check_exactly_once(js, state, events)
    await nc.close()
