"""Two operator replicas with kopf peering, as the chart runs them: one acts, the other stands by and takes over.

Each replica is its own ``kopf run`` process (peering identities are per process), with no priority set, as
in the chart's Deployment, so this also proves that identical replicas draw distinct priorities: kopf pauses
*every* replica that shares its priority with a live peer, and then nobody would act.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.k8s.operators.operator_support import PV, REPO, wait_for
from tests.unit.operators.prometheus_double import PrometheusDouble
from tipsml.stack.processes import free_port, spawn, stop_pid

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(300)]

PEERING = {"group": "kopf.dev", "version": "v1", "plural": "kopfpeerings"}
LIFETIME_SECONDS = 4
PRIORITY = re.compile(r"peering tipsml at priority (\d+)")


@dataclass
class Replica:
    pid: int
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def acting(self) -> bool:
        """Whether kopf's last word on peering was to resume (a new replica starts paused, silently)."""
        text = self.text()
        return text.rfind("Resuming operations") > text.rfind("Pausing operations")

    def priority(self) -> int | None:
        found = PRIORITY.search(self.text())
        return int(found.group(1)) if found else None


@pytest.fixture
def peering(k8s_cluster: Any, k8s_namespace: str, operator_crds: None) -> None:
    """kopf's peering CRDs as the tipsml-crds chart renders them, and the chart's KopfPeering object."""
    rendered = k8s_cluster.run(
        "helm", "template", "tipsml-crds", REPO / "charts" / "tipsml-crds",
        "--show-only", "templates/kopf-peering-crds.yaml",
    ).stdout  # fmt: skip
    k8s_cluster.run("kubectl", "apply", "-f", "-", input=rendered)
    k8s_cluster.run("kubectl", "wait", "--for=condition=Established", "crd/kopfpeerings.kopf.dev", "--timeout=30s")
    peering_object = {"apiVersion": "kopf.dev/v1", "kind": "KopfPeering", "metadata": {"name": "tipsml"}}
    k8s_cluster.run("kubectl", "apply", "-n", k8s_namespace, "-f", "-", input=json.dumps(peering_object))


@pytest.fixture
def replicas(
    peering: None,
    k8s_cluster: Any,
    k8s_namespace: str,
    mlflow_db: tuple[str, str],
    prometheus: PrometheusDouble,
    tmp_path: Path,
) -> Iterator[list[Replica]]:
    env = {
        "KUBECONFIG": str(k8s_cluster.kubeconfig),
        "TIPSML_NAMESPACE": k8s_namespace,
        "TIPSML_MLFLOW_TRACKING_URI": mlflow_db[0],
        "TIPSML_PROMETHEUS_URL": prometheus.url,
        "TIPSML_PEERING_LIFETIME_SECONDS": str(LIFETIME_SECONDS),
        "TIPSML_RETRY_DELAY_SECONDS": "1",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    started: list[Replica] = []
    try:
        for i in range(2):
            port = free_port()
            argv = [
                sys.executable, "-m", "kopf", "run", "--module=operators.handlers",
                f"--namespace={k8s_namespace}", f"--liveness=http://127.0.0.1:{port}/healthz",
            ]  # fmt: skip
            rec = spawn(f"operator-{i}", argv, port, tmp_path / "pids", tmp_path / f"operator-{i}.log", env, 120.0)
            started.append(Replica(rec.pid, Path(rec.log)))
        yield started
    finally:
        for replica in started:
            stop_pid(replica.pid)


def test_one_replica_acts_and_the_standby_takes_over_when_it_dies(
    replicas: list[Replica], api: client.ApiClient, k8s_namespace: str
) -> None:
    objects, core, ns = client.CustomObjectsApi(api), client.CoreV1Api(api), k8s_namespace
    priorities = [wait_for(r.priority, timeout=60, what="replica configured") for r in replicas]
    assert priorities[0] != priorities[1]
    active, standby = sorted(replicas, key=lambda r: r.priority() or 0, reverse=True)
    wait_for(lambda: active.acting() and not standby.acting(), timeout=30, what="only the higher priority acting")

    def registry() -> dict[str, str]:
        try:
            return core.read_namespaced_config_map("tip-generator-prompts", ns).data or {}
        except client.ApiException:
            return {}

    def prompt(version: str) -> dict[str, Any]:
        return {
            "apiVersion": "tipsml.io/v1alpha1",
            "kind": "PromptVersion",
            "metadata": {"name": version},
            "spec": {"version": version, "template": "Hi {{ weekday }}", "default": version == "v1"},
        }

    objects.create_namespaced_custom_object(**PV, namespace=ns, body=prompt("v1"))
    wait_for(lambda: "v1.json" in registry(), timeout=60, what="v1 published")
    assert "Handler 'prompt-create' succeeded" in active.text()
    assert "Handler 'prompt-create'" not in standby.text()

    os.kill(active.pid, signal.SIGKILL)  # no goodbye: its peering record expires after LIFETIME_SECONDS
    objects.create_namespaced_custom_object(**PV, namespace=ns, body=prompt("v2"))
    wait_for(lambda: "v2.json" in registry(), timeout=90, what="v2 published by the standby")
    assert standby.acting()
    assert "Handler 'prompt-create' succeeded" in standby.text()
    peers = objects.get_namespaced_custom_object(**PEERING, namespace=ns, name="tipsml").get("status") or {}
    assert [p["priority"] for p in peers.values()] == [standby.priority()]
