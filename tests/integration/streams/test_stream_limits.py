"""Stream limits against a real JetStream storage limit: a clear refusal when they do not fit, applied when they do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import nats
import pytest

from streams.errors import StreamSetupError
from streams.topology import StreamLimits, ensure_streams
from tipsml.stack.nats_server import nats_server_binary
from tipsml.stack.processes import free_port, spawn, stop_pid

pytestmark = pytest.mark.asyncio


@pytest.fixture
def small_nats(tmp_path: Path) -> Iterator[str]:
    """A nats-server whose JetStream may store 64 MiB, as a small claim's ``max_file_store`` sets it."""
    port = free_port()
    conf = tmp_path / "nats.conf"
    conf.write_text(f'listen: 127.0.0.1:{port}\njetstream {{ store_dir: "{tmp_path / "js"}", max_file_store: 64Mi }}\n')
    rec = spawn("nats", [str(nats_server_binary()), "-c", str(conf)], port, tmp_path / "pids", tmp_path / "nats.log")
    yield f"nats://127.0.0.1:{port}"
    stop_pid(rec.pid)


async def test_limits_that_do_not_fit_are_refused_with_the_arithmetic_and_the_setting(small_nats: str) -> None:
    nc = await nats.connect(small_nats)
    try:
        with pytest.raises(StreamSetupError) as refused:
            await ensure_streams(nc.jetstream(), StreamLimits(max_bytes=1024**3))
    finally:
        await nc.close()
    message = str(refused.value)
    assert "err_code 10047" in message
    assert "3 x 1.00 GiB" in message
    assert "TIPSML_STREAM_MAX_BYTES" in message


async def test_limits_that_fit_are_applied_to_every_stream(small_nats: str) -> None:
    nc = await nats.connect(small_nats)
    try:
        js = nc.jetstream()
        names = await ensure_streams(js, StreamLimits(max_bytes=16 * 1024**2, max_age_seconds=3600.0))
        infos = [await js.stream_info(name) for name in names]
    finally:
        await nc.close()
    assert names == ["SIGNALS", "FEEDBACK", "DEADLETTER"]
    assert [i.config.max_bytes for i in infos] == [16 * 1024**2] * 3
    assert [i.config.max_age for i in infos] == [3600.0] * 3
