"""While NATS is down, a consumer loop logs one line per interval, not a traceback per retry."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, cast

import pytest

import streams.consumer as consumer_module
from streams.consumer import Consumer
from streams.settings import ConsumerSettings
from streams.writer import BatchWriter


class DownPuller:
    """A puller whose every fetch fails the way nats-py does while reconnecting."""

    def __init__(self) -> None:
        self.calls = 0

    async def fetch(self, timeout: float) -> list[Any]:
        self.calls += 1
        raise ConnectionResetError("nats: connection closed")


async def test_fetch_failures_are_logged_once_per_interval_without_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(consumer_module, "FETCH_RETRY_SECONDS", 0.005)
    settings = ConsumerSettings(state_dir=tmp_path, online_push=False)
    consumer = Consumer(settings, cast(BatchWriter, object()))
    puller, stop = DownPuller(), asyncio.Event()
    caplog.set_level(logging.DEBUG, logger="streams.consumer")
    task = asyncio.create_task(consumer._loop(cast(Any, None), "SIGNALS", cast(Any, puller), stop))
    await asyncio.sleep(0.5)
    stop.set()
    await task
    records = [r for r in caplog.records if r.name == "streams.consumer"]
    assert puller.calls > 20
    assert len(records) == 1 and records[0].exc_info is None
    assert "SIGNALS" in records[0].getMessage() and "ConnectionResetError" in records[0].getMessage()
