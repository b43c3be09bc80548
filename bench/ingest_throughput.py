"""End-to-end ingest throughput and freshness, beside bare consume+ack in the same run.

    .venv/bin/python bench/ingest_throughput.py [--events 100000] [--batch-size 2000]

1. starts its own nats-server, publishes N generated events (pipelined);
2. baseline: bare pull-consume + ack of the same N events (own durables, no parsing, no writes);
3. end to end: ``python -m streams`` as a subprocess (what ``tipsml up`` runs) consumes the same N events:
   validate, event log (Parquet), state DB (tasks, opens, rewards; SQLite synchronous=FULL), Feast online push,
   ack. Timed from its first delivery to the last ack (start-up, i.e. importing Feast, excluded);
   Meanwhile the state DB is polled for committed batches not yet pushed: commit -> online lag under load;
4. freshness: single events published to an idle consumer, timed until their feature value is readable from
   the online store (Feast ``get_online_features`` in this process).

Prints events/s of both, their ratio, the consumer's peak RSS, the commit -> online lag under load and
freshness (idle) median / p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from contracts.runtime import apply_offline_switches

apply_offline_switches()

import nats  # noqa: E402
from ingest_events import children, cpu_seconds, generate, peak_rss_mib, publish_all, start_nats  # noqa: E402
from nats.js import JetStreamContext  # noqa: E402
from nats.js.api import AckPolicy, ConsumerConfig  # noqa: E402

from contracts.streams import FEEDBACK_STREAM, MSG_ID_HEADER, SIGNALS_STREAM  # noqa: E402
from streams.topology import ensure_streams  # noqa: E402

STREAMS = (SIGNALS_STREAM, FEEDBACK_STREAM)


async def bare_consume(js: JetStreamContext, n: int, batch: int) -> float:
    got = 0
    done = asyncio.Event()

    async def one(stream: str) -> None:
        nonlocal got
        cfg = ConsumerConfig(durable_name=f"bare-{stream.lower()}", ack_policy=AckPolicy.EXPLICIT,
                             max_ack_pending=4 * batch)
        await js.add_consumer(stream, cfg)
        sub = await js.pull_subscribe_bind(f"bare-{stream.lower()}", stream=stream)
        while not done.is_set():
            try:
                msgs = await sub.fetch(batch, timeout=0.5)
            except (nats.errors.TimeoutError, TimeoutError):
                continue
            for m in msgs:
                await m.ack()
            got += len(msgs)
            if got >= n:
                done.set()

    t0 = time.perf_counter()
    tasks = [asyncio.create_task(one(s)) for s in STREAMS]
    await done.wait()
    took = time.perf_counter() - t0
    await asyncio.gather(*tasks)
    return took


async def wait_drained(
    js: JetStreamContext, prefix: str, proc: subprocess.Popen[bytes], at_first: dict[int, float]
) -> tuple[float, float]:
    """(first delivery, all acked) monotonic times of the consumer's durables."""
    first = None
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"consumer exited with {proc.returncode}")
        infos = []
        for s in STREAMS:
            try:
                infos.append(await js.consumer_info(s, f"{prefix}-{s.lower()}"))
            except nats.js.errors.NotFoundError:
                infos.append(None)
        now = time.perf_counter()
        if first is None and any(i is not None and i.delivered.stream_seq > 0 for i in infos):
            first = now
            at_first.update({k: cpu_seconds(k) for k in children(proc.pid)})
        if first is not None and all(i is not None and i.num_pending == 0 and i.num_ack_pending == 0
                                     for i in infos):
            return first, now
        await asyncio.sleep(0.02)


async def track_pushes(db: Path, drained: asyncio.Event) -> tuple[float, list[float]]:
    """Poll the state DB every 20 ms while the backlog drains: (time no batch waits for the push, lags).

    A lag is how long a committed batch waited until its values were online, from the first poll that saw it
    unpushed (so up to 20 ms short): the staleness the pusher adds under load.
    """
    import sqlite3

    def unpushed() -> set[str]:  # in a worker thread: a busy SQLite file must not stall the event loop
        if not db.exists():
            return set()
        conn = sqlite3.connect(db, timeout=10)
        try:
            return {r[0] for r in conn.execute("SELECT batch_id FROM batches WHERE pushed = 0")}
        except sqlite3.OperationalError:  # schema not created yet
            return set()
        finally:
            conn.close()

    seen: dict[str, float] = {}
    lags: list[float] = []
    while True:
        waiting = await asyncio.to_thread(unpushed)
        now = time.perf_counter()
        for batch in waiting - seen.keys():
            seen[batch] = now
        for batch in [b for b in seen if b not in waiting]:
            lags.append(now - seen.pop(batch))
        if drained.is_set() and not waiting:
            return now, lags
        await asyncio.sleep(0.02)


