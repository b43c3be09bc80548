"""``operators.rollout_driver.drive_once`` and the Standard-mode canaries against the real API server and MLflow.

One pass reads the rollout fresh, decides, applies the actions to real InferenceServices and writes the status
only when it changed; the kopf daemon around it is tested in ``test_operator_handlers``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from kubernetes import client
from mlflow import MlflowClient

from operators.canary_route import canary_weight, route_mechanism
from operators.canary_split import REPLICA_SPLIT
from operators.kube import Kube
from operators.metrics_sources import LocalProvider, PrometheusProvider
from operators.model_registry import ChampionRegistry
from operators.rollout_driver import Runtime, drive_once, metrics_provider
from operators.rollout_effects import RolloutEffects
from operators.rollout_machine import PromoteModel, SetCanary, StartShadow
from operators.settings import MetricsSource, OperatorSettings
from tests.k8s.operators.operator_support import ISVC, MR
from tests.unit.operators.prometheus_double import PrometheusDouble

pytestmark = pytest.mark.k8s


def rollout_body(model: str, candidate: str = "2", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "tipsml.io/v1alpha1",
        "kind": "ModelRollout",
        "metadata": {"name": "r"},
        "spec": {"modelName": model, "candidate": {"version": candidate}, **spec},
    }


def isvc_body(annotations: dict[str, str] | None = None) -> dict[str, Any]:
    env = [{"name": "TIPSML_MODEL_URI", "value": "models:/tip-scorer/1"}]
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "tip-scorer", "annotations": annotations or {}},
        "spec": {"predictor": {"containers": [{"name": "kserve-container", "image": "tipsml/scorer", "env": env}]}},
    }


@pytest.fixture
async def runtime(
    k8s_cluster: Any, operator_crds: None, mlflow_db: tuple[str, str], prometheus: PrometheusDouble
) -> AsyncIterator[Runtime]:
    settings = OperatorSettings(mlflow_tracking_uri=mlflow_db[0], prometheus_url=prometheus.url, standalone=True)
    api = k8s_cluster.api_client()
    rt = Runtime(settings, Kube(api), ChampionRegistry(settings.mlflow_tracking_uri), metrics_provider(settings))
    yield rt
    await rt.metrics.aclose()
    api.close()


def stored(api: client.ApiClient, ns: str, name: str = "r") -> dict[str, Any]:
    body: dict[str, Any] = client.CustomObjectsApi(api).get_namespaced_custom_object(**MR, namespace=ns, name=name)
    return body


async def test_a_candidate_missing_from_the_registry_fails_the_rollout(
    runtime: Runtime, api: client.ApiClient, k8s_namespace: str, registered_model: tuple[str, MlflowClient]
) -> None:
    model, _ = registered_model
    objects = client.CustomObjectsApi(api)
    objects.create_namespaced_custom_object(**MR, namespace=k8s_namespace, body=rollout_body(model, candidate="9"))
    done = await drive_once(runtime, k8s_namespace, "r")
    assert done.written and not done.decision.actions
    status = stored(api, k8s_namespace)["status"]
    assert status["phase"] == "Failed" and "version 9 is not registered" in status["message"]
    assert status["observedGeneration"] == 1
    again = await drive_once(runtime, k8s_namespace, "r")  # terminal: nothing to decide, nothing written
    assert not again.written and again.decision.status.phase.is_terminal
    assert stored(api, k8s_namespace)["metadata"]["resourceVersion"] == again.body["metadata"]["resourceVersion"]


async def test_a_candidate_that_is_already_the_champion_fails_the_rollout(
    runtime: Runtime, api: client.ApiClient, k8s_namespace: str, registered_model: tuple[str, MlflowClient]
) -> None:
    """Issue 19, defect 6: without a baseline the CRD cannot compare; the first pass does."""
    model, _ = registered_model
    objects = client.CustomObjectsApi(api)
    objects.create_namespaced_custom_object(**MR, namespace=k8s_namespace, body=rollout_body(model, candidate="1"))
    done = await drive_once(runtime, k8s_namespace, "r")
    assert done.written and not [a for a in done.decision.actions if isinstance(a, StartShadow)]
    status = stored(api, k8s_namespace)["status"]
    assert status["phase"] == "Failed" and "candidate 1 is already the champion" in status["message"]


async def test_a_rollout_whose_steps_shrank_under_it_fails_instead_of_sticking(
    runtime: Runtime, api: client.ApiClient, k8s_namespace: str, registered_model: tuple[str, MlflowClient]
) -> None:
    """Issue 19, defect 5: a step index past the (edited) steps used to raise IndexError on every pass."""
    model, _ = registered_model
    objects = client.CustomObjectsApi(api)
    ns = k8s_namespace
    objects.create_namespaced_custom_object(**MR, namespace=ns, body=rollout_body(model))
    objects.create_namespaced_custom_object(**ISVC, namespace=ns, body=isvc_body())
    started = "2026-01-01T00:00:00Z"
    objects.patch_namespaced_custom_object_status(
        **MR, namespace=ns, name="r", body={"status": {"phase": "Canary", "currentStep": 5, "stepStartedAt": started}}
    )
    await drive_once(runtime, ns, "r")
    status = stored(api, ns)["status"]
    assert status["phase"] == "Failed" and "canary step 5 no longer exists" in status["message"]


async def test_first_pass_starts_the_shadow_from_the_champion(
    runtime: Runtime, api: client.ApiClient, k8s_namespace: str, registered_model: tuple[str, MlflowClient]
) -> None:
    model, _ = registered_model
    objects = client.CustomObjectsApi(api)
    objects.create_namespaced_custom_object(**ISVC, namespace=k8s_namespace, body=isvc_body())
    objects.create_namespaced_custom_object(**MR, namespace=k8s_namespace, body=rollout_body(model))
    done = await drive_once(runtime, k8s_namespace, "r")
    assert done.written and done.decision.actions == [StartShadow("2", None)]
    status = stored(api, k8s_namespace)["status"]
    assert status["phase"] == "Shadow" and status["previousChampion"] == "1"  # read from the champion alias
    shadow = objects.get_namespaced_custom_object(**ISVC, namespace=k8s_namespace, name="tip-scorer-shadow")
    env = {e["name"]: e["value"] for e in shadow["spec"]["predictor"]["containers"][0]["env"]}
    assert env["TIPSML_MODEL_URI"] == f"models:/{model}/2" and env["TIPSML_ROLE"] == "shadow"
    # One replica, so a logged request and its response reach the same shadow process and pair.
    assert shadow["spec"]["predictor"]["minReplicas"] == shadow["spec"]["predictor"]["maxReplicas"] == 1
    assert status["trafficMechanism"] == "Serverless: Knative revisions, canaryTrafficPercent"


async def test_a_standard_mode_service_fails_the_rollout_before_anything_changes(
    runtime: Runtime, api: client.ApiClient, k8s_namespace: str, registered_model: tuple[str, MlflowClient]
) -> None:
    # Standard mode splits by Pods: with one stable replica the first "10 %" step would be 50 %.
    model, _ = registered_model
    objects = client.CustomObjectsApi(api)
    body = isvc_body({"serving.kserve.io/deploymentMode": "Standard"})
    objects.create_namespaced_custom_object(**ISVC, namespace=k8s_namespace, body=body)
    before = objects.get_namespaced_custom_object(**ISVC, namespace=k8s_namespace, name="tip-scorer")
    objects.create_namespaced_custom_object(**MR, namespace=k8s_namespace, body=rollout_body(model))
    done = await drive_once(runtime, k8s_namespace, "r")
    status = stored(api, k8s_namespace)["status"]
    assert status["phase"] == "Failed", status
    assert "a 10 % step would send 50 % of connections" in status["message"]
    assert not [a for a in done.decision.actions if isinstance(a, StartShadow)]
    after = objects.get_namespaced_custom_object(**ISVC, namespace=k8s_namespace, name="tip-scorer")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]  # not even touched
    listed = objects.list_namespaced_custom_object(**ISVC, namespace=k8s_namespace)["items"]
    assert [i["metadata"]["name"] for i in listed] == ["tip-scorer"]  # no shadow was made


async def test_a_paused_rollout_waits_in_pending(
    runtime: Runtime, api: client.ApiClient, k8s_namespace: str, registered_model: tuple[str, MlflowClient]
) -> None:
    model, _ = registered_model
    objects = client.CustomObjectsApi(api)
    objects.create_namespaced_custom_object(**MR, namespace=k8s_namespace, body=rollout_body(model, paused=True))
    done = await drive_once(runtime, k8s_namespace, "r")
    assert not done.decision.actions
    status = stored(api, k8s_namespace)["status"]
    assert status["phase"] == "Pending" and status["message"] == "paused in Pending"


def test_metrics_provider_follows_the_settings() -> None:
    assert isinstance(metrics_provider(OperatorSettings()), PrometheusProvider)
    assert isinstance(metrics_provider(OperatorSettings(metrics_source=MetricsSource.LOCAL)), LocalProvider)


def _predictor_deployment(replicas: int) -> dict[str, Any]:
    """The Deployment KServe's Standard mode makes for tip-scorer's predictor (trimmed to what matters)."""
    labels = {"app": "isvc.tip-scorer-predictor", "serving.kserve.io/inferenceservice": "tip-scorer"}
    container = {
        "name": "kserve-container",
        "image": "tipsml/scorer",
        "env": [{"name": "TIPSML_MODEL_URI", "value": "models:/tip-scorer/1"}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "tip-scorer-predictor", "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "isvc.tip-scorer-predictor"}},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


async def test_standard_mode_canary_adds_candidate_pods_behind_the_predictor_service(
    runtime: Runtime, api: client.ApiClient, k8s_namespace: str, registered_model: tuple[str, MlflowClient]
) -> None:
    """Replica ratio: 25 % is one candidate Pod beside three, 50 % three; promotion removes the canary."""
    model, _ = registered_model
    ns = k8s_namespace
    objects, apps = client.CustomObjectsApi(api), client.AppsV1Api(api)
    isvc = isvc_body({"serving.kserve.io/deploymentMode": "Standard"})
    isvc["spec"]["predictor"]["minReplicas"] = 3
    objects.create_namespaced_custom_object(**ISVC, namespace=ns, body=isvc)
    stable = apps.create_namespaced_deployment(ns, _predictor_deployment(3))
    steps = [{"weight": 25, "pauseSeconds": 0}, {"weight": 50, "pauseSeconds": 0}]
    objects.create_namespaced_custom_object(**MR, namespace=ns, body=rollout_body(model, canary={"steps": steps}))
    await drive_once(runtime, ns, "r")
    status = stored(api, ns)["status"]
    assert status["phase"] == "Shadow" and status["trafficMechanism"] == REPLICA_SPLIT
    rollout = stored(api, ns)
    owner = {"apiVersion": rollout["apiVersion"], "kind": "ModelRollout", "name": "r",
             "uid": rollout["metadata"]["uid"], "controller": True, "blockOwnerDeletion": False}  # fmt: skip
    effects = RolloutEffects(runtime.kube, runtime.champions, runtime.settings, ns, "r", model, "tip-scorer",
                             mechanism=REPLICA_SPLIT, owner=owner)  # fmt: skip
    for weight, replicas in ((25, 1), (50, 3)):
        await effects.apply(SetCanary("2", None, weight))
        canary = apps.read_namespaced_deployment("tip-scorer-predictor-canary", ns)
        assert canary.spec.replicas == replicas and effects.split == f"{replicas} of {replicas + 3} Pods ({weight} %)"
        assert canary.spec.template.metadata.labels["app"] == "isvc.tip-scorer-predictor"
        assert {e.name: e.value for e in canary.spec.template.spec.containers[0].env}["TIPSML_MODEL_URI"] == (
            f"models:/{model}/2")  # fmt: skip
        assert canary.metadata.owner_references[0].uid == rollout["metadata"]["uid"]
        served = objects.get_namespaced_custom_object(**ISVC, namespace=ns, name="tip-scorer")
        assert served["spec"]["predictor"]["containers"][0]["env"][0]["value"] == "models:/tip-scorer/1"
        # No node runs these Pods here: the step waits until the Deployment reports them ready.
        ready_before = 0 if weight == 25 else 1  # the first step's Pod is still ready while the second scales up
        assert await effects.canary_pending() == f"waiting for the canary Pods: {ready_before}/{replicas} ready"
        apps.patch_namespaced_deployment_status("tip-scorer-predictor-canary", ns, {"status": {
            "observedGeneration": canary.metadata.generation, "replicas": replicas, "readyReplicas": replicas,
            "updatedReplicas": replicas}})  # fmt: skip
        if weight == 25:  # the predictor's own Deployment must be settled too (after the shadow its Pods roll)
            rolling = "waiting for the predictor's rollout: 0/3 ready"
            assert await effects.canary_pending() == rolling
            apps.patch_namespaced_deployment_status("tip-scorer-predictor", ns, {"status": {
                "observedGeneration": stable.metadata.generation, "replicas": 4, "readyReplicas": 4,
                "updatedReplicas": 3}})  # fmt: skip
            rolling = "waiting for the predictor's rollout: 3/3 ready, 1 old Pod(s) still serving"
            assert await effects.canary_pending() == rolling
            apps.patch_namespaced_deployment_status("tip-scorer-predictor", ns, {"status": {
                "observedGeneration": stable.metadata.generation, "replicas": 3, "readyReplicas": 3,
                "updatedReplicas": 3}})  # fmt: skip
        assert await effects.canary_pending() is None
    version = apps.read_namespaced_deployment("tip-scorer-predictor-canary", ns).metadata.resource_version
    await effects.apply(SetCanary("2", None, 50))  # repeated pass: nothing written
    assert apps.read_namespaced_deployment("tip-scorer-predictor-canary", ns).metadata.resource_version == version
    await effects.apply(PromoteModel("2", None))
    served = objects.get_namespaced_custom_object(**ISVC, namespace=ns, name="tip-scorer")
    assert {e["name"]: e["value"] for e in served["spec"]["predictor"]["containers"][0]["env"]}[
        "TIPSML_MODEL_URI"] == f"models:/{model}/2"  # fmt: skip
    assert [d.metadata.name for d in apps.list_namespaced_deployment(ns).items] == ["tip-scorer-predictor"]


# --- A weighted canary: a Gateway API HTTPRoute's weights (canary.trafficRouting.httpRoute) -------------
# The HTTPRoute CRD is the Gateway API release's own, so a weight the schema refuses fails here. No Gateway serves
# the route on this API server: tests/cluster/test_rollout.py sends requests through one and measures the split.

ROUTES = {"group": "gateway.networking.k8s.io", "version": "v1", "plural": "httproutes"}
ROUTE = {
    "apiVersion": "gateway.networking.k8s.io/v1",
    "kind": "HTTPRoute",
    "metadata": {"name": "tip-scorer"},
    "spec": {
        "parentRefs": [{"name": "tipsml"}],
        "rules": [{"backendRefs": [{"name": "tip-scorer-predictor", "port": 80}]}],
    },
}
SERVICE = {
    "apiVersion": "v1",
    "kind": "Service",
    "metadata": {"name": "tip-scorer-predictor"},
    "spec": {"selector": {"app": "isvc.tip-scorer-predictor"},
             "ports": [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]},  # fmt: skip
}
STEPS = [{"weight": 10, "pauseSeconds": 0}, {"weight": 50, "pauseSeconds": 0}]


def _standard_isvc(objects: client.CustomObjectsApi, ns: str) -> None:
    isvc = isvc_body({"serving.kserve.io/deploymentMode": "Standard"})
    isvc["spec"]["predictor"]["minReplicas"] = 1
    objects.create_namespaced_custom_object(**ISVC, namespace=ns, body=isvc)


async def _route_rollout_in_shadow(
    runtime: Runtime, api: client.ApiClient, ns: str, model: str
) -> tuple[dict[str, Any], RolloutEffects, list[dict[str, Any]]]:
    """A Standard-mode InferenceService with one stable Pod, its Service and HTTPRoute, and a route rollout one
    pass in (Shadow: baseline remembered, logger set); the rollout, its effects and the route's backends."""
    objects, apps, core = client.CustomObjectsApi(api), client.AppsV1Api(api), client.CoreV1Api(api)
    _standard_isvc(objects, ns)
    apps.create_namespaced_deployment(ns, _predictor_deployment(1))
    core.create_namespaced_service(ns, SERVICE)
    objects.create_namespaced_custom_object(**ROUTES, namespace=ns, body=ROUTE)
    written = _backends(objects, ns)
    canary = {"steps": STEPS, "trafficRouting": {"httpRoute": "tip-scorer"}}
    objects.create_namespaced_custom_object(**MR, namespace=ns, body=rollout_body(model, canary=canary))
    await drive_once(runtime, ns, "r")
    rollout = stored(api, ns)
    assert rollout["status"]["phase"] == "Shadow"
    assert rollout["status"]["trafficMechanism"] == route_mechanism("tip-scorer")
    owner = {"apiVersion": rollout["apiVersion"], "kind": "ModelRollout", "name": "r",
             "uid": rollout["metadata"]["uid"], "controller": True, "blockOwnerDeletion": False}  # fmt: skip
    effects = RolloutEffects(runtime.kube, runtime.champions, runtime.settings, ns, "r", model, "tip-scorer",
                             mechanism=route_mechanism("tip-scorer"), owner=owner, route="tip-scorer")  # fmt: skip
    return rollout, effects, written


