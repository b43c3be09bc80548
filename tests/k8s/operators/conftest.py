"""Operator fixtures: our CRDs on the session's real API server, a real MLflow registry, and the operator
running through kopf's own KopfRunner. Only the metrics source is a test double (see prometheus_double)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kopf.testing import KopfRunner
from kubernetes import client
from mlflow import MlflowClient

from contracts.model_card import CARD_JSON
from tests.k8s.operators.operator_support import REPO
from tests.unit.operators.prometheus_double import PrometheusDouble, serving
from tipsml.cluster.tools import find_bin_dir, gateway_api_crd_dir


@pytest.fixture(scope="session")
def operator_crds(k8s_cluster: Any) -> None:
    """Install our CRDs and the KServe InferenceService CRD fixture once per session."""
    fixture = REPO / "tests" / "k8s" / "fixtures" / "kserve-inferenceservice-crd.yaml"
    for path in (REPO / "manifests" / "crds", fixture):
        k8s_cluster.run("kubectl", "apply", "-f", path)
    # The Gateway API's HTTPRoute as released (the pinned standard channel): a weighted canary edits one.
    routes = gateway_api_crd_dir(find_bin_dir(start=REPO)) / "gateway.networking.k8s.io_httproutes.yaml"
    k8s_cluster.run("kubectl", "apply", "--server-side", "-f", routes)
    for crd in ("promptversions.tipsml.io", "modelrollouts.tipsml.io", "inferenceservices.serving.kserve.io",
                "httproutes.gateway.networking.k8s.io"):  # fmt: skip
        k8s_cluster.run("kubectl", "wait", "--for=condition=Established", f"crd/{crd}", "--timeout=30s")


@pytest.fixture(scope="session")
def mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """One sqlite MLflow registry per session (creating its schema is the slow part)."""
    tmp = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{tmp / 'mlflow.db'}"
    experiment = MlflowClient(tracking_uri=uri).create_experiment("s", artifact_location=(tmp / "a").as_uri())
    return uri, experiment


@pytest.fixture
def registered_model(mlflow_db: tuple[str, str]) -> tuple[str, MlflowClient]:
    """A registered model of the test's own with versions 1 (champion) and 2 (the candidate)."""
    uri, experiment = mlflow_db
    mlflow = MlflowClient(tracking_uri=uri, registry_uri=uri)
    name = f"tip-scorer-{uuid.uuid4().hex[:6]}"
    mlflow.create_registered_model(name)
    for _ in range(2):
        run = mlflow.create_run(experiment)
        mlflow.log_text(run.info.run_id, '{"inputs": []}', CARD_JSON)
        mlflow.create_model_version(name, f"runs:/{run.info.run_id}/model", run_id=run.info.run_id)
    mlflow.set_registered_model_alias(name, "champion", "1")
    return name, mlflow


@pytest.fixture
def prometheus() -> Iterator[PrometheusDouble]:
    """The metrics source double (the only non-real collaborator)."""
    with serving(PrometheusDouble()) as double:
        yield double


@pytest.fixture
def operator_env(
    monkeypatch: pytest.MonkeyPatch,
    k8s_cluster: Any,
    k8s_namespace: str,
    mlflow_db: tuple[str, str],
    prometheus: PrometheusDouble,
    operator_crds: None,
) -> None:
    """Settings of the operator under test: short intervals so a whole rollout takes seconds."""
    monkeypatch.setenv("KUBECONFIG", str(k8s_cluster.kubeconfig))
    for key, value in {
        "NAMESPACE": k8s_namespace,
        "MLFLOW_TRACKING_URI": mlflow_db[0],
        "PROMETHEUS_URL": prometheus.url,
        "ANALYSIS_INTERVAL_SECONDS": "0.3",
        "RETRY_DELAY_SECONDS": "1",
        "STANDALONE": "true",
    }.items():
        monkeypatch.setenv(f"TIPSML_{key}", value)


@pytest.fixture
def start_operator(operator_env: None, k8s_namespace: str) -> Callable[[], KopfRunner]:
    """A factory: each call is a fresh KopfRunner (use it in a ``with`` block; tests may restart it)."""

    def start() -> KopfRunner:
        args = ["run", "--standalone", "-n", k8s_namespace, "-m", "operators.handlers"]
        return KopfRunner(args, timeout=30)

    return start


@pytest.fixture
def api(k8s_cluster: Any) -> Iterator[client.ApiClient]:
    with k8s_cluster.api_client() as api_client:
        yield api_client