async def freshness(url: str, state: Path, samples: int) -> list[float]:
    from feature_repo.config import open_store
    from feature_repo.names import USER_ACTIVITY_VIEW

    store = open_store(state)
    nc = await nats.connect(url)
    js = nc.jetstream()
    out = []
    for i in range(samples):
        user = f"fresh-{os.getpid()}-{i}"
        body = {"event_id": f"fresh-{os.getpid()}-{i}-{time.time_ns()}", "type": "app_opened",
                "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "user_id": user,
                "platform": "ios"}
        t0 = time.perf_counter()
        await js.publish("signals.app_opened", json.dumps(body).encode(), headers={MSG_ID_HEADER: body["event_id"]})
        while True:
            got = store.get_online_features(features=[f"{USER_ACTIVITY_VIEW}:user_active_days_30d"],
                                            entity_rows=[{"user_id": user}]).to_dict()
            if got["user_active_days_30d"][0] is not None:
                out.append(time.perf_counter() - t0)
                break
            if time.perf_counter() - t0 > 10:
                raise SystemExit(f"event {i} not readable online after 10 s")
            await asyncio.sleep(0.005)
    await nc.close()
    return out


async def main(n: int, batch: int, samples: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    server = start_nats(root)
    try:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await ensure_streams(js)
        gen = generate(n)
        pub_s = await publish_all(server.url, gen)
        print(f"published {n} events in {pub_s:.2f} s ({n / pub_s:,.0f}/s)")

        bare_s = await bare_consume(js, n, batch)
        print(f"bare consume+ack:   {n / bare_s:>10,.0f} events/s ({bare_s:.2f} s)")

        state = root / "state"
        env = {**os.environ, "TIPSML_NATS_URL": server.url, "TIPSML_STATE_DIR": str(state),
               "TIPSML_BATCH_SIZE": str(batch), "TIPSML_DURABLE_PREFIX": "bench"}
        log = open(root / "consumer.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", "streams"], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            cpu0 = {p: cpu_seconds(p) for p in (proc.pid, server.pid)}
            pusher_cpu0: dict[int, float] = {}
            online = os.environ.get("TIPSML_ONLINE_PUSH") != "false"
            drained = asyncio.Event()
            pushes = asyncio.create_task(track_pushes(state / "state.db", drained)) if online else None
            first, last = await wait_drained(js, "bench", proc, pusher_cpu0)
            drained.set()
            online_done, lags = await pushes if pushes is not None else (last, [])
            acked_s, e2e_s = last - first, online_done - first
            rss = peak_rss_mib(proc.pid)
            kids = children(proc.pid)
            pusher_rss = max((peak_rss_mib(k) for k in kids), default=0.0)
            cpu = {"consumer": cpu_seconds(proc.pid) - cpu0[proc.pid],
                   "pusher": sum(cpu_seconds(k) - pusher_cpu0.get(k, 0.0) for k in kids),
                   "nats-server": cpu_seconds(server.pid) - cpu0[server.pid]}
            print(f"validated, written offline + state DB, acked: {n / acked_s:>10,.0f} events/s ({acked_s:.2f} s)")
            print(f"end to end (also every batch pushed online): {n / e2e_s:>10,.0f} events/s ({e2e_s:.2f} s)")
            print(f"ratio end-to-end / bare: {bare_s / e2e_s:.2f}  (acked / bare: {bare_s / acked_s:.2f})")
            print(f"peak RSS: consumer {rss:.0f} MiB, online pusher {pusher_rss:.0f} MiB")
            print("CPU seconds during the run: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
                  + f"  -> consumer {cpu['consumer'] / n * 1e6:.0f} us/event, pusher {cpu['pusher'] / n * 1e6:.0f}"
                  " us/event")
            print(f"machine load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            import pyarrow.dataset as ds

            written = ds.dataset(state / "events", format="parquet", partitioning="hive").count_rows()
            print(f"event log rows: {written} (published {n})")
            if lags:
                lags.sort()
                p99_lag = lags[min(len(lags) - 1, int(0.99 * len(lags)))]
                print(f"commit -> online under load ({len(lags)} batches): median {statistics.median(lags) * 1000:.0f}"
                      f" ms, p99 {p99_lag * 1000:.0f} ms, max {lags[-1] * 1000:.0f} ms")
            if online:
                lat = sorted(await freshness(server.url, state, samples))
                p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
                med = statistics.median(lat)
                print(f"freshness publish -> readable online ({samples} events): median {med * 1000:.0f} ms,"
                      f" p99 {p99 * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms")
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
            print(f"consumer exit code after SIGTERM: {proc.returncode}")
        await nc.close()
    finally:
        server.stop()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--batch-size", type=int, default=2000)
    ap.add_argument("--freshness-samples", type=int, default=50)
    args = ap.parse_args()
    asyncio.run(main(args.events, args.batch_size, args.freshness_samples))
