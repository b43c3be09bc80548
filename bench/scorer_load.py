"""Load the tip scorer: KServe ModelServer vs a bare FastAPI app around the same model and Feast read.

Open loop: request i is sent at ``start + i / rate`` whatever happened to earlier ones, and its latency is
measured from that scheduled time, so a stalled server shows up as latency instead of a slower client
(no coordinated omission). Client: aiohttp, one ``ClientSession`` whose connector has no connection limit
(NOT a shared httpx.AsyncClient, whose pool stalls requests on its own; DESIGN.md). Saturation: closed
loop, ``--workers`` concurrent clients back to back for ``--saturation-s`` seconds.

The client runs on the same 2 cores as the servers. Its own stalls would be charged to the server, so its
start-up heap (Feast, MLflow, pandas: it builds the world) is frozen and its garbage collector is off
during each timed phase (collected between phases); the pauses it had anyway are printed. It runs on
uvloop, which costs less CPU per request than asyncio's loop. Per phase the table prints the server's and
this client's CPU per request (ms) and ``others``: the cores the rest of the machine (neither this client
nor the server under test, e.g. the idle other server or other users' jobs) used meanwhile, so figures
taken on a busy machine can be told apart.

Each request: one user (5% unknown: cold start), 20 candidate tips, some profile features; the server reads
Feast online features (SQLite) for every request and scores with a LightGBM model registered in MLflow.

    .venv/bin/python -m bench.scorer_load                 # 100/200/400 req/s for 60 s each
    .venv/bin/python -m bench.scorer_load --seconds 20    # shorter, for quick iterations
    .venv/bin/python -m bench.scorer_load --rates 200 --saturation-s 0   # one rate, no saturation phase
    .venv/bin/python -m bench.scorer_load --rates 200 400 --repeat 3     # three consecutive runs, one world
    .venv/bin/python -m bench.scorer_load --profile 20    # then py-spy's top frames of the KServe server
    .venv/bin/python -m bench.scorer_load --targets kserve kserve-router bare   # the V1 predict lane on and off

Before the servers, the in-process cost of one request (``bench.scorer_micro``): back to back, and with the
thread asleep between requests as a worker is at a low rate.

Both targets run ``--server-workers`` processes (default: one per core) behind one port; server CPU is the
whole process tree's. After each KServe phase the server's own garbage-collector pauses are printed (from its
``/metrics``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.scorer_micro import micro, spaced
from bench.scorer_probe import (
    cpu_seconds,
    gc_pauses,
    machine_busy_seconds,
    own_cpu_seconds,
    print_gc,
    print_profile,
    profile,
    settle,
)
from contracts.names import SCORER_MODEL
from contracts.runtime import apply_offline_switches

READY = f"/v1/models/{SCORER_MODEL}"
PREDICT = f"{READY}:predict"


@dataclass
class Result:
    target: str
    rate: float | None
    sent: int
    errors: int
    latencies_ms: list[float]
    wall_s: float
    server_cpu_s: float = float("nan")
    client_cpu_s: float = float("nan")
    other_cores: float = float("nan")
    """CPU the rest of the machine used meanwhile (not this client, not the server under test), in cores."""

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(q * len(data)))]

    @property
    def error_rate(self) -> float:
        return self.errors / self.sent if self.sent else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        """Server CPU (user + system) per request sent, from /proc: what one request costs the server."""
        return 1000 * self.server_cpu_s / self.sent if self.sent else float("nan")

    @property
    def throughput(self) -> float:
        return (self.sent - self.errors) / self.wall_s if self.wall_s else 0.0


def make_bodies(users: list[str], tips: list[str], n: int, candidates: int, seed: int) -> list[bytes]:
    import orjson

    rng = random.Random(seed)
    bodies = []
    for i in range(n):
        user = rng.choice(users) if rng.random() > 0.05 else f"new-user-{i}"
        profile: dict[str, Any] = {"tenure_days": rng.randint(0, 900), "notifications_enabled": rng.random() < 0.5}
        if rng.random() < 0.5:
            profile["completion_rate_30d"] = round(rng.random(), 3)
        inst = {"user_id": user, "candidates": rng.sample(tips, candidates), "profile_features": profile}
        bodies.append(orjson.dumps({"instances": [inst]}))
    return bodies


async def open_loop(url: str, bodies: list[bytes], rate: float, duration: float, target: str) -> Result:
    import aiohttp

    n = int(rate * duration)
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(i: int, scheduled: float) -> None:
            nonlocal errors
            ok = await post_ok(session, url, bodies[i % len(bodies)])
            if ok:
                latencies.append((time.perf_counter() - scheduled) * 1000)
            else:
                errors += 1

        tasks = []
        start = time.perf_counter() + 0.05
        for i in range(n):
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, scheduled)))
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - start
    return Result(target, rate, n, errors, latencies, wall)


async def post_ok(session: Any, url: str, body: bytes) -> bool:
    """One V1 predict call; True when it answered 200 (connection errors and timeouts count as errors)."""
    import aiohttp

    try:
        async with session.post(url + PREDICT, data=body, headers={"content-type": "application/json"}) as r:
            await r.read()
            return bool(r.status == 200)
    except (aiohttp.ClientError, TimeoutError):
        return False


async def closed_loop(url: str, bodies: list[bytes], workers: int, duration: float, target: str) -> Result:
    import aiohttp

    latencies: list[float] = []
    errors = sent = 0
    deadline = time.perf_counter() + duration
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10)) as session:

        async def worker(w: int) -> None:
            nonlocal errors, sent
            i = w
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                ok = await post_ok(session, url, bodies[i % len(bodies)])
                sent += 1
                if ok:
                    latencies.append((time.perf_counter() - t0) * 1000)
                else:
                    errors += 1
                i += workers

        start = time.perf_counter()
        await asyncio.gather(*(worker(w) for w in range(workers)))
        wall = time.perf_counter() - start
    return Result(target, None, sent, errors, latencies, wall)


async def drain(url: str, timeout: float = 60.0) -> None:
    """Wait until the server answers readiness fast again: an overloaded run leaves a backlog behind."""
    import aiohttp

    deadline = time.perf_counter() + timeout
    async with aiohttp.ClientSession() as session:
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            try:
                async with session.get(url + READY) as r:
                    await r.read()
            except aiohttp.ClientError:
                pass
            if time.perf_counter() - t0 < 0.02:
                return
            await asyncio.sleep(0.5)


class ClientPauses:
    """Garbage-collector pauses of this (client) process, so a client stall is not blamed on a server."""

    def __init__(self) -> None:
        self.pauses_ms: list[float] = []
        self._start = 0.0
        gc.callbacks.append(self._on_gc)

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses_ms.append((time.perf_counter() - self._start) * 1000)

    def run(self, coro: Any) -> Any:
        """Run one timed phase with the collector off, then collect what it left."""
        gc.disable()
        try:
            return asyncio.run(coro)
        finally:
            gc.enable()
            gc.collect()


def summary(args: Any, results: list[Result], sat: dict[str, Result], run: int) -> None:
    """One run's table, saturation ratio and p99 ratios."""
    print(
        f"\n=== summary of run {run} (open loop {args.seconds:.0f} s per rate; saturation: {args.workers} "
        f"closed-loop clients for {args.saturation_s:.0f} s; latency ms from scheduled send time) ==="
    )
    table(results)
    names = list(dict.fromkeys(r.target for r in results))
    for name, base in _pairs(names):
        if name in sat and base in sat:
            print(
                f"saturation throughput: {name} {sat[name].throughput:.0f} req/s, {base} "
                f"{sat[base].throughput:.0f} req/s, ratio {name}/{base} = "
                f"{sat[name].throughput / sat[base].throughput:.2f}"
            )
    for rate in args.rates:
        at = {r.target: r for r in results if r.rate == rate}
        for name, base in _pairs(names):
            a, b = at[name], at[base]
            print(
                f"at {rate:.0f} req/s: {name} vs {base}: p99 {a.pct(0.99):.2f} vs {b.pct(0.99):.2f} ms "
                f"(ratio {a.pct(0.99) / b.pct(0.99):.2f}), cpu {a.cpu_ms_per_request:.2f} vs "
                f"{b.cpu_ms_per_request:.2f} ms/req (ratio {a.cpu_ms_per_request / b.cpu_ms_per_request:.2f})"
            )


