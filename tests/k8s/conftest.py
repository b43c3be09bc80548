"""Fixtures for tests against a real kube-apiserver + etcd.

One control plane serves the whole session (start-up costs seconds, a namespace costs milliseconds);
each test gets its own namespace so tests never see each other's objects. The tools are built once by
``scripts/k8s-tools.sh``; without them these fixtures fail (never skip), so CI cannot pass silently.
"""

from __future__ import annotations

import functools
import re
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kubernetes import client

from tipsml.cluster.dev import DevCluster, start
from tipsml.cluster.errors import DevClusterError
from tipsml.cluster.tools import Binaries, find_bin_dir, read_versions

REPO = Path(__file__).resolve().parents[2]

# kubectl(...) / helm(...): run the pinned tool against the session's cluster (raises ToolError on failure).
ToolRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="session")
def k8s_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevCluster]:
    """Start etcd + kube-apiserver once per session; stop both (no process left) at the end.

    Use ``k8s_cluster.kubeconfig``, ``k8s_cluster.api_client()`` (a new kubernetes ``ApiClient``),
    ``k8s_cluster.tool_env()`` for subprocesses, and ``k8s_cluster.server``.
    """
    problem = ""
    try:
        binaries = Binaries.in_dir(find_bin_dir(start=REPO))
    except DevClusterError as e:
        problem = f"k8s tools missing: {e}"
    if problem:
        pytest.fail(problem, pytrace=False)
    try:
        cluster = start(tmp_path_factory.mktemp("k8s"), binaries, die_with_parent=True)
    except DevClusterError as e:
        problem = f"control plane did not start: {e}"
    if problem:
        pytest.fail(problem, pytrace=False)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def k8s_namespace(k8s_cluster: DevCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace of the test's own, named after the test so leftovers are easy to trace.

    Deleting it only marks it ``Terminating`` (no namespace controller runs), which is enough:
    the name is never reused and the whole etcd goes away with the session.
    """
    stem = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:48].rstrip("-")
    name = f"{stem}-{uuid.uuid4().hex[:6]}"
    with k8s_cluster.api_client() as api:
        core = client.CoreV1Api(api)
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
        yield name
        core.delete_namespace(name)


@pytest.fixture
def kubectl(k8s_cluster: DevCluster) -> ToolRunner:
    """The pinned kubectl, already pointed at the session's cluster: ``kubectl("get", "ns")``."""
    return functools.partial(k8s_cluster.run, "kubectl")


@pytest.fixture
def helm(k8s_cluster: DevCluster) -> ToolRunner:
    """The pinned helm, already pointed at the session's cluster (its cache and config kept apart)."""
    return functools.partial(k8s_cluster.run, "helm")


@pytest.fixture(scope="session")
def k8s_pins() -> dict[str, str]:
    """The pinned versions (``K8S_VERSION``, ``ETCD_VERSION``, ``HELM_VERSION``) of the tools."""
    return read_versions(REPO / "scripts" / "k8s-versions.env")


@pytest.fixture
def k8s_fixtures() -> Path:
    """The folder of YAML (CRDs and objects) shared by the k8s tests."""
    return REPO / "tests" / "k8s" / "fixtures"