def _backends(objects: client.CustomObjectsApi, ns: str) -> list[dict[str, Any]]:
    route = objects.get_namespaced_custom_object(**ROUTES, namespace=ns, name="tip-scorer")
    refs: list[dict[str, Any]] = route["spec"]["rules"][0]["backendRefs"]
    return refs


def _ready(apps: client.AppsV1Api, ns: str, name: str, replicas: int) -> None:
    generation = apps.read_namespaced_deployment(name, ns).metadata.generation
    apps.patch_namespaced_deployment_status(name, ns, {"status": {
        "observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas,
        "updatedReplicas": replicas}})  # fmt: skip


async def test_a_route_canary_weights_the_route_once_its_pods_are_ready_and_promotion_restores_it(
    runtime: Runtime, api: client.ApiClient, k8s_namespace: str, registered_model: tuple[str, MlflowClient]
) -> None:
    """One stable replica: 10 % is a weight (a replica ratio would refuse it); the canary has its own Service."""
    model, _ = registered_model
    ns = k8s_namespace
    objects, apps, core = client.CustomObjectsApi(api), client.AppsV1Api(api), client.CoreV1Api(api)
    rollout, effects, written = await _route_rollout_in_shadow(runtime, api, ns, model)
    await effects.apply(SetCanary("2", None, 10))
    deployment = apps.read_namespaced_deployment("tip-scorer-predictor-canary", ns)
    assert deployment.spec.replicas == 1
    assert deployment.spec.template.metadata.labels["app"] == "isvc.tip-scorer-predictor-canary"
    service = core.read_namespaced_service("tip-scorer-predictor-canary", ns)
    assert service.spec.selector == deployment.spec.selector.match_labels
    assert [(p.port, p.target_port) for p in service.spec.ports] == [(80, 8080)]
    assert service.metadata.owner_references[0].uid == rollout["metadata"]["uid"]
    # No canary Pod is ready: a weight now would answer 10 % of requests with errors, so the route waits.
    assert _backends(objects, ns) == written
    assert await effects.canary_pending() == "waiting for the canary Pods: 0/1 ready"
    _ready(apps, ns, "tip-scorer-predictor-canary", 1)
    _ready(apps, ns, "tip-scorer-predictor", 1)
    assert await effects.canary_pending() == "HTTPRoute tip-scorer weighted 10 % just now"
    assert await effects.canary_pending() is None
    assert _backends(objects, ns) == [
        {"group": "", "kind": "Service", "name": "tip-scorer-predictor", "port": 80, "weight": 90},
        {"group": "", "kind": "Service", "name": "tip-scorer-predictor-canary", "port": 80, "weight": 10},
    ]  # the API server fills in group and kind
    assert effects.split is None or "10 %" in effects.split
    # The next step: a canary Pod is ready already, so the weight moves with the action.
    await effects.apply(SetCanary("2", None, 50))
    route = objects.get_namespaced_custom_object(**ROUTES, namespace=ns, name="tip-scorer")
    assert canary_weight(route, "tip-scorer") == 50
    assert effects.split == "HTTPRoute tip-scorer: 50 % of requests to 1 canary Pod(s)"
    await effects.apply(PromoteModel("2", None))
    served = objects.get_namespaced_custom_object(**ISVC, namespace=ns, name="tip-scorer")
    assert {e["name"]: e["value"] for e in served["spec"]["predictor"]["containers"][0]["env"]}[
        "TIPSML_MODEL_URI"] == f"models:/{model}/2"  # fmt: skip
    assert _backends(objects, ns) == written  # as created (the API server defaults the weight to 1)
    assert [d.metadata.name for d in apps.list_namespaced_deployment(ns).items] == ["tip-scorer-predictor"]
    assert [s.metadata.name for s in core.list_namespaced_service(ns).items] == ["tip-scorer-predictor"]


