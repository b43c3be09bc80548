"""Helpers of the ingest benchmarks: a small event generator, a nats-server, a pipelined publisher.

The generator mixes the five event types roughly like the app does (opens and task updates dominate) over
``users`` users and ``tips`` tips, with timestamps in the last hour, and marks ``invalid_share`` of them
invalid (a bad enum value) so dead-lettering is exercised too.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
from nats.aio.msg import Msg

from contracts.streams import MSG_ID_HEADER
from tipsml.stack.nats_server import nats_server_command
from tipsml.stack.processes import free_port, spawn, stop_pid

KINDS = ("app_opened", "task_synced", "task_completed", "tip_shown", "tip_reaction")
WEIGHTS = (0.35, 0.25, 0.10, 0.20, 0.10)
CATEGORIES = ("work", "personal", "health", "finance", "learning", "home", "social", "errands")


@dataclass(frozen=True, slots=True)
class Generated:
    subjects: list[str]
    bodies: list[bytes]
    ids: list[str]
    invalid: int


def generate(n: int, *, users: int = 5000, tips: int = 300, invalid_share: float = 0.0, seed: int = 7,
             tag: str = "") -> Generated:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    tag = tag or f"{seed}-{int(now.timestamp())}"
    subjects, bodies, ids = [], [], []
    invalid = 0
    for i in range(n):
        kind = rng.choices(KINDS, WEIGHTS)[0]
        at = now - timedelta(seconds=rng.randint(0, 3600))
        u = rng.randrange(users)
        ev: dict[str, object] = {"event_id": f"b-{tag}-{i}", "type": kind, "occurred_at": at.isoformat(),
                                 "user_id": f"u{u}"}
        cat = rng.choice(CATEGORIES)
        if kind == "app_opened":
            ev |= {"platform": rng.choice(("ios", "android", "web")), "tz_offset_minutes": rng.choice((0, 60, -300))}
        elif kind == "task_synced":
            ev |= {"task_id": f"t{u}-{rng.randrange(20)}", "status": rng.choice(("open", "in_progress", "done")),
                   "category": cat, "title": "Plan the week"}
        elif kind == "task_completed":
            ev |= {"task_id": f"t{u}-{rng.randrange(20)}", "category": cat}
        elif kind == "tip_shown":
            ev |= {"request_id": f"r{u}-{i}", "tip_id": f"tip{rng.randrange(tips)}", "category": cat,
                   "model_version": rng.choice(("1", "2")), "prompt_version": rng.choice(("v1", "v2", None)),
                   "propensity": 0.5}
        else:
            ev |= {"request_id": f"r{u}-{max(0, i - rng.randrange(1, 50))}", "tip_id": f"tip{rng.randrange(tips)}",
                   "reaction": rng.choice(("liked", "acted", "dismissed", "snoozed"))}
        if rng.random() < invalid_share:
            ev["user_id"] = "bad user id with spaces"
            invalid += 1
        family = "feedback" if kind.startswith("tip_") else "signals"
        subjects.append(f"{family}.{kind}")
        bodies.append(json.dumps(ev).encode())
        ids.append(str(ev["event_id"]))
    return Generated(subjects, bodies, ids, invalid)


@dataclass
class Server:
    url: str
    pid: int
    port: int
    store: Path

    def stop(self) -> None:
        stop_pid(self.pid)

    def restart(self) -> None:
        rec = spawn("nats", nats_server_command(self.port, self.store), self.port, self.store.parent / "pids",
                    self.store.parent / "nats.log")
        self.pid = rec.pid


def start_nats(root: Path | None = None) -> Server:
    root = root or Path(tempfile.mkdtemp(prefix="ingest-bench-"))
    port = free_port()
    store = root / "js"
    rec = spawn("nats", nats_server_command(port, store), port, root / "pids", root / "nats.log")
    return Server(f"nats://127.0.0.1:{port}", rec.pid, port, store)


async def publish_all(url: str, gen: Generated, window: int = 2000) -> float:
    """Publish every event (pipelined, at most ``window`` unacked); returns seconds taken."""
    nc = await nats.connect(url)
    inbox = nc.new_inbox()
    acked = 0
    room, done = asyncio.Event(), asyncio.Event()

    async def on_ack(_: Msg) -> None:
        nonlocal acked
        acked += 1
        room.set()
        if acked == len(gen.bodies):
            done.set()

    sub = await nc.subscribe(f"{inbox}.*", cb=on_ack, pending_msgs_limit=window * 4)
    t0 = asyncio.get_running_loop().time()
    for i, (subject, body) in enumerate(zip(gen.subjects, gen.bodies, strict=True)):
        while i - acked >= window:
            room.clear()
            await asyncio.wait_for(room.wait(), 30)
        await nc.publish(subject, body, reply=f"{inbox}.{i}", headers={MSG_ID_HEADER: gen.ids[i]})
    if gen.bodies:
        await asyncio.wait_for(done.wait(), 60)
    took = asyncio.get_running_loop().time() - t0
    await sub.unsubscribe()
    await nc.close()
    return took


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        out += [int(c) for c in text]
    return out
