"""`helm install` of the stack into the real API server, then the operator it deploys, run as the chart says.

There is no kubelet, scheduler or controller-manager here, so no Pod ever runs: the Deployment is stored
and admitted, not started. The test therefore runs the operator in-process through kopf's own KopfRunner,
with exactly the arguments and plain env of the chart's operator Deployment, authenticated as the chart's
ServiceAccount (a TokenRequest token), so the chart's RBAC is what lets it work or makes it fail. It must
publish the chart's default PromptVersion ``v1`` into the chart's registry ConfigMap, serve kopf's
``/healthz`` for the probes, and keep operator-written registry keys across a ``helm upgrade``.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kopf.testing import KopfRunner
from kubernetes import client

from contracts.prompt_registry import parse_registry_document
from tests.k8s.helm.chart_support import REPO, STACK, documents
from tipsml.stack.processes import free_port

pytestmark = pytest.mark.k8s
RELEASE = "tipsml"
REGISTRY = "tip-generator-prompts"
PV = {"group": "tipsml.io", "version": "v1alpha1", "plural": "promptversions"}


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}; last value: {last!r}")


def service_account_kubeconfig(cluster: Any, kubectl: Any, namespace: str, account: str, path: Path) -> Path:
    """A kubeconfig that authenticates as ``account`` (a bound token from the TokenRequest API)."""
    token = kubectl("create", "token", account, "-n", namespace, "--duration=1h").stdout.strip()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "c",
                "cluster": {"server": cluster.server, "certificate-authority": str(cluster.ca_file)},
            }
        ],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "c", "user": account, "namespace": namespace}}],
        "current-context": "sa",
    }
    path.write_text(yaml.safe_dump(config))
    return path


def operator_container(manifest: str) -> dict[str, Any]:
    deployment = next(
        d for d in documents(manifest) if d["kind"] == "Deployment" and d["metadata"]["name"].endswith("-operator")
    )
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["kopf"]
    found: dict[str, Any] = container
    return found


def registry(api: client.ApiClient, namespace: str) -> dict[str, str]:
    cm = client.CoreV1Api(api).read_namespaced_config_map(REGISTRY, namespace)
    return dict(cm.data or {})


def health(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return int(response.status)
    except OSError:
        return 0


def test_helm_install_then_operator_publishes_default_prompt(
    k8s_cluster: Any,
    helm: Any,
    kubectl: Any,
    cluster_prereqs: None,
    k8s_namespace: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    ns = k8s_namespace
    # No node runs Pods on this API-server-only cluster, so the feast-apply hook Job could never finish;
    # tests/cluster/test_stack_install.py installs the chart with it on a real node.
    helm("install", RELEASE, STACK, "--namespace", ns, "--timeout", "60s", "--set", "feast.applyJob.enabled=false")
    status = json.loads(helm("status", RELEASE, "-n", ns, "-o", "json").stdout)
    assert status["info"]["status"] == "deployed"
    manifest = helm("get", "manifest", RELEASE, "-n", ns).stdout
    kinds = {(d["kind"], d["metadata"]["name"]) for d in documents(manifest)}
    assert {("InferenceService", "tip-scorer"), ("InferenceService", "tip-generator")} <= kinds
    assert {("PromptVersion", "v1"), ("ConfigMap", REGISTRY), ("KopfPeering", "tipsml")} <= kinds

    # The operator as the Deployment runs it: same args (a free port for /healthz), same plain env.
    container = operator_container(manifest)
    port = free_port()
    args = [
        a if not a.startswith("--liveness=") else f"--liveness=http://127.0.0.1:{port}/healthz"
        for a in container["args"]
    ]
    assert "--standalone" not in args  # peering on by default: the chart's KopfPeering object is used
    for env in container["env"]:
        if "value" in env:
            monkeypatch.setenv(env["name"], env["value"])
    assert container["env"][0] == {"name": "HOME", "value": "/tmp"}
    monkeypatch.setenv("HOME", str(tmp_path))  # the test's own HOME, not the machine's /tmp
    account = kubectl(
        "get",
        "deployment",
        f"{RELEASE}-operator",
        "-n",
        ns,
        "-o",
        "jsonpath={.spec.template.spec.serviceAccountName}",
    ).stdout
    assert account == f"{RELEASE}-operator"
    monkeypatch.setenv(
        "KUBECONFIG", str(service_account_kubeconfig(k8s_cluster, kubectl, ns, account, tmp_path / "sa"))
    )

    with k8s_cluster.api_client() as api, KopfRunner(args, timeout=60) as runner:
        objects = client.CustomObjectsApi(api)
        published = wait_for(lambda: registry(api, ns).get("v1.json"), "v1.json in the registry ConfigMap")
        entry = parse_registry_document(json.loads(published))
        assert entry.version == "v1" and entry.default
        pv = wait_for(
            lambda: (
                (objects.get_namespaced_custom_object(**PV, namespace=ns, name="v1").get("status") or {}).get("phase")
                == "Ready"
                and objects.get_namespaced_custom_object(**PV, namespace=ns, name="v1")
            ),
            "PromptVersion v1 Ready",
        )
        assert pv["status"]["contentHash"] == entry.content_hash
        shipped = json.loads((REPO / "predictors" / "generator" / "defaults" / "v1.json").read_text())
        assert entry.content_hash == shipped["contentHash"]  # the cluster default is the local default
        assert wait_for(lambda: health(port) == 200, "kopf /healthz")

        # An upgrade adds v2 through values; Helm's three-way merge keeps the operator-written v1.json.
        v2 = tmp_path / "v2.yaml"
        v2.write_text(
            yaml.safe_dump(
                {
                    "prompts": {
                        "versions": {
                            "v2": {
                                "version": "v2",
                                "template": "Next up: {{ focus_task.title if focus_task else 'nothing' }}.",
                                "model": {"model": "tipsml/offline"},
                            }
                        }
                    }
                }
            )
        )
        helm("upgrade", RELEASE, STACK, "--namespace", ns, "--reuse-values", "-f", v2, "--timeout", "60s")
        both = wait_for(lambda: {"v1.json", "v2.json"} <= set(registry(api, ns)), "v1.json and v2.json after upgrade")
        assert both
    assert runner.exit_code == 0, runner.output
    assert not runner.exception, runner.exception
    # Least privilege was enough: kopf never hit a forbidden call.
    assert "Forbidden" not in runner.output and "Not enough permissions" not in runner.output, runner.output