def _pairs(names: list[str]) -> list[tuple[str, str]]:
    """Which target is compared with which: the scorer with bare FastAPI, and with its router-only self."""
    wanted = [("kserve", "bare"), ("kserve-router", "bare"), ("kserve", "kserve-router")]
    return [(a, b) for a, b in wanted if a in names and b in names]


def table(results: list[Result]) -> None:
    print(
        f"\n{'target':<13} {'rate':>6} {'sent':>7} {'err%':>6} {'p50':>7} {'p99':>7} {'p99.9':>7} {'max':>7}"
        f" {'achieved/s':>10} {'cpu ms/req':>10} {'client':>6} {'others':>6}"
    )
    for r in results:
        rate = f"{r.rate:.0f}" if r.rate else "sat."
        print(
            f"{r.target:<13} {rate:>6} {r.sent:>7} {100 * r.error_rate:>5.2f}% {r.pct(0.5):>7.2f} {r.pct(0.99):>7.2f}"
            f" {r.pct(0.999):>7.2f} {max(r.latencies_ms, default=float('nan')):>7.2f} {r.throughput:>10.1f}"
            f" {r.cpu_ms_per_request:>10.2f} {1000 * r.client_cpu_s / max(r.sent, 1):>6.2f} {r.other_cores:>6.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--seconds", "--duration", dest="seconds", type=float, default=60.0, help="seconds per open-loop rate"
    )
    parser.add_argument("--rates", type=float, nargs="+", default=[100.0, 200.0, 400.0])
    parser.add_argument("--saturation-s", type=float, default=20.0, help="closed-loop seconds (0: skip)")
    parser.add_argument("--workers", type=int, default=16, help="closed-loop clients for saturation")
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--tips", type=int, default=1000)
    parser.add_argument("--state-dir", type=Path, default=None, help="reuse a world built here (else a temp dir)")
    parser.add_argument("--micro", type=int, default=300, help="in-process repeats (0 to skip)")
    parser.add_argument(
        "--server-workers",
        type=int,
        default=os.cpu_count() or 1,
        help="server processes of each target (TIPSML_WORKERS; default: one per core)",
    )
    parser.add_argument(
        "--profile",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="after the timed phases, sample the KServe server with py-spy for this long at --profile-rate "
        "(not counted in the table) and print its top frames",
    )
    parser.add_argument("--profile-rate", type=float, default=200.0)
    parser.add_argument(
        "--targets",
        nargs="+",
        choices=("kserve", "kserve-router", "bare"),
        default=["kserve", "bare"],
        help="servers to load, in this order (kserve-router: the scorer with TIPSML_PREDICT_LANE=false)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="consecutive runs of saturation + every rate, each summarised"
    )
    args = parser.parse_args()
    apply_offline_switches()
    import uvloop

    # The client shares the 2 cores with the server under test: aiohttp on uvloop needs less CPU per request.
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

    from bench.scorer_world import build_world, spawn_scorer
    from tipsml.stack.processes import free_port, stop_pid, wait_for_port

    root = args.state_dir or Path(tempfile.mkdtemp(prefix="scorer-bench-"))
    t0 = time.perf_counter()
    world = build_world(root, n_users=args.users, n_tips=args.tips)
    print(f"world: {args.users} users, {args.tips} tips, model v{world.version} ({time.perf_counter() - t0:.0f} s)")
    if args.micro:
        micro(world, args.micro)
        spaced(world, args.micro)

    kserve = spawn_scorer(world, root / "run", workers=str(args.server_workers))
    router = (
        spawn_scorer(world, root / "run", workers=str(args.server_workers), predict_lane="false")
        if "kserve-router" in args.targets
        else None
    )
    port = free_port()
    env = {
        **os.environ,
        "TIPSML_STATE_DIR": str(world.root),
        "TIPSML_MLFLOW_TRACKING_URI": world.tracking_uri,
        "TIPSML_WORKERS": str(args.server_workers),
    }
    import subprocess
    import sys

    with (root / "run" / "bare.log").open("wb") as log:
        bare = subprocess.Popen(
            [sys.executable, "-m", "bench.scorer_bare_app", "--port", str(port)],  # noqa: S603
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, 120, bare)
        every = {"kserve": (kserve.url, kserve.pid), "bare": (f"http://127.0.0.1:{port}", bare.pid)}
        if router is not None:
            every["kserve-router"] = (router.url, router.pid)
        targets = {name: every[name] for name in args.targets}
        bodies = make_bodies(world.users, world.tips, 5000, args.candidates, seed=7)
        print(
            f"server: {args.server_workers} process(es) each (TIPSML_WORKERS). kserve: python -m predictors.scorer "
            "(KServe RESTServer + DataPlane, no gRPC, no timing middleware, kserve/uvicorn loggers WARNING, access "
            "log off, V1 predict answered in front of FastAPI); kserve-router: the same with "
            "TIPSML_PREDICT_LANE=false (every request through KServe's FastAPI app); bare: FastAPI on uvicorn, "
            "access_log=False WARNING; all: TIPSML_* defaults (predict_in=auto: on the loop for SQLite, "
            "event_loop=uvloop, tip_stats_ttl_s=1.0) plus any TIPSML_* set in this environment"
        )
        for _, pid in targets.values():
            settle(pid)  # every worker loaded, not only the first that answers
        print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores)")
        client = ClientPauses()
        gc.collect()
        gc.freeze()  # the client's own start-up heap: never walked again by its collector

        def phase(name: str, run: Any) -> Result:
            url, pid = targets[name]
            pauses = gc_pauses(url)
            cpu, own, busy, t0 = cpu_seconds(pid), own_cpu_seconds(os.getpid()), machine_busy_seconds(), time.time()
            r: Result = client.run(run(url))
            r.server_cpu_s = cpu_seconds(pid) - cpu
            r.client_cpu_s = own_cpu_seconds(os.getpid()) - own
            others = machine_busy_seconds() - busy - r.server_cpu_s - r.client_cpu_s
            r.other_cores = max(0.0, others) / (time.time() - t0)
            table([r])
            print_gc(pauses, gc_pauses(url))
            asyncio.run(drain(url))
            return r

        for name, (url, _) in targets.items():
            asyncio.run(open_loop(url, bodies, 50, 3, name))  # warm-up: caches, connections
        for run in range(1, args.repeat + 1):
            print(f"\n##### run {run} of {args.repeat}: load average {os.getloadavg()[0]:.2f} (2 cores)")
            results: list[Result] = []
            sat = {}
            for name in targets if args.saturation_s > 0 else ():  # first: a 400/s run may leave a backlog
                sat[name] = phase(
                    name, lambda u, n=name: closed_loop(u, bodies, args.workers, args.saturation_s, n)
                )
            for rate in args.rates:
                for name in targets:
                    results.append(phase(name, lambda u, n=name, q=rate: open_loop(u, bodies, q, args.seconds, n)))
            results.extend(sat.values())
            summary(args, results, sat, run)
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        if args.profile > 0:
            url, pid = every["kserve"]
            print(f"\n=== py-spy: kserve at {args.profile_rate:.0f} req/s, {args.profile:.0f} s (not in the table) ===")
            print_profile(
                profile(pid, lambda: client.run(open_loop(url, bodies, args.profile_rate, args.profile, "kserve")))
            )
        print(
            f"client GC: off during timed phases; {len(client.pauses_ms)} collections between phases, "
            f"longest {max(client.pauses_ms, default=0.0):.1f} ms"
        )
    finally:
        kserve.stop()
        if router is not None:
            router.stop()
        stop_pid(bare.pid)


if __name__ == "__main__":
    main()
