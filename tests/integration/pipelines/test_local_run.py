"""The whole pipeline under kfp.local: each component a subprocess importing the project, like the image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.crds import ModelRolloutSpec
from pipelines.local import TASKS, run_local
from pipelines.settings import PipelineSettings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_local_run_registers_a_challenger_and_writes_its_rollout(sim_run: Any, tmp_path: Path) -> None:
    import mlflow

    settings = PipelineSettings(
        state_dir=tmp_path / "state",
        event_log=str(sim_run.events),
        truth_path=str(sim_run.truth),
        num_boost_round=50,
        max_slice_auc_gap=1.0,
        min_slice_auc=0.0,
        min_slice_size=1,
    )
    seen: list[tuple[str, str]] = []
    run = run_local(settings, tmp_path / "runs", lambda task, status: seen.append((task, status)))

    assert [t for t, s in seen if s == "SUCCESS"] == list(TASKS)
    report = run.report()
    assert report["oracle"]["available"]
    assert set(report["models"]) == {"challenger", "popularity", "logistic_regression"}
    registered = run.registered()
    assert registered["version"] == "1" and registered["proposed"] is True
    manifest_path = run.rollout_manifest()
    assert manifest_path is not None
    manifest = yaml.safe_load(manifest_path.read_text())
    assert manifest["kind"] == "ModelRollout" and manifest["metadata"]["name"] == "tip-scorer-v1"
    assert ModelRolloutSpec.model_validate(manifest["spec"]).candidate.version == "1"

    client = mlflow.MlflowClient(tracking_uri=settings.effective_mlflow_uri, registry_uri=settings.effective_mlflow_uri)
    version = client.get_model_version_by_alias("tip-scorer", "challenger")
    assert str(version.version) == "1" and version.tags["gate"] == "proposed"
    assert (settings.state.feast_dir / "online.db").exists()
