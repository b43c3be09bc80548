"""The README's demo command, small: stack up, simulated events into JetStream, counts per subject, down."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tipsml.cli import app
from tipsml.processes import free_port, list_records, pid_alive

pytestmark = pytest.mark.e2e


def test_demo_publishes_simulated_events_and_down_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TIPSML_NATS_PORT", str(free_port()))
    runner = CliRunner()
    result = runner.invoke(app, ["demo", "--users", "60", "--days", "2", "--seed", "3"])
    assert result.exit_code == 0, result.output
    for subject in (
        "signals.app_opened",
        "signals.task_synced",
        "feedback.tip_shown",
        "feedback.tip_reaction",
    ):
        assert subject in result.output
    assert "demo wall time" in result.output
    records = list_records(tmp_path / ".tipsml" / "pids")
    assert records and all(pid_alive(r.pid) for r in records)

    down = runner.invoke(app, ["down"])
    assert down.exit_code == 0, down.output
    assert not any(pid_alive(r.pid) for r in records)
    assert list_records(tmp_path / ".tipsml" / "pids") == []
