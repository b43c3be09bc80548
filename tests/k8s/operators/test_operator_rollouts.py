"""The operator under KopfRunner against the real API server: prompts published, rollouts driven to an end."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from kopf.testing import KopfRunner
from kubernetes import client
from mlflow import MlflowClient

from tests.k8s.operators.operator_support import ISVC, MR, PV, wait_for
from tests.unit.operators.prometheus_double import PrometheusDouble

pytestmark = pytest.mark.k8s


def _isvc() -> dict[str, Any]:
    env = [
        {"name": "TIPSML_MODEL_URI", "value": "models:/tip-scorer/1"},
        {"name": "TIPSML_MODEL_VERSION", "value": "1"},
    ]
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "tip-scorer"},
        "spec": {
            "predictor": {"containers": [{"name": "kserve-container", "image": "tipsml/scorer", "env": env}]}
        },
    }


def _rollout(model: str, **spec: Any) -> dict[str, Any]:
    body = {
        "modelName": model,
        "candidate": {"version": "2", "storageUri": "s3://models/2"},
        "shadow": {"minSamples": 100},
        "canary": {
            "minSamples": 100,
            "steps": [{"weight": 10, "pauseSeconds": 0}, {"weight": 50, "pauseSeconds": 0}],
            # The double's healthy numbers give equal rates on 500 samples a side: wide enough a margin that the
            # gate's 95 % bound clears it (the default 0.02 would wait for ~3,000 a side).
            "rewardMargin": 0.1,
        },
        **spec,
    }
    return {
        "apiVersion": "tipsml.io/v1alpha1",
        "kind": "ModelRollout",
        "metadata": {"name": "r"},
        "spec": body,
    }


def _phase(objects: client.CustomObjectsApi, ns: str) -> Callable[[], str | None]:
    return lambda: (
        objects.get_namespaced_custom_object(**MR, namespace=ns, name="r").get("status") or {}
    ).get("phase")


def _get(objects: client.CustomObjectsApi, ns: str) -> dict[str, Any]:
    body: dict[str, Any] = objects.get_namespaced_custom_object(**MR, namespace=ns, name="r")
    return body


def _wait_event(api: client.ApiClient, ns: str, reason: str) -> Any:
    """The Event the operator posted about rollout ``r`` with ``reason`` (the status write ends its daemon)."""
    return wait_for(
        lambda: [e for e in client.CoreV1Api(api).list_namespaced_event(ns).items
                 if e.reason == reason and e.involved_object.name == "r"],  # fmt: skip
        what=f"{reason} event",
    )[0]


def _env(isvc: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in isvc["spec"]["predictor"]["containers"][0]["env"]}


def test_prompt_versions_published_and_default_protected(
    start_operator: Callable[[], KopfRunner], api: client.ApiClient, k8s_namespace: str
) -> None:
    objects, core, ns = client.CustomObjectsApi(api), client.CoreV1Api(api), k8s_namespace

    def pv(name: str, template: str, default: bool = False) -> dict[str, Any]:
        return {
            "apiVersion": "tipsml.io/v1alpha1",
            "kind": "PromptVersion",
            "metadata": {"name": name},
            "spec": {"version": name, "template": template, "default": default},
        }

    def status(name: str) -> dict[str, Any]:
        return objects.get_namespaced_custom_object(**PV, namespace=ns, name=name).get("status") or {}

    def registry() -> dict[str, str]:
        try:
            return core.read_namespaced_config_map("tip-generator-prompts", ns).data or {}
        except client.ApiException:
            return {}

    with start_operator():
        objects.create_namespaced_custom_object(
            **PV, namespace=ns, body=pv("v1", "Hi {{ weekday }}", default=True)
        )
        objects.create_namespaced_custom_object(**PV, namespace=ns, body=pv("v2", "Hi {{ secret_thing }}"))
        wait_for(lambda: status("v1").get("phase") == "Ready", what="v1 Ready")
        wait_for(lambda: status("v2").get("phase") == "Invalid", what="v2 Invalid")
        assert "unknown variables: secret_thing" in status("v2")["message"]
        assert status("v1")["observedGeneration"] == 1 and len(status("v1")["contentHash"]) == 64
        document = json.loads(wait_for(lambda: registry().get("v1.json"), what="v1 published"))
        assert (
            document["template"] == "Hi {{ weekday }}"
            and document["contentHash"] == status("v1")["contentHash"]
        )
        assert "v2.json" not in registry()
        reasons = {e.reason for e in core.list_namespaced_event(ns).items}
        assert {"Published", "Invalid"} <= reasons

        objects.delete_namespaced_custom_object(**PV, namespace=ns, name="v1")
        wait_for(
            lambda: "DeletionBlocked" in {e.reason for e in core.list_namespaced_event(ns).items},
            what="block",
        )
        assert objects.get_namespaced_custom_object(**PV, namespace=ns, name="v1")["metadata"][
            "deletionTimestamp"
        ]
        assert "v1.json" in registry()
        objects.patch_namespaced_custom_object(
            **PV, namespace=ns, name="v1", body={"spec": {"default": False}}
        )

        def gone() -> bool:
            try:
                objects.get_namespaced_custom_object(**PV, namespace=ns, name="v1")
            except client.ApiException as e:
                return e.status == 404
            return False

        wait_for(gone, timeout=20, what="v1 deleted")
        assert "v1.json" not in registry()


def test_full_rollout_to_promotion(
    start_operator: Callable[[], KopfRunner],
    api: client.ApiClient,
    k8s_namespace: str,
    prometheus: PrometheusDouble,
    registered_model: tuple[str, MlflowClient],
) -> None:
    objects, ns = client.CustomObjectsApi(api), k8s_namespace
    model, mlflow = registered_model
    prometheus.healthy("2", "1")
    objects.create_namespaced_custom_object(**ISVC, namespace=ns, body=_isvc())
    with start_operator():
        objects.create_namespaced_custom_object(**MR, namespace=ns, body=_rollout(model))
        wait_for(lambda: _phase(objects, ns)() == "Promoted", what="Promoted")
        _wait_event(api, ns, "Promoted")
        # Abort after the end changes nothing and says how to go back instead of staying silent.
        objects.patch_namespaced_custom_object(**MR, namespace=ns, name="r", body={"spec": {"abort": True}})
        ignored = wait_for(
            lambda: [e for e in client.CoreV1Api(api).list_namespaced_event(ns).items if e.reason == "AbortIgnored"],
            what="AbortIgnored event",
        )
        assert "candidate version 1 (the previous champion)" in ignored[0].message
    status = objects.get_namespaced_custom_object(**MR, namespace=ns, name="r")["status"]
    steps = [(h["fromPhase"], h["toPhase"], h["trafficPercent"]) for h in status["history"]]
    assert steps == [
        ("Pending", "Shadow", 0),
        ("Shadow", "Canary", 10),
        ("Canary", "Canary", 50),
        ("Canary", "Promoted", 100),
    ]
    assert status["previousChampion"] == "1" and status["lastAnalysis"]["passed"] is True
    isvc = objects.get_namespaced_custom_object(**ISVC, namespace=ns, name="tip-scorer")
    assert _env(isvc) == {"TIPSML_MODEL_URI": "s3://models/2", "TIPSML_MODEL_VERSION": "2"}
    assert (
        "canaryTrafficPercent" not in isvc["spec"]["predictor"] and "logger" not in isvc["spec"]["predictor"]
    )
    with pytest.raises(client.ApiException):
        objects.get_namespaced_custom_object(**ISVC, namespace=ns, name="tip-scorer-shadow")
    assert str(mlflow.get_model_version_by_alias(model, "champion").version) == "2"


def test_rollback_on_a_failing_gate(
    start_operator: Callable[[], KopfRunner],
    api: client.ApiClient,
    k8s_namespace: str,
    prometheus: PrometheusDouble,
    registered_model: tuple[str, MlflowClient],
) -> None:
    objects, ns = client.CustomObjectsApi(api), k8s_namespace
    model, mlflow = registered_model
    prometheus.healthy("2", "1")
    prometheus.values[("tipsml_rewards_positive_total", "2")] = 50  # 10 % vs the champion's 30 %
    objects.create_namespaced_custom_object(**ISVC, namespace=ns, body=_isvc())
    with start_operator():
        objects.create_namespaced_custom_object(**MR, namespace=ns, body=_rollout(model))
        wait_for(lambda: _phase(objects, ns)() == "RolledBack", what="RolledBack")
        assert _wait_event(api, ns, "RolledBack").type == "Warning"
    status = objects.get_namespaced_custom_object(**MR, namespace=ns, name="r")["status"]
    assert "inferior" in status["lastAnalysis"]["reasons"][0] and status["trafficPercent"] == 0
    isvc = objects.get_namespaced_custom_object(**ISVC, namespace=ns, name="tip-scorer")
    assert _env(isvc) == {"TIPSML_MODEL_URI": "models:/tip-scorer/1", "TIPSML_MODEL_VERSION": "1"}
    assert "canaryTrafficPercent" not in isvc["spec"]["predictor"]
    assert not any(k.startswith("tipsml.io/baseline") for k in isvc["metadata"]["annotations"])
    assert str(mlflow.get_model_version_by_alias(model, "champion").version) == "1"


def test_restart_mid_rollout_resumes_from_status(
    start_operator: Callable[[], KopfRunner],
    api: client.ApiClient,
    k8s_namespace: str,
    prometheus: PrometheusDouble,
    registered_model: tuple[str, MlflowClient],
) -> None:
    objects, ns = client.CustomObjectsApi(api), k8s_namespace
    model, mlflow = registered_model
    prometheus.healthy("2", "1", samples=20)  # below minSamples: the shadow phase waits
    objects.create_namespaced_custom_object(**ISVC, namespace=ns, body=_isvc())
    with start_operator():
        objects.create_namespaced_custom_object(**MR, namespace=ns, body=_rollout(model))
        wait_for(
            lambda: ((_get(objects, ns).get("status") or {}).get("lastAnalysis") or {}).get("samples") == 20,
            what="shadow waiting",
        )
    assert _phase(objects, ns)() == "Shadow"
    shadow = objects.get_namespaced_custom_object(**ISVC, namespace=ns, name="tip-scorer-shadow")
    assert _env(shadow)["TIPSML_ROLE"] == "shadow" and _env(shadow)["TIPSML_MODEL_VERSION"] == "2"
    champion = objects.get_namespaced_custom_object(**ISVC, namespace=ns, name="tip-scorer")
    assert champion["spec"]["predictor"]["logger"]["mode"] == "all"

    prometheus.healthy("2", "1", samples=500)  # while no operator runs, enough traffic arrives
    with start_operator():
        wait_for(lambda: _phase(objects, ns)() == "Promoted", what="Promoted after restart")
    history = objects.get_namespaced_custom_object(**MR, namespace=ns, name="r")["status"]["history"]
    assert [h["toPhase"] for h in history] == ["Shadow", "Canary", "Canary", "Promoted"]  # no repeated start
    assert str(mlflow.get_model_version_by_alias(model, "champion").version) == "2"
