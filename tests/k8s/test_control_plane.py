"""The test control plane is a real API server: storage, watch, schema validation, server-side apply."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, dynamic, watch
from kubernetes.client.rest import ApiException
from kubernetes.dynamic.exceptions import ConflictError

from tipsml.cluster.dev import DevCluster
from tipsml.cluster.errors import ToolError

pytestmark = pytest.mark.k8s

Tool = Callable[..., subprocess.CompletedProcess[str]]
WIDGETS = {"group": "tests.tipsml.io", "version": "v1", "plural": "widgets"}


def _wait_established(api: client.ApiClient, crd_name: str, timeout: float = 30) -> None:
    ext = client.ApiextensionsV1Api(api)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        crd = ext.read_custom_resource_definition(crd_name)
        conditions = crd.status.conditions or []
        if any(c.type == "Established" and c.status == "True" for c in conditions):
            return
        time.sleep(0.1)
    pytest.fail(f"CRD {crd_name} not Established after {timeout}s")


def _widget(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "tests.tipsml.io/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


def test_server_reports_the_pinned_release(kubectl: Tool, k8s_pins: dict[str, str]) -> None:
    version = json.loads(kubectl("get", "--raw", "/version").stdout)
    assert version["gitVersion"] == k8s_pins["K8S_VERSION"]


def test_configmap_create_get_watch(k8s_cluster: DevCluster, k8s_namespace: str) -> None:
    with k8s_cluster.api_client() as api:
        core = client.CoreV1Api(api)
        start = core.list_namespaced_config_map(k8s_namespace).metadata.resource_version
        body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="tips"), data={"greeting": "hello"})
        core.create_namespaced_config_map(k8s_namespace, body)
        assert core.read_namespaced_config_map("tips", k8s_namespace).data == {"greeting": "hello"}
        core.patch_namespaced_config_map("tips", k8s_namespace, {"data": {"greeting": "hi"}})

        seen: list[tuple[str, str]] = []
        stream = watch.Watch().stream(
            core.list_namespaced_config_map, k8s_namespace, resource_version=start, timeout_seconds=10
        )
        for event in stream:
            seen.append((event["type"], event["object"].data["greeting"]))
            if len(seen) == 2:
                break
        assert seen == [("ADDED", "hello"), ("MODIFIED", "hi")]


def test_crd_schema_rejects_a_bad_object(
    k8s_cluster: DevCluster, k8s_namespace: str, kubectl: Tool, k8s_fixtures: Path
) -> None:
    kubectl("apply", "-f", k8s_fixtures / "widget-crd.yaml")
    with k8s_cluster.api_client() as api:
        _wait_established(api, "widgets.tests.tipsml.io")
        objects = client.CustomObjectsApi(api)
        good = _widget("ok", {"replicas": 2, "size": "small"})
        objects.create_namespaced_custom_object(**WIDGETS, namespace=k8s_namespace, body=good)

        bad = _widget("bad", {"replicas": 0, "size": "huge"})
        with pytest.raises(ApiException) as caught:
            objects.create_namespaced_custom_object(**WIDGETS, namespace=k8s_namespace, body=bad)
    assert caught.value.status == 422
    message = json.loads(caught.value.body)["message"]
    assert "spec.replicas" in message and "spec.size" in message


def test_kubectl_sees_the_same_schema(kubectl: Tool, k8s_namespace: str, k8s_fixtures: Path) -> None:
    kubectl("apply", "-f", k8s_fixtures / "widget-crd.yaml")
    kubectl("wait", "--for=condition=Established", "crd/widgets.tests.tipsml.io", "--timeout=30s")
    bad = yaml.safe_dump(_widget("no-size", {"replicas": 1}))
    with pytest.raises(ToolError, match="spec.size: Required value"):
        kubectl("apply", "-n", k8s_namespace, "-f", "-", input=bad)


def test_server_side_apply_conflict(k8s_cluster: DevCluster, k8s_namespace: str) -> None:
    def apply(manager: str, value: str, force: bool = False) -> Any:
        body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owned"}, "data": {"k": value}}
        return dyn.server_side_apply(
            configmaps, body=body, namespace=k8s_namespace, field_manager=manager, force_conflicts=force
        )

    with k8s_cluster.api_client() as api:
        dyn = dynamic.DynamicClient(api)
        configmaps = dyn.resources.get(api_version="v1", kind="ConfigMap")
        assert apply("alice", "one").data.k == "one"
        assert apply("alice", "two").data.k == "two"

        with pytest.raises(ConflictError) as caught:
            apply("bob", "three")
        assert caught.value.status == 409
        assert 'conflict with "alice"' in json.loads(caught.value.body)["message"]

        taken = apply("bob", "three", force=True)
        assert taken.data.k == "three"
        owners = {m["manager"] for m in taken.metadata.managedFields if m["operation"] == "Apply"}
        assert owners == {"bob"}


def test_kserve_inferenceservice_crd_accepts_an_isvc(
    kubectl: Tool, k8s_namespace: str, k8s_fixtures: Path
) -> None:
    kubectl("apply", "-f", k8s_fixtures / "kserve-inferenceservice-crd.yaml")
    kubectl("wait", "--for=condition=Established", "crd/inferenceservices.serving.kserve.io", "--timeout=30s")
    isvc = {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "tip-scorer"},
        "spec": {"predictor": {"containers": [{"name": "kserve-container", "image": "tipsml/scorer:dev"}]}},
    }
    kubectl("apply", "-n", k8s_namespace, "-f", "-", input=yaml.safe_dump(isvc))
    got = json.loads(kubectl("get", "-n", k8s_namespace, "isvc", "tip-scorer", "-o", "json").stdout)
    assert got["spec"] == isvc["spec"]


def test_helm_installs_a_chart(
    helm: Tool, kubectl: Tool, k8s_namespace: str, tmp_path: Path, k8s_pins: dict[str, str]
) -> None:
    assert helm("version", "--short").stdout.startswith(k8s_pins["HELM_VERSION"])
    chart = tmp_path / "hello"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: hello\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n"
        "  msg: {{ .Values.msg | quote }}\n"
    )
    helm("install", "greeting", chart, "-n", k8s_namespace, "--set", "msg=hi")
    data = json.loads(kubectl("get", "-n", k8s_namespace, "cm", "greeting", "-o", "json").stdout)["data"]
    assert data == {"msg": "hi"}
    assert "deployed" in helm("status", "greeting", "-n", k8s_namespace).stdout
