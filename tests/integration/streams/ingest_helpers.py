"""Helpers of the consumer tests (a plain module: the test tree has no packages)."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nats.js import JetStreamContext

from contracts.streams import MSG_ID_HEADER
from streams.metrics import IngestMetrics
from streams.settings import ConsumerSettings

NOW = datetime.now(UTC).replace(microsecond=0)
_IDS = itertools.count(int(NOW.timestamp()) * 1000)
"""JetStream remembers Nats-Msg-Id for an hour, even across purges: every event id must be new."""


def payload(kind: str, n: int = 0, **overrides: Any) -> dict[str, Any]:
    """A valid event of ``kind`` as a JSON-ready dict."""
    base: dict[str, Any] = {
        "event_id": f"{kind}-{n}-{next(_IDS)}",
        "occurred_at": NOW.isoformat(),
        "user_id": f"u-{n % 7}",
    }
    extra: dict[str, dict[str, Any]] = {
        "task_synced": {
            "task_id": f"t-{n}",
            "status": "open",
            "category": "work",
            "title": "Write the report",
        },
        "task_completed": {"task_id": f"t-{n}", "category": "work"},
        "app_opened": {"platform": "ios", "tz_offset_minutes": 60},
        "tip_shown": {
            "request_id": f"r-{n}",
            "tip_id": f"tip-{n % 5}",
            "category": "health",
            "model_version": "3",
            "prompt_version": "v2",
            "propensity": 0.5,
        },
        "tip_reaction": {"request_id": f"r-{n}", "tip_id": f"tip-{n % 5}", "reaction": "liked"},
    }
    family = "feedback" if kind.startswith("tip_") else "signals"
    return {**base, "type": kind, **extra[kind], **overrides, "_subject": f"{family}.{kind}"}


async def publish(js: JetStreamContext, event: dict[str, Any], msg_id: str | None = None) -> None:
    body = {k: v for k, v in event.items() if k != "_subject"}
    headers = {MSG_ID_HEADER: msg_id or str(body.get("event_id", "x"))}
    await js.publish(event["_subject"], json.dumps(body).encode(), headers=headers)


@dataclass
class Running:
    settings: ConsumerSettings
    metrics: IngestMetrics
    stop: asyncio.Event
    task: asyncio.Task[None]

    def count(self, name: str, **labels: str) -> float:
        total = 0.0
        for metric in self.metrics.registry.collect():
            for s in metric.samples:
                if s.name == f"tipsml_ingest_{name}_total" and all(
                    s.labels.get(k) == v for k, v in labels.items()
                ):
                    total += s.value
        return total

    async def wait_for(self, cond: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not cond():
            if self.task.done():
                self.task.result()
            assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
            await asyncio.sleep(0.05)


def make_settings(state: Path, url: str, **overrides: Any) -> ConsumerSettings:
    values: dict[str, Any] = {
        "nats_url": url,
        "state_dir": state,
        "batch_size": 200,
        "fetch_timeout_seconds": 0.2,
        "max_deliver": 3,
        "backoff_seconds": [],
        "ack_wait_seconds": 5.0,
        "nak_delay_seconds": 0.05,
        "online_push": False,
        "sqlite_synchronous": "NORMAL",
        "durable_prefix": "test",
    }
    values.update(overrides)
    return ConsumerSettings(**values)


KINDS = ("task_synced", "task_completed", "app_opened", "tip_shown", "tip_reaction")


@dataclass(frozen=True)
class Wire:
    subject: str
    body: bytes
    event_id: str
    valid: bool


def many_events(n: int, invalid_every: int = 50) -> list[Wire]:
    """``n`` events of every kind over a few users; every ``invalid_every``-th breaks its contract."""
    out = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        ev = payload(kind, i)
        valid = i % invalid_every != invalid_every - 1
        if not valid:
            ev["user_id"] = "not a valid id"
        body = {k: v for k, v in ev.items() if k != "_subject"}
        out.append(Wire(ev["_subject"], json.dumps(body).encode(), body["event_id"], valid))
    return out


async def publish_many(js: JetStreamContext, events: list[Wire], window: int = 500) -> None:
    for i in range(0, len(events), window):
        chunk = events[i : i + window]
        await asyncio.gather(*(js.publish(w.subject, w.body, headers={MSG_ID_HEADER: w.event_id}) for w in chunk))
