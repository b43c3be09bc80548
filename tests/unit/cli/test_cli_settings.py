"""CLI options become settings objects; this process's environment is never rewritten to carry them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tipsml.cli.consume import child_env
from tipsml.cli.main import app


def test_consume_options_reach_the_consumer_process_env_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIPSML_NATS_URL", "nats://from-env:4222")
    before = dict(os.environ)
    env = child_env({"nats_url": "nats://given:4222", "state_dir": Path("/srv/state"), "online_push": False})
    assert env["TIPSML_NATS_URL"] == "nats://given:4222"
    assert env["TIPSML_STATE_DIR"] == "/srv/state" and env["TIPSML_ONLINE_PUSH"] == "false"
    assert env["PATH"] == os.environ["PATH"]
    assert dict(os.environ) == before


def test_consume_rejects_bad_settings_before_starting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIPSML_LOG_LEVEL", raising=False)
    result = CliRunner().invoke(app, ["consume", "--log-level", "LOUD"])
    assert result.exit_code == 2
    assert "log_level" in result.output
    assert "TIPSML_LOG_LEVEL" not in os.environ


def test_serve_generator_rejects_bad_settings_without_touching_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TIPSML_GENERATOR_HTTP_PORT", raising=False)
    before = dict(os.environ)
    result = CliRunner().invoke(app, ["serve", "generator", "--port", "70000", "--no-feature-store"])
    assert result.exit_code == 2
    assert "http_port" in result.output
    assert {k: v for k, v in os.environ.items() if k.startswith("TIPSML_")} == {
        k: v for k, v in before.items() if k.startswith("TIPSML_")
    }
