"""The HTTPRoute weights a route-split canary step sets, and the Pods and Service behind its canary backend."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from operators.canary_route import (
    canary_service,
    canary_weight,
    check_route,
    own_pod_labels,
    route_canary_replicas,
    route_mechanism,
    set_weights,
)
from operators.canary_split import canary_of
from operators.errors import CanaryUnsupportedError
from operators.rollout_effects import traffic_mechanism

OWNER = {"apiVersion": "tipsml.io/v1alpha1", "kind": "ModelRollout", "name": "r", "uid": "u", "controller": True}


def _route(*rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"metadata": {"name": "tip-scorer"}, "spec": {"rules": [{"backendRefs": refs} for refs in rules]}}


def test_each_step_weights_the_predictor_rules_and_the_end_restores_the_route_as_written() -> None:
    other = [{"name": "docs", "port": 8080}]
    route = _route([{"name": "tip-scorer-predictor", "port": 80}], other)
    written = copy.deepcopy(route)
    assert canary_weight(route, "tip-scorer") == 0
    assert set_weights(route, "tip-scorer", 10)
    assert route["spec"]["rules"][0]["backendRefs"] == [
        {"name": "tip-scorer-predictor", "port": 80, "weight": 90},
        {"name": "tip-scorer-predictor-canary", "port": 80, "weight": 10},
    ]
    assert route["spec"]["rules"][1]["backendRefs"] == other  # a rule to another Service is not touched
    assert canary_weight(route, "tip-scorer") == 10
    assert not set_weights(route, "tip-scorer", 10)  # a repeated pass writes nothing
    for ref in route["spec"]["rules"][0]["backendRefs"]:  # as the API server stores them
        ref.update(group="", kind="Service")
    assert not set_weights(route, "tip-scorer", 10)
    assert set_weights(route, "tip-scorer", 50) and canary_weight(route, "tip-scorer") == 50
    assert len(route["spec"]["rules"][0]["backendRefs"]) == 2
    assert set_weights(route, "tip-scorer", None)
    assert route["spec"]["rules"][0]["backendRefs"] == [{"name": "tip-scorer-predictor", "port": 80, "group": "",
                                                        "kind": "Service"}]  # fmt: skip
    route["spec"]["rules"][0]["backendRefs"][0] = {"name": "tip-scorer-predictor", "port": 80}
    assert route == written


def test_a_route_without_a_rule_to_the_predictor_is_refused_before_anything_changes() -> None:
    with pytest.raises(CanaryUnsupportedError, match="does not exist"):
        check_route(None, "ns", "tip-scorer", "tip-scorer")
    elsewhere = _route([{"name": "tip-scorer-predictor", "port": 80, "kind": "ServiceImport", "group": "mcs"}])
    with pytest.raises(CanaryUnsupportedError, match="no rule with a backendRef to Service tip-scorer-predictor"):
        check_route(elsewhere, "ns", "tip-scorer", "tip-scorer")
    check_route(_route([{"name": "tip-scorer-predictor", "port": 80}]), "ns", "tip-scorer", "tip-scorer")


def test_a_route_is_only_for_standard_mode() -> None:
    standard = {"metadata": {"name": "s", "annotations": {"serving.kserve.io/deploymentMode": "Standard"}},
                "spec": {"predictor": {"minReplicas": 1}}}  # fmt: skip
    # One stable replica: a replica ratio would refuse a 10 % step; weights do not depend on Pods.
    assert traffic_mechanism(standard, [10, 50], "tip-scorer") == route_mechanism("tip-scorer")
    serverless = {"metadata": {"name": "s", "annotations": {}}, "spec": {"predictor": {}}}
    with pytest.raises(CanaryUnsupportedError, match="Serverless mode, where Knative splits"):
        traffic_mechanism(serverless, [10], "tip-scorer")


@pytest.mark.parametrize(("weight", "stable", "canary"), [(10, 1, 1), (10, 9, 1), (50, 9, 5), (25, 4, 1), (99, 2, 2)])
def test_canary_pods_follow_the_share_of_the_capacity(weight: int, stable: int, canary: int) -> None:
    assert route_canary_replicas(weight, stable) == canary


def test_the_canary_pods_leave_the_predictor_service_and_get_their_own() -> None:
    labels = {"app": "isvc.tip-scorer-predictor", "serving.kserve.io/inferenceservice": "tip-scorer"}
    stable = {
        "metadata": {"name": "tip-scorer-predictor", "labels": {"serving.kserve.io/inferenceservice": "tip-scorer"}},
        "spec": {
            "selector": {"matchLabels": {"app": "isvc.tip-scorer-predictor"}},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "kserve-container"}]}},
        },
    }
    deployment = canary_of(stable, version="2", uri="models:/tip-scorer/2", replicas=1, owner=OWNER)
    own_pod_labels(deployment)
    own_pod_labels(deployment)  # idempotent: one suffix
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selected = deployment["spec"]["selector"]["matchLabels"]["app"]
    assert pod_labels["app"] == selected == "isvc.tip-scorer-predictor-canary"
    service = {"spec": {"selector": {"app": "isvc.tip-scorer-predictor"}, "clusterIP": "10.96.0.9", "ports": [
        {"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080, "appProtocol": "http"}]}}  # fmt: skip
    body = canary_service(service, deployment, OWNER)
    assert body["metadata"]["name"] == "tip-scorer-predictor-canary"
    assert body["metadata"]["ownerReferences"] == [OWNER]
    assert body["spec"] == {
        "selector": deployment["spec"]["selector"]["matchLabels"],
        "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
    }
    # The predictor Service's selector no longer matches the canary's Pods.
    assert any(pod_labels.get(k) != v for k, v in service["spec"]["selector"].items())
