"""The crash run at full size: 50,000 events, two kill -9s of the consumer, then a nats-server restart.

    .venv/bin/python bench/ingest_crash.py [--events 50000] [--invalid-share 0.01]

Publishes N generated events (1% poison), starts ``python -m streams``, kills it with SIGKILL a quarter and half
of the way in and starts it again each time, restarts nats-server at three quarters, waits until everything is
acked or dead-lettered, then checks valid written = valid in and poison dead-lettered = poison in, by event id,
exactly (no loss, no duplicate, no valid event dead-lettered), and that every batch reached the online store.
The poison is of every kind a careless or hostile producer sends (``POISON``): a bad id, timestamps out of the
contract's range (year 1 and 9999 with offsets, epoch 0), a non-integer schema version, a body whose type does
not match its subject, and an invalid event near the 256 KiB message limit. Prints the counts and the time.
(The CI test, tests/integration/streams/test_crash.py, does the same with 5,000 events.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from contracts.runtime import apply_offline_switches

apply_offline_switches()

import nats  # noqa: E402
import pyarrow.dataset as ds  # noqa: E402
from ingest_events import generate, publish_all, start_nats  # noqa: E402

from contracts.streams import DEADLETTER_STREAM, FEEDBACK_STREAM, SIGNALS_STREAM  # noqa: E402
from streams.deadletter import ORIGINAL_MSG_ID_HEADER  # noqa: E402
from streams.topology import ensure_streams  # noqa: E402

POISON = ("bad_id", "year_1", "year_9999", "epoch_0", "schema_true", "schema_string", "type_subject", "near_limit")
NEAR_LIMIT_EVERY = 25
"""One poison in this many is the near-limit kind (each is 250 KiB on the wire)."""


def poison(ids: list[str], subjects: list[str], bodies: list[bytes]) -> dict[str, str]:
    """Turn each invalid event of the generator into one poison kind, in rotation; {event_id: kind}."""
    kinds: dict[str, str] = {}
    n = 0
    for i, body in enumerate(bodies):
        if b"bad user id" not in body:
            continue
        ev = json.loads(body)
        kind = "near_limit" if n % NEAR_LIMIT_EVERY == NEAR_LIMIT_EVERY - 1 else POISON[n % (len(POISON) - 1)]
        n += 1
        if kind != "bad_id":
            ev["user_id"] = "u-poison"
        if kind == "year_1":
            ev["occurred_at"] = "0001-01-01T00:00:00+14:00"
        elif kind == "year_9999":
            ev["occurred_at"] = "9999-12-31T23:59:59-14:00"
        elif kind == "epoch_0":
            ev["occurred_at"] = "1970-01-01T00:00:00+00:00"
        elif kind == "schema_true":
            ev["schema_version"] = True
        elif kind == "schema_string":
            ev["schema_version"] = "1"
        elif kind == "type_subject":
            subjects[i] = "signals.app_opened" if ev["type"] != "app_opened" else "signals.task_completed"
        elif kind == "near_limit":
            ev["user_id"] = "bad user id"
            ev["padding"] = "x" * (250 * 1024)
        bodies[i] = json.dumps(ev).encode()
        kinds[ids[i]] = kind
    return kinds


async def deadlettered_ids(js: nats.js.JetStreamContext, expected: int) -> list[str]:
    """Original event ids of every dead-letter record."""
    sub = await js.pull_subscribe("deadletter.>", durable="crash-bench-dl", stream=DEADLETTER_STREAM)
    out: list[str] = []
    while True:
        try:
            msgs = await sub.fetch(500, timeout=2)
        except (TimeoutError, nats.errors.TimeoutError):
            break
        out += [(m.headers or {}).get(ORIGINAL_MSG_ID_HEADER, "?") for m in msgs]
        if len(out) >= expected:
            break
    await sub.unsubscribe()
    return out


def ingested(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM ingested_events").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


async def wait(cond, what: str, timeout: float = 600) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await cond():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def quiet(_: Exception) -> None:
    """The restart makes the client's reconnects fail for a second; that is the point, not news."""


