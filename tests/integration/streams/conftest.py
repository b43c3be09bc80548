"""Fixtures of the consumer tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from ingest_helpers import Running, make_settings
from nats.js import JetStreamContext

from streams.app import run
from streams.metrics import IngestMetrics


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
