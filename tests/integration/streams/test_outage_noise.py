"""While NATS is down the consumers log a few lines, never a traceback per reconnect, and resume after."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import nats
import pytest
from ingest_helpers import payload, publish

from streams.topology import ensure_streams

pytestmark = pytest.mark.integration


async def test_an_outage_is_a_few_lines_without_traceback(
    fresh_nats_server: Any, start_consumer_on: Any, caplog: pytest.LogCaptureFixture
) -> None:
    r = await start_consumer_on(fresh_nats_server.url)
    await asyncio.wait_for(r.ready.wait(), 30)
    caplog.set_level(logging.INFO)
    caplog.clear()
    fresh_nats_server.stop()
    await asyncio.sleep(4.0)
    during = list(caplog.records)
    fresh_nats_server.restart()
    assert not [rec for rec in during if rec.exc_info], [rec.getMessage() for rec in during if rec.exc_info]
    assert len([rec for rec in during if rec.levelno >= logging.WARNING]) <= 6, [rec.getMessage() for rec in during]
    nc = await nats.connect(fresh_nats_server.url)
    js = nc.jetstream()
    await ensure_streams(js)
    await publish(js, payload("app_opened", 1))
    await r.wait_for(lambda: r.count("acked") == 1, timeout=60)
    await nc.close()
