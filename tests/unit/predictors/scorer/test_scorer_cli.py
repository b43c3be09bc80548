"""``tipsml serve scorer``: options become settings; failures exit non-zero with advice."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from tipsml.cli.main import app


def test_invalid_role_is_exit_2() -> None:
    result = CliRunner().invoke(app, ["serve", "scorer", "--role", "primary"])
    assert result.exit_code == 2
    assert "role" in result.output


def test_no_model_is_exit_1_with_advice(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["serve", "scorer", "--state-dir", str(tmp_path), "--model-uri", str(tmp_path / "missing")]
    )
    assert result.exit_code == 1
    assert "not an MLflow model directory" in result.output
    assert "tipsml train" in result.output
