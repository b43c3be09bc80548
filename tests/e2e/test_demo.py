"""The README's demo command, small: every stage of the loop through the CLI, then ``tipsml down``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tipsml.cli.main import app
from tipsml.stack.processes import free_port, list_records, pid_alive

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_demo_runs_the_whole_loop_and_down_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TIPSML_NATS_PORT", str(free_port()))
    monkeypatch.setenv("COLUMNS", "200")  # one printed line per message, so the asserts see whole lines
    runner = CliRunner()
    try:
        result = runner.invoke(
            app,
            ["demo", "--users", "150", "--days", "3", "--seed", "7", "--bandit-calls", "40", "--bandit-rounds", "2"],
        )
        _check_output(result.output, result.exit_code, tmp_path)
    finally:
        records = list_records(tmp_path / ".tipsml" / "pids")
        down = runner.invoke(app, ["down"])
    assert down.exit_code == 0, down.output
    assert {"nats-server", "consumers", "tip-scorer", "tip-generator"} <= {r.name for r in records}
    assert not any(pid_alive(r.pid) for r in records)
    assert list_records(tmp_path / ".tipsml" / "pids") == []


def _check_output(out: str, exit_code: int, tmp_path: Path) -> None:
    assert exit_code == 0, out
    for subject in ("signals.app_opened", "signals.task_synced", "feedback.tip_shown", "feedback.tip_reaction"):
        assert subject in out
    assert "0 dead-lettered" in out
    assert "registered tip-scorer version 1 as @challenger" in out
    assert "local run of the operator's ModelRollout state machine" in out
    assert "promoted directly to @champion" in out
    assert "model_version 1; top 5 of 20" in out
    assert "selection" in out and "prompt_version v" in out
    assert "round 2: chose" in out
    png = tmp_path / ".tipsml" / "reports" / "rewards.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "demo wall time" in out

    from operators.model_registry import ChampionRegistry

    assert ChampionRegistry(f"sqlite:///{tmp_path / '.tipsml' / 'mlflow.db'}").champion("tip-scorer") == "1"

    assert all(pid_alive(r.pid) for r in list_records(tmp_path / ".tipsml" / "pids"))
