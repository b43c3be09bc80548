"""Fixtures of the consumer tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ingest_helpers import Running, make_settings
from nats.js import JetStreamContext

from streams.app import run
from streams.consumer import Consumer
from streams.metrics import IngestMetrics
from streams.writer import BatchWriter


@pytest.fixture
async def start_consumer(
    jetstream: JetStreamContext, nats_server: Any, tmp_path: Path
) -> AsyncIterator[Callable[..., Any]]:
    """Start the consumer in this event loop; stopped (drained) at teardown."""
    started: list[Running] = []

    async def _start(**overrides: Any) -> Running:
        settings = make_settings(tmp_path / "state", nats_server.url, **overrides)
        metrics, stop = IngestMetrics(), asyncio.Event()
        running = Running(settings, metrics, stop, asyncio.create_task(run(settings, stop, metrics)))
        started.append(running)
        return running

    yield _start
    for r in started:
        r.stop.set()
        await asyncio.wait_for(r.task, 30)


@dataclass
class RunningConsumer(Running):
    """A :class:`Running` whose :class:`Consumer` is reachable (its ``ready`` event)."""

    ready: asyncio.Event = field(default_factory=asyncio.Event)


@pytest.fixture
async def start_consumer_on(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """Start a :class:`Consumer` (no pusher) against any server URL; stopped at teardown."""
    started: list[tuple[RunningConsumer, BatchWriter]] = []

    async def _start(url: str, **overrides: Any) -> RunningConsumer:
        settings = make_settings(tmp_path / "state", url, **overrides)
        metrics, stop, writer = IngestMetrics(), asyncio.Event(), BatchWriter(settings)
        consumer = Consumer(settings, writer, metrics)
        running = RunningConsumer(settings, metrics, stop, asyncio.create_task(consumer.run(stop)), consumer.ready)
        started.append((running, writer))
        return running

    yield _start
    for r, writer in started:
        r.stop.set()
        await asyncio.wait_for(r.task, 30)
        writer.close()
