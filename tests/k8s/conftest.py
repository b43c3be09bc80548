"""Fixtures for tests against a real kube-apiserver + etcd.

One control plane serves the whole session (start-up costs seconds, a namespace costs milliseconds);
each test gets its own namespace so tests never see each other's objects. The tools are built once by
``scripts/k8s-tools.sh``; without them these fixtures fail (never skip), so CI cannot pass silently.
"""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client, config

from tipsml.devcluster import Binaries, DevCluster, DevClusterError, find_bin_dir, read_versions, running

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PINS = read_versions(REPO / "scripts" / "k8s-versions.env")


@dataclass
class K8sCluster:
    """What a test needs from the session's control plane."""

    cluster: DevCluster
    home: Path

    @property
    def kubeconfig(self) -> Path:
        return self.cluster.kubeconfig

    @property
    def server(self) -> str:
        return self.cluster.server

    @property
    def binaries(self) -> Binaries:
        return self.cluster.binaries

    def api_client(self) -> client.ApiClient:
        """A fresh client per call, so a test may close its own without breaking others."""
        return config.new_client_from_config(config_file=str(self.kubeconfig))

    def env(self) -> dict[str, str]:
        """Environment for kubectl/helm subprocesses: this cluster, and helm's state kept out of ``~``."""
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["PATH"] = f"{self.binaries.kubectl.parent}{os.pathsep}{env.get('PATH', '')}"
        for kind in ("CACHE", "CONFIG", "DATA"):
            env[f"HELM_{kind}_HOME"] = str(self.home / f"helm-{kind.lower()}")
        return env


class Tool:
    """Runs kubectl or helm against the session's cluster and returns the completed process."""

    def __init__(self, binary: Path, cluster: K8sCluster) -> None:
        self._binary = binary
        self._cluster = cluster

    def __call__(
        self, *args: str | Path, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        argv = [str(self._binary), *(str(a) for a in args)]
        result = subprocess.run(
            argv,
            input=input,
            capture_output=True,
            text=True,
            env=self._cluster.env(),
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            pytest.fail(f"{' '.join(argv)} exited {result.returncode}:\n{result.stderr}", pytrace=False)
        return result


@pytest.fixture(scope="session")
def k8s_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[K8sCluster]:
    """Start etcd + kube-apiserver once per session; stop both (no process left) at the end."""
    try:
        binaries = Binaries.in_dir(find_bin_dir(start=REPO))
    except DevClusterError as e:
        pytest.fail(f"k8s tools missing: {e}", pytrace=False)
    home = tmp_path_factory.mktemp("k8s")
    try:
        with running(home / "control-plane", binaries) as cluster:
            yield K8sCluster(cluster, home)
    except DevClusterError as e:
        pytest.fail(f"control plane did not start: {e}", pytrace=False)


@pytest.fixture
def k8s_namespace(k8s_cluster: K8sCluster, request: pytest.FixtureRequest) -> Iterator[str]:
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
def kubectl(k8s_cluster: K8sCluster) -> Tool:
    """The pinned kubectl, already pointed at the session's cluster."""
    return Tool(k8s_cluster.binaries.kubectl, k8s_cluster)


@pytest.fixture
def helm(k8s_cluster: K8sCluster) -> Tool:
    """The pinned helm, already pointed at the session's cluster."""
    return Tool(k8s_cluster.binaries.helm, k8s_cluster)


@pytest.fixture
def k8s_fixtures() -> Path:
    """The folder of YAML (CRDs and objects) shared by the k8s tests."""
    return FIXTURES
