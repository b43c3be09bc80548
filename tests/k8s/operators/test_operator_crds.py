"""The generated CRDs on a real API server: bad objects are rejected there, examples apply cleanly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.k8s.operators.operator_support import MR, PV, REPO

pytestmark = pytest.mark.k8s


def _pv(name: str, **spec: Any) -> dict[str, Any]:
    body = {"version": name, "template": "Hi {{ weekday }}", **spec}
    return {
        "apiVersion": "tipsml.io/v1alpha1",
        "kind": "PromptVersion",
        "metadata": {"name": name},
        "spec": body,
    }


def _rejected(call: Any) -> str:
    with pytest.raises(ApiException) as caught:
        call()
    assert caught.value.status == 422, caught.value.body
    message: str = json.loads(caught.value.body)["message"]
    return message


def test_api_server_rejects_invalid_resources(
    operator_crds: None, api: client.ApiClient, k8s_namespace: str
) -> None:
    objects = client.CustomObjectsApi(api)
    ns = k8s_namespace
    objects.create_namespaced_custom_object(**PV, namespace=ns, body=_pv("v1"))

    message = _rejected(
        lambda: objects.patch_namespaced_custom_object(
            **PV, namespace=ns, name="v1", body={"spec": {"template": "changed {{ weekday }}"}}
        )
    )
    assert "spec.template is immutable" in message
    message = _rejected(
        lambda: objects.patch_namespaced_custom_object(
            **PV, namespace=ns, name="v1", body={"spec": {"version": "v9"}}
        )
    )
    assert "spec.version is immutable" in message
    # Mutable fields stay mutable.
    patched = objects.patch_namespaced_custom_object(
        **PV, namespace=ns, name="v1", body={"spec": {"default": True}}
    )
    assert patched["spec"]["default"] is True

    bad_name = {**_pv("v2"), "metadata": {"name": "other"}}
    assert "name must equal spec.version" in _rejected(
        lambda: objects.create_namespaced_custom_object(**PV, namespace=ns, body=bad_name)
    )
    bad_schema = _pv("v3", model={"temperature": 5}, maxOutputChars=1)
    message = _rejected(lambda: objects.create_namespaced_custom_object(**PV, namespace=ns, body=bad_schema))
    assert "spec.model.temperature" in message and "spec.maxOutputChars" in message

    rollout = {
        "apiVersion": "tipsml.io/v1alpha1",
        "kind": "ModelRollout",
        "metadata": {"name": "r"},
        "spec": {"candidate": {"version": "2"}, "canary": {"steps": [{"weight": 0}]}},
    }
    assert "spec.canary.steps[0].weight" in _rejected(
        lambda: objects.create_namespaced_custom_object(**MR, namespace=ns, body=rollout)
    )
    rollout["spec"] = {"candidate": {"version": "2"}}
    created = objects.create_namespaced_custom_object(**MR, namespace=ns, body=rollout)
    assert created["spec"]["paused"] is False and created["spec"]["modelName"] == "tip-scorer"  # defaults
    assert "spec.candidate is immutable" in _rejected(
        lambda: objects.patch_namespaced_custom_object(
            **MR, namespace=ns, name="r", body={"spec": {"candidate": {"version": "3"}}}
        )
    )


def test_kubectl_applies_the_examples(operator_crds: None, kubectl: Any, k8s_namespace: str) -> None:
    examples = sorted((REPO / "manifests" / "examples").glob("*.yaml"))
    isvcs = REPO / "manifests" / "inferenceservices"
    assert len(examples) >= 3
    for path in [*examples, isvcs]:
        kubectl("apply", "-n", k8s_namespace, "-f", path)
    names = kubectl("get", "-n", k8s_namespace, "promptversions,mr,isvc", "-o", "name").stdout.split()
    assert "promptversion.tipsml.io/v1" in names and "modelrollout.tipsml.io/tip-scorer-v7" in names
    assert "inferenceservice.serving.kserve.io/tip-scorer" in names
    columns = kubectl("get", "-n", k8s_namespace, "pver", "v1").stdout.splitlines()[0].split()
    assert columns[:4] == ["NAME", "VERSION", "DEFAULT", "PHASE"]


def test_operator_deployment_and_rbac_pass_server_validation(
    operator_crds: None, kubectl: Any, k8s_namespace: str
) -> None:
    kubectl("create", "namespace", "tipsml", check=False)  # the manifests' own namespace; may exist already
    for folder in ("rbac", "operator"):
        out = kubectl("apply", "--dry-run=server", "-f", REPO / "manifests" / folder)
        assert "(server dry run)" in out.stdout


def test_example_rollout_fields_survive_pruning(
    operator_crds: None, kubectl: Any, k8s_namespace: str
) -> None:
    path: Path = REPO / "manifests" / "examples" / "modelrollout.yaml"
    out = kubectl("apply", "--dry-run=server", "-n", k8s_namespace, "-f", path, "-o", "json").stdout
    spec = json.loads(out)["spec"]
    assert spec["canary"]["steps"] == [
        {"weight": 10, "pauseSeconds": 300},
        {"weight": 50, "pauseSeconds": 600},
    ]
    assert spec["shadow"]["maxPsi"] == 0.2
