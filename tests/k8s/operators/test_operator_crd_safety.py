"""Hostile or careless specs are refused by the API server itself (issue 19, defects 1, 5 and 6)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.k8s.operators.operator_support import MR, PV

pytestmark = pytest.mark.k8s


def _rollout(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "tipsml.io/v1alpha1",
        "kind": "ModelRollout",
        "metadata": {"name": name},
        "spec": {"candidate": {"version": "2"}, **spec},
    }


def _rejected(call: Any) -> str:
    with pytest.raises(ApiException) as caught:
        call()
    assert caught.value.status == 422, caught.value.body
    message: str = json.loads(caught.value.body)["message"]
    return message


@pytest.mark.parametrize(
    ("secret", "field"),
    [("x//etc/passwd", "spec.model.apiKeySecret"), ("../../f", "spec.model.apiKeySecret"), ("s/..", "")],
)
def test_api_key_secret_must_name_a_secret_key(
    operator_crds: None, api: client.ApiClient, k8s_namespace: str, secret: str, field: str
) -> None:
    body: dict[str, Any] = {
        "apiVersion": "tipsml.io/v1alpha1",
        "kind": "PromptVersion",
        "metadata": {"name": "v1"},
        "spec": {"version": "v1", "template": "Hi", "model": {"model": "openai/x", "apiKeySecret": secret}},
    }
    objects = client.CustomObjectsApi(api)
    message = _rejected(lambda: objects.create_namespaced_custom_object(**PV, namespace=k8s_namespace, body=body))
    assert "spec.model.apiKeySecret" in message and field in message
    body["spec"]["model"]["apiKeySecret"] = "openai-key/api-key"
    objects.create_namespaced_custom_object(**PV, namespace=k8s_namespace, body=body)


UNSAFE: list[tuple[dict[str, Any], str]] = [
    ({"canary": {"steps": [{"weight": 50}, {"weight": 10}]}}, "canary step weights must strictly increase"),
    ({"canary": {"steps": [{"weight": 10}, {"weight": 10}, {"weight": 10}]}}, "strictly increase"),
    ({"canary": {"steps": [{"weight": 100}]}}, "spec.canary.steps[0].weight"),
    ({"canary": {"steps": [{"weight": 10, "pauseSeconds": 10**15}]}}, "spec.canary.steps[0].pauseSeconds"),
    ({"gates": {"maxErrorRate": 1}}, "spec.gates.maxErrorRate"),
    ({"gates": {"maxP99LatencyMs": 1e12}}, "spec.gates.maxP99LatencyMs"),
    ({"shadow": {"minRankAgreement": -1}}, "spec.shadow.minRankAgreement"),
    ({"shadow": {"minSamples": 1}}, "spec.shadow.minSamples"),
    ({"canary": {"minSamples": 1}}, "spec.canary.minSamples"),
    ({"baseline": {"version": "2"}}, "candidate.version must differ from baseline.version"),
    ({"inferenceService": "Tip_Scorer"}, "spec.inferenceService"),
    ({"inferenceService": "a/../b"}, "spec.inferenceService"),
]


@pytest.mark.parametrize(("spec", "expected"), UNSAFE, ids=[e for _, e in UNSAFE])
def test_rollouts_that_disable_their_own_safety_are_rejected(
    operator_crds: None, api: client.ApiClient, k8s_namespace: str, spec: dict[str, Any], expected: str
) -> None:
    objects = client.CustomObjectsApi(api)
    body = _rollout("unsafe", **spec)
    message = _rejected(lambda: objects.create_namespaced_custom_object(**MR, namespace=k8s_namespace, body=body))
    assert expected in message


def test_a_started_rollout_spec_is_immutable_except_paused_and_abort(
    operator_crds: None, api: client.ApiClient, k8s_namespace: str
) -> None:
    objects = client.CustomObjectsApi(api)
    ns = k8s_namespace
    steps = {"canary": {"steps": [{"weight": 10}, {"weight": 50}]}}
    objects.create_namespaced_custom_object(**MR, namespace=ns, body=_rollout("r", **steps))
    # Still Pending: a typo may be fixed before anything happened.
    objects.patch_namespaced_custom_object(
        **MR, namespace=ns, name="r", body={"spec": {"canary": {"steps": [{"weight": 20}, {"weight": 60}]}}}
    )
    objects.patch_namespaced_custom_object_status(
        **MR, namespace=ns, name="r", body={"status": {"phase": "Canary", "currentStep": 1}}
    )
    for change in (
        {"canary": {"steps": [{"weight": 20}]}},
        {"inferenceService": "other"},
        {"modelName": "other"},
        {"gates": {"maxErrorRate": 0.1}},
        {"baseline": {"version": "1"}},
    ):
        message = _rejected(
            lambda change=change: objects.patch_namespaced_custom_object(
                **MR, namespace=ns, name="r", body={"spec": change}
            )
        )
        assert "spec is immutable once the rollout started, except paused and abort" in message
    patched = objects.patch_namespaced_custom_object(
        **MR, namespace=ns, name="r", body={"spec": {"paused": True, "abort": True}}
    )
    assert patched["spec"]["paused"] is True and patched["spec"]["abort"] is True
