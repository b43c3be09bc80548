"""`tipsml up | status | down` against a real nats-server: idempotent, exact teardown, clear port errors."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tipsml.errors import PortInUseError, StackNotRunningError
from tipsml.stack import local as stack
from tipsml.stack.processes import free_port, pid_alive, read_record
from tipsml.stack.settings import StackSettings

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[StackSettings]:
    s = StackSettings(state_dir=tmp_path / ".tipsml", nats_port=free_port())
    yield s
    stack.down(s)


def test_up_is_idempotent_and_down_stops_exactly_what_up_started(settings: StackSettings) -> None:
    said: list[str] = []
    stack.start_nats(settings, said.append)
    first = read_record(settings.state.pids_dir, stack.NATS)
    assert first is not None and pid_alive(first.pid)
    stack.start_nats(settings, said.append)
    again = read_record(settings.state.pids_dir, stack.NATS)
    assert again is not None and again.pid == first.pid
    assert "already running" in said[-1]

    counts = stack.stream_counts(settings)
    assert [c.stream for c in counts] == []  # no streams yet: start_nats alone does not create them

    assert stack.down(settings) == 1
    assert not pid_alive(first.pid)
    assert stack.process_status(settings) == []
    with pytest.raises(StackNotRunningError, match="tipsml up"):
        stack.stream_counts(settings)


def test_full_up_creates_streams_and_mlflow(settings: StackSettings) -> None:
    stack.up(settings)
    counts = {c.stream: c.messages for c in stack.stream_counts(settings)}
    assert counts == {"SIGNALS": 0, "FEEDBACK": 0, "DEADLETTER": 0}
    assert settings.state.mlflow_db.exists()


def test_taken_port_is_a_clear_error(settings: StackSettings) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", settings.nats_port))
        blocker.listen()
        with pytest.raises(PortInUseError, match=f"{settings.nats_port}.*TIPSML_NATS_PORT"):
            stack.start_nats(settings)
    assert stack.process_status(settings) == []
