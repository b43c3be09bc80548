"""Helpers of the stack-in-cluster tests: Helm releases, waits on Pods, port-forwards, commands in Pods."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tipsml.cluster.node import NodeCluster

REPO = Path(__file__).resolve().parents[2]
VALUES = Path(__file__).resolve().parent / "values"


def helm(cluster: NodeCluster, *args: str, timeout: float = 600) -> str:
    """Run the pinned helm against the cluster; a failure shows helm's own message."""
    out = cluster.control.run("helm", *args, check=False, timeout=timeout)
    assert out.returncode == 0, f"helm {' '.join(args[:2])} failed:\n{out.stderr}\n{out.stdout}"
    return out.stdout


def get_json(cluster: NodeCluster, *args: str) -> Any:
    """``kubectl get ... -o json``, parsed."""
    return json.loads(cluster.kubectl("get", *args, "-o", "json").stdout)


def pods(cluster: NodeCluster, namespace: str, selector: str = "") -> list[dict[str, Any]]:
    """The Pods of ``namespace`` (matching ``selector``), not being deleted."""
    args = ["pods", "-n", namespace] + (["-l", selector] if selector else [])
    items: list[dict[str, Any]] = get_json(cluster, *args)["items"]
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def is_ready(pod: dict[str, Any]) -> bool:
    """Whether the Pod's Ready condition is True (a finished Job Pod counts as done, not ready)."""
    conditions = pod.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def wait_all_ready(cluster: NodeCluster, namespace: str, timeout: float, expect: int = 1) -> float:
    """Wait until at least ``expect`` Pods run in ``namespace`` and every running one is Ready; seconds taken."""
    started = time.monotonic()
    deadline = started + timeout
    last: list[str] = []
    while time.monotonic() < deadline:
        current = [p for p in pods(cluster, namespace) if p["status"].get("phase") != "Succeeded"]
        last = [f"{p['metadata']['name']} ({p['status'].get('phase')})" for p in current if not is_ready(p)]
        if len(current) >= expect and not last:
            return time.monotonic() - started
        time.sleep(1)
    events = cluster.kubectl("get", "events", "-n", namespace, "--sort-by=.lastTimestamp", check=False).stdout
    raise AssertionError(f"not Ready after {timeout:.0f}s: {', '.join(last)}\n{events[-3000:]}")


def cluster_ip(cluster: NodeCluster, namespace: str, service: str) -> str:
    """A Service's cluster IP (kube-proxy routes it from the host too)."""
    return str(get_json(cluster, "service", service, "-n", namespace)["spec"]["clusterIP"])


@contextmanager
def port_forward(cluster: NodeCluster, namespace: str, target: str, port: int) -> Iterator[str]:
    """``kubectl port-forward`` to ``target`` (e.g. ``svc/tip-scorer-predictor``) on a free local port."""
    proc = subprocess.Popen(
        [str(cluster.bin_dir / "kubectl"), f"--kubeconfig={cluster.kubeconfig}", "-n", namespace, "port-forward",
         target, f":{port}", "--address=127.0.0.1"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"127\.0\.0\.1:(\d+)", line)
        assert match, f"port-forward to {target} did not start: {line}{proc.stdout.read() if proc.poll() else ''}"
        yield f"http://127.0.0.1:{match.group(1)}"
    finally:
        proc.terminate()
        proc.wait(10)


def exec_python(cluster: NodeCluster, namespace: str, target: str, code: str, timeout: float = 120) -> str:
    """Run ``python -c code`` in the first container of ``target`` (``deploy/name`` or a Pod); its stdout."""
    out = cluster.kubectl("exec", "-n", namespace, target, "--", "python", "-c", code, check=False, timeout=timeout)
    assert out.returncode == 0, f"python in {target} failed:\n{out.stderr[-3000:]}"
    return out.stdout
