from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from tipsml.cli.main import app


def test_pipelines_compile_writes_the_yaml_with_the_image_from_the_option(tmp_path: Path) -> None:
    out = tmp_path / "p.yaml"
    result = CliRunner().invoke(app, ["pipelines", "compile", "--out", str(out), "--image", "registry.local/t:1"])
    assert result.exit_code == 0, result.output
    images = {e["container"]["image"] for e in yaml.safe_load(out.read_text())["deploymentSpec"]["executors"].values()}
    assert images == {"registry.local/t:1"}


def test_pipelines_submit_to_an_unreachable_host_fails_with_a_message(tmp_path: Path) -> None:
    # Nothing listens on port 9 of loopback: this is the real kfp.Client failing to connect.
    args = ["pipelines", "submit", "--host", "http://127.0.0.1:9", "--event-log", "/data/events",
            "--state-root", "/data/state", "--mlflow-uri", "http://mlflow:5000"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "submitting to http://127.0.0.1:9 failed" in result.output
