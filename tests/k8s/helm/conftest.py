"""Fixtures of the Helm chart tests: the charts' paths, and the cluster-wide prerequisites installed once.

The CRDs chart is installed with ``helm upgrade --install --take-ownership`` because CRDs are cluster-wide
and the operator tests of the same session may already have applied the same CRDs with kubectl.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from tests.k8s.helm.chart_support import (
    CRDS_CHART,
    CRDS_NAMESPACE,
    FIXTURES,
    OUR_CRDS,
    PEERING_CRDS,
    REPO,
    STAND_IN_CRDS,
)


@pytest.fixture(scope="session")
def cluster_prereqs(k8s_cluster: Any) -> None:
    """Stand-in CRDs (KServe, Prometheus Operator) and the tipsml-crds chart, once per session."""
    kserve = REPO / "tests" / "k8s" / "fixtures" / "kserve-inferenceservice-crd.yaml"
    k8s_cluster.run("kubectl", "apply", "-f", kserve, "-f", FIXTURES / "monitoring-crds.yaml")
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": CRDS_NAMESPACE}}
    k8s_cluster.run("kubectl", "apply", "-f", "-", input=yaml.safe_dump(namespace))
    k8s_cluster.run(
        "helm", "upgrade", "--install", "tipsml-crds", CRDS_CHART,
        "--namespace", CRDS_NAMESPACE, "--take-ownership", "--wait", "--timeout", "60s",
    )  # fmt: skip
    for crd in (*OUR_CRDS, *PEERING_CRDS, *STAND_IN_CRDS):
        k8s_cluster.run("kubectl", "wait", "--for=condition=Established", f"crd/{crd}", "--timeout=30s")
