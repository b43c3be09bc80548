"""The whole pipeline through ``tipsml train``: kfp.local runs each component as a subprocess importing the
project, as the project image would; the CLI shows progress, the metrics table and the rollout manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from contracts.crds import ModelRolloutSpec
from contracts.local_state import LocalState
from tipsml.cli.main import app

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_tipsml_train_registers_a_challenger_and_writes_its_rollout(
    sim_run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow

    # Test data is small: fairness thresholds off here (tests/unit/pipelines/test_fairness.py covers them).
    for key, value in {
        "MAX_SLICE_AUC_GAP": "1",
        "MIN_SLICE_AUC": "0",
        "MIN_SLICE_SIZE": "1",
        "NUM_BOOST_ROUND": "50",
    }.items():
        monkeypatch.setenv(f"TIPSML_{key}", value)
    state = LocalState(tmp_path / "state")
    args = ["train", "--event-log", str(sim_run.events), "--truth", str(sim_run.truth), "--state-dir", str(state.root)]
    result = CliRunner().invoke(app, args, terminal_width=200)
    assert result.exit_code == 0, result.output

    for step in ("batch features", "training set", "train LightGBM", "evaluate", "register in MLflow", "ModelRollout"):
        assert f"✓ {step}" in result.output
    for scorer in ("challenger", "logistic_regression", "popularity", "oracle"):
        assert scorer in result.output
    assert "registered tip-scorer version 1; proposed: True" in result.output
    assert "vs logistic_regression: auc" in result.output and "vs popularity: auc" in result.output
    assert "gap to the oracle (oracle minus challenger, same rows): auc" in result.output

    manifest = yaml.safe_load((state.root / "rollouts" / "tip-scorer-v1.yaml").read_text())
    assert manifest["kind"] == "ModelRollout" and manifest["metadata"]["name"] == "tip-scorer-v1"
    assert ModelRolloutSpec.model_validate(manifest["spec"]).candidate.version == "1"

    uri = LocalState(state.root.resolve()).mlflow_uri
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    version = client.get_model_version_by_alias("tip-scorer", "challenger")
    assert str(version.version) == "1" and version.tags["gate"] == "proposed"
    assert (state.feast_dir / "online.db").exists()
