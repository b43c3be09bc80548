"""The compiled pipeline YAML is what a cluster runs: any change to it must be deliberate.

Regenerate after an intended change with ``UPDATE_GOLDEN=1 pytest tests/unit/pipelines/test_compile_golden.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from pipelines.submit import compile_to

GOLDEN = Path(__file__).parent / "golden" / "train-tip-scorer.yaml"
IMAGE = "ghcr.io/tipsml/tipsml:0.1.0"


def test_compiled_pipeline_matches_the_golden_file(tmp_path: Path) -> None:
    out = compile_to(IMAGE, tmp_path / "pipeline.yaml")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(out.read_text())
    assert out.read_text() == GOLDEN.read_text()


def test_every_component_runs_on_the_project_image_without_installing_packages() -> None:
    spec = yaml.safe_load(GOLDEN.read_text())
    assert spec["pipelineInfo"]["name"] == "train-tip-scorer"
    executors = spec["deploymentSpec"]["executors"]
    assert len(executors) == 6
    for executor in executors.values():
        container = executor["container"]
        assert container["image"] == IMAGE
        assert "pip install" not in " ".join(container["command"])
        assert "from pipelines.steps.stages import" in " ".join(container["command"])
    tasks = spec["root"]["dag"]["tasks"]
    assert set(tasks) == {"batch-features", "training-set", "train", "evaluate", "register", "rollout"}
    assert tasks["rollout"]["dependentTasks"] == ["register"]
