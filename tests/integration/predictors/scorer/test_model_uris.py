"""The scorer loads what a pipeline-proposed rollout carries: the version's download URI from a real MLflow server.

The server serves artifacts itself (``--serve-artifacts``, as the chart's MLflow does), so the URI is
``mlflow-artifacts:/...``; before, only ``models:/`` and local paths loaded and such a rollout could never start.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from bench.scorer_world import ScorerWorld
from contracts.names import SCORER_MODEL
from feature_repo.names import MODEL_FEATURES
from predictors.scorer.errors import ModelLoadError
from predictors.scorer.model_store import load_model
from tipsml.stack.processes import free_port

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` on a free loopback port: SQLite backend, artifacts served by the server itself."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port("127.0.0.1")
    log = (root / "server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}", "--serve-artifacts",
         "--artifacts-destination", str(root / "artifacts"), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (root / "server.log").read_text()
            time.sleep(0.5)
        else:
            pytest.fail(f"mlflow server not ready: {(root / 'server.log').read_text()[-2000:]}")
        yield url
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def _register_through(server: str, world: ScorerWorld) -> tuple[str, str]:
    """Log the world's model through the server, register it, and return (download URI, run URI)."""
    import mlflow
    import mlflow.lightgbm

    booster = mlflow.lightgbm.load_model(str(world.model_dir))
    client = mlflow.MlflowClient(tracking_uri=server, registry_uri=server)
    experiment = client.create_experiment("uris")
    mlflow.set_tracking_uri(server)
    mlflow.set_registry_uri(server)
    with mlflow.start_run(experiment_id=experiment) as run:
        info = mlflow.lightgbm.log_model(booster, name="model", registered_model_name=SCORER_MODEL)
    version = str(info.registered_model_version)
    return client.get_model_version_download_uri(SCORER_MODEL, version), f"runs:/{run.info.run_id}/model"


def test_download_uris_of_a_served_artifact_store_load(mlflow_server: str, world: ScorerWorld) -> None:
    download_uri, run_uri = _register_through(mlflow_server, world)
    assert download_uri.startswith("mlflow-artifacts:"), download_uri
    rows = np.random.default_rng(3).uniform(0, 1, (7, len(MODEL_FEATURES)))
    expected = load_model(str(world.model_dir), "unused://", MODEL_FEATURES).score(rows)
    for uri in (download_uri, run_uri):
        loaded = load_model(uri, mlflow_server, MODEL_FEATURES, version="1")
        assert loaded.version == "1"
        np.testing.assert_allclose(loaded.score(rows), expected, rtol=0, atol=1e-12)


def test_an_unreachable_store_is_a_load_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # MLflow retries a failed HTTP call for minutes by default (right for a pod start, slow for a test).
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    with pytest.raises(ModelLoadError, match="cannot download"):
        load_model("mlflow-artifacts:/0/models/m-none/artifacts", f"http://127.0.0.1:{free_port('127.0.0.1')}",
                   MODEL_FEATURES)