async def main(n: int, invalid_share: float) -> None:
    root = Path(tempfile.mkdtemp(prefix="ingest-crash-"))
    server = start_nats(root)
    state = root / "state"
    db = state / "state.db"
    gen = generate(n, invalid_share=invalid_share)
    kinds = poison(gen.ids, gen.subjects, gen.bodies)
    valid = n - gen.invalid
    env = {**os.environ, "TIPSML_NATS_URL": server.url, "TIPSML_STATE_DIR": str(state), "TIPSML_BATCH_SIZE": "1000",
           "TIPSML_MAX_DELIVER": "3", "TIPSML_BACKOFF_SECONDS": "[]", "TIPSML_ACK_WAIT_SECONDS": "5",
           "TIPSML_NAK_DELAY_SECONDS": "0.1", "TIPSML_DURABLE_PREFIX": "crash"}
    log = open(root / "consumer.log", "ab")  # noqa: SIM115
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        procs.append(subprocess.Popen([sys.executable, "-m", "streams"], env=env, stdout=log, stderr=subprocess.STDOUT))

    try:
        nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2, error_cb=quiet)
        js = nc.jetstream()
        await ensure_streams(js)
        await publish_all(server.url, gen)
        t0 = time.perf_counter()
        start()

        for share in (4, 2):  # two kill -9s: at a quarter and at half of the valid events written

            async def reached(share: int = share) -> bool:
                return ingested(db) >= valid // share

            await wait(reached, f"1/{share} of the events")
            procs[-1].send_signal(signal.SIGKILL)
            procs[-1].wait()
            print(f"kill -9 at {ingested(db)} events written")
            start()

        async def three_quarters() -> bool:
            return ingested(db) >= 3 * valid // 4

        await wait(three_quarters, "three quarters of the events")
        at = ingested(db)
        server.stop()
        await asyncio.sleep(1.0)
        server.restart()
        print(f"nats-server restarted at {at} events written")

        async def settled() -> bool:
            try:
                infos = [await js.consumer_info(s, f"crash-{s.lower()}") for s in (SIGNALS_STREAM, FEEDBACK_STREAM)]
                dl = (await js.stream_info(DEADLETTER_STREAM)).state.messages
            except Exception:
                return False
            return dl >= gen.invalid and all(i.num_pending == 0 and i.num_ack_pending == 0 for i in infos)

        await wait(settled, "all events acked or dead-lettered")
        took = time.perf_counter() - t0
        procs[-1].send_signal(signal.SIGTERM)
        procs[-1].wait(120)
        table = ds.dataset(state / "events", format="parquet", partitioning="hive").to_table(columns=["event_id"])
        ids = table.column("event_id").to_pylist()
        dl = (await js.stream_info(DEADLETTER_STREAM)).state.messages
        with sqlite3.connect(db) as conn:
            unpushed = conn.execute("SELECT COUNT(*) FROM batches WHERE pushed = 0").fetchone()[0]
        valid_ids = set(gen.ids) - set(kinds)
        dl_ids = await deadlettered_ids(js, dl)
        written_valid = set(ids) & valid_ids
        dead_poison = set(dl_ids) & set(kinds)
        by_kind = {k: sum(1 for v in kinds.values() if v == k) for k in POISON}
        dead_by_kind = {k: sum(1 for i in dead_poison if kinds[i] == k) for k in POISON}
        print(f"events in {n} (valid {valid}, poison {gen.invalid}) in {took:.1f} s")
        print(f"valid in {len(valid_ids)}, valid written {len(written_valid)}")
        print(f"poison in {len(kinds)}, poison dead-lettered {len(dead_poison)}")
        print("poison by kind (in/dead-lettered): " + ", ".join(f"{k} {by_kind[k]}/{dead_by_kind[k]}" for k in POISON))
        print(f"written {len(ids)} (distinct {len(set(ids))}), dead-letter records {dl}, not pushed online {unpushed}")
        exact = (
            len(ids) == len(set(ids))
            and set(ids) == valid_ids
            and dead_poison == set(kinds)
            and dl == len(kinds)
            and not set(dl_ids) & valid_ids
            and unpushed == 0
        )
        print("valid written = valid in, poison dead-lettered = poison in, exactly:", "YES" if exact else "NO")
        await nc.close()
        if not exact:
            raise SystemExit(1)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        server.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--invalid-share", type=float, default=0.01)
    args = ap.parse_args()
    asyncio.run(main(args.events, args.invalid_share))