async def test_a_rollout_naming_a_missing_route_fails_before_anything_changes(
    runtime: Runtime, api: client.ApiClient, k8s_namespace: str, registered_model: tuple[str, MlflowClient]
) -> None:
    model, _ = registered_model
    objects = client.CustomObjectsApi(api)
    _standard_isvc(objects, k8s_namespace)
    canary = {"steps": STEPS, "trafficRouting": {"httpRoute": "nowhere"}}
    objects.create_namespaced_custom_object(**MR, namespace=k8s_namespace, body=rollout_body(model, canary=canary))
    await drive_once(runtime, k8s_namespace, "r")
    status = stored(api, k8s_namespace)["status"]
    assert status["phase"] == "Failed", status
    assert f"HTTPRoute {k8s_namespace}/nowhere, which does not exist" in status["message"]
    served = objects.get_namespaced_custom_object(**ISVC, namespace=k8s_namespace, name="tip-scorer")
    assert "logger" not in served["spec"]["predictor"]  # no shadow was started


async def test_a_route_deleted_under_a_running_canary_fails_the_rollout_and_removes_the_canary(
    runtime: Runtime, api: client.ApiClient, k8s_namespace: str, registered_model: tuple[str, MlflowClient]
) -> None:
    """Without its HTTPRoute a step cannot be weighted again: one pass ends the rollout instead of every pass
    failing while the canary Pods stay."""
    model, _ = registered_model
    ns = k8s_namespace
    objects, apps, core = client.CustomObjectsApi(api), client.AppsV1Api(api), client.CoreV1Api(api)
    _, effects, _ = await _route_rollout_in_shadow(runtime, api, ns, model)
    await effects.apply(SetCanary("2", None, 10))  # what the pass into Canary 10 % applies
    _ready(apps, ns, "tip-scorer-predictor-canary", 1)
    _ready(apps, ns, "tip-scorer-predictor", 1)
    objects.patch_namespaced_custom_object_status(**MR, namespace=ns, name="r", body={"status": {
        "phase": "Canary", "currentStep": 0, "trafficPercent": 10}})  # fmt: skip
    objects.delete_namespaced_custom_object(**ROUTES, namespace=ns, name="tip-scorer")
    await drive_once(runtime, ns, "r")
    status = stored(api, ns)["status"]
    assert status["phase"] == "Failed", status
    assert f"HTTPRoute {ns}/tip-scorer is gone" in status["message"], status["message"]
    assert status["trafficPercent"] == 0
    assert [d.metadata.name for d in apps.list_namespaced_deployment(ns).items] == ["tip-scorer-predictor"]
    assert [s.metadata.name for s in core.list_namespaced_service(ns).items] == ["tip-scorer-predictor"]
    served = objects.get_namespaced_custom_object(**ISVC, namespace=ns, name="tip-scorer")
    assert "logger" not in served["spec"]["predictor"]
    assert {e["name"]: e["value"] for e in served["spec"]["predictor"]["containers"][0]["env"]}[
        "TIPSML_MODEL_URI"] == "models:/tip-scorer/1"  # fmt: skip
    again = await drive_once(runtime, ns, "r")  # terminal: nothing more to do
    assert not again.written and not again.decision.actions
