"""Fixtures for tests on the real single-node cluster (kubelet + containerd + runc, images built offline).

One cluster serves the whole session: it takes about a minute to start (the node registers, CoreDNS comes up),
a namespace costs milliseconds. Without root, the tools or the images, the fixture fails (never skips), so CI
cannot pass without having run these tests; ``make cluster-tools`` provides everything.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tipsml.cluster import node_host
from tipsml.cluster.errors import DevClusterError
from tipsml.cluster.node import NodeCluster, start
from tipsml.cluster.tools import find_bin_dir

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def node_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    """Start the whole cluster once per session and stop it (every host change undone) at the end."""
    problem = ""
    started = time.perf_counter()
    try:
        cluster = start(tmp_path_factory.mktemp("cluster"), find_bin_dir(start=REPO), die_with_parent=True)
    except (DevClusterError, OSError) as e:
        problem = f"the single-node cluster did not start: {e}"
    if problem:
        pytest.fail(problem, pytrace=False)
    print(f"\ncluster: node Ready and DNS answering {time.perf_counter() - started:.1f}s after start")
    try:
        yield cluster
    finally:
        cluster.stop()
    left = node_host.leftovers(cluster.host_snapshot, cluster.owned_dirs)
    assert not left, f"`down` left these host changes behind: {left}"


@pytest.fixture
def node_namespace(node_cluster: NodeCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace of the test's own; deleted afterwards (the namespace controller runs here)."""
    stem = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:48].rstrip("-")
    name = f"{stem}-{uuid.uuid4().hex[:6]}"
    node_cluster.kubectl("create", "namespace", name)
    yield name
    node_cluster.kubectl("delete", "namespace", name, "--wait=false")
