"""The crash run at full size: 50,000 events, kill -9 of the consumer, then a nats-server restart, mid-way.

    .venv/bin/python bench/ingest_crash.py [--events 50000] [--invalid-share 0.01]

Publishes N generated events (1% invalid), starts ``python -m streams``, kills it with SIGKILL a third of
the way in and starts it again, restarts nats-server at two thirds, waits until everything is acked or
dead-lettered, then checks events in = events written + events dead-lettered, exactly (no loss, no
duplicate), and that every batch reached the online store. Prints the counts and the time it took.
(The CI test, tests/integration/streams/test_crash.py, does the same with 5,000 events.)
"""

from __future__ import annotations

import argparse
import asyncio
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
from streams.topology import ensure_streams  # noqa: E402


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

        async def third() -> bool:
            return ingested(db) >= valid // 3

        await wait(third, "a third of the events")
        procs[-1].send_signal(signal.SIGKILL)
        procs[-1].wait()
        print(f"kill -9 at {ingested(db)} events written")
        start()

        async def two_thirds() -> bool:
            return ingested(db) >= 2 * valid // 3

        await wait(two_thirds, "two thirds of the events")
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
        expected_ids = {i for i, b in zip(gen.ids, gen.bodies, strict=True) if b"bad user id" not in b}
        print(f"events in {n} (valid {valid}, invalid {gen.invalid}) in {took:.1f} s")
        print(f"written {len(ids)} (distinct {len(set(ids))}), dead-lettered {dl}, not pushed online {unpushed}")
        exact = len(ids) == len(set(ids)) and set(ids) == expected_ids and dl == gen.invalid and unpushed == 0
        print("events in = written + dead-lettered, exactly:", "YES" if exact else "NO")
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
