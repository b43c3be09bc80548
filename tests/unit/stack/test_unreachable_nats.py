"""`tipsml up` with an external NATS that never answers fails in the stated time with one line, no retry loop."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tipsml.errors import NatsUnreachableError
from tipsml.stack.local import up
from tipsml.stack.settings import StackSettings


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose listener completes the TCP handshake but never speaks NATS (a black hole)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield s.getsockname()[1]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("which", ["silent_port", "closed_port"])
def test_up_fails_within_the_timeout_with_one_clear_line(
    which: str, request: pytest.FixtureRequest, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = request.getfixturevalue(which)
    settings = StackSettings(
        state_dir=tmp_path, nats_url=f"nats://127.0.0.1:{port}", nats_connect_timeout_seconds=3,
        start_consumers=False,
    )
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    with pytest.raises(NatsUnreachableError) as info:
        up(settings)
    assert time.monotonic() - started < 3 + 1.5
    message = str(info.value)
    assert "\n" not in message and f"127.0.0.1:{port}" in message and "3 s" in message
    assert not [r for r in caplog.records if r.exc_info]
