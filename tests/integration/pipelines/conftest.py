"""Small simulator runs and pipeline stages shared by the pipeline integration tests (real Feast, MLflow)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.steps import stages
from pipelines.steps.fairness import FairnessThresholds
from tipsml.simulate import simulate
from tipsml.simulate.writer import write_run


@pytest.fixture
def loose_thresholds() -> FairnessThresholds:
    """Test data is too small for meaningful fairness thresholds; the fairness unit tests cover the gate."""
    return FairnessThresholds(max_auc_gap=1.0, min_slice_auc=0.0, min_slice_size=1)


@dataclass(frozen=True)
class SimRun:
    """A simulator run on disk."""

    events: Path
    truth: Path


@dataclass(frozen=True)
class Staged:
    """Outputs of the stages up to the training set, under one state root."""

    sim: SimRun
    state_root: Path
    entities: Path
    train: Path
    test: Path
    summary: dict[str, object]
    split_at: str


@pytest.fixture(scope="session")
def sim_run(tmp_path_factory: pytest.TempPathFactory) -> SimRun:
    """300 users x 14 days: about 19k events, enough for both label classes in every split."""
    out = tmp_path_factory.mktemp("sim")
    paths = write_run(simulate(users=300, days=14, seed=11), out)
    return SimRun(events=paths["events"], truth=paths["truth"])


@pytest.fixture(scope="session")
def staged(sim_run: SimRun, tmp_path_factory: pytest.TempPathFactory) -> Staged:
    """Batch features (Feast apply + materialize) and the point-in-time training set, run once."""
    root = tmp_path_factory.mktemp("state")
    entities, train, test = root / "entities.parquet", root / "train.parquet", root / "test.parquet"
    summary = stages.batch_features_stage(str(sim_run.events), str(root), 24.0, 14, str(entities))
    split_at = stages.training_set_stage(str(entities), str(root), 0.25, str(train), str(test))
    return Staged(sim_run, root, entities, train, test, summary, split_at)
