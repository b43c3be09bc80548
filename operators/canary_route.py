"""Standard-mode canary by weight: a Gateway API HTTPRoute sends each step's share of requests to the candidate.

The mechanism of Argo Rollouts' Gateway API traffic router: the platform owns the HTTPRoute in front of the
predictor (the chart renders one with ``scorer.gateway.enabled``) and the operator only sets its backend
weights. Per step:

* a canary Deployment ``<isvc>-predictor-canary``: the predictor's Pod template serving the candidate
  (:func:`operators.canary_split.canary_of`), with the ``app`` label KServe's predictor Service selects
  changed, so that Service keeps sending only to the champion's Pods;
* a Service of the same name in front of those Pods;
* every rule of the route that sends to ``<isvc>-predictor`` gets two backends: the predictor's Service with
  weight ``100 - w`` and the canary Service with weight ``w``.

Unlike the replica ratio, the share is per request (the Gateway picks a backend for each one), any weight
from 1 to 99 is exact whatever the replica counts, and clients that keep connections open see it too. The
canary's Pods are sized like KServe's own ``spec.canary``: ``ceil(stable * w / 100)``, at least one, so capacity
follows the share. Weights move to the canary only once it has a ready Pod (a backend without endpoints
would answer its share with errors), and promotion and rollback give the predictor's Service all the traffic
before the canary's Pods and Service go.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Final

from operators.canary_split import CANARY_SUFFIX, PREDICTOR_SUFFIX
from operators.errors import CanaryUnsupportedError

ROUTE_SPLIT_PREFIX: Final = "Standard: Gateway API HTTPRoute"
SERVICE_SELECTOR_LABEL: Final = "app"
"""The one label KServe's Standard-mode predictor Service selects (``isvc.<name>-predictor``)."""
SERVICE_PORT: Final = 80


def route_mechanism(route: str) -> str:
    """The ``status.trafficMechanism`` of a rollout split by the HTTPRoute ``route``."""
    return f"{ROUTE_SPLIT_PREFIX} {route} (weighted backends: the predictor's Service and a canary Service)"


def route_canary_replicas(weight: int, stable: int) -> int:
    """Canary Pods for a ``weight`` % step beside ``stable`` stable ones: the same share of the capacity."""
    return max(1, math.ceil(stable * weight / 100))


def _is_service_ref(ref: dict[str, Any], service: str) -> bool:
    return bool(
        ref.get("name") == service and ref.get("kind", "Service") == "Service" and ref.get("group", "") in ("", "core")
    )


def _sends_to(rule: dict[str, Any], service: str) -> bool:
    return any(_is_service_ref(ref, service) for ref in rule.get("backendRefs") or [])


def check_route(route: dict[str, Any] | None, namespace: str, name: str, isvc_name: str) -> None:
    """Refuse a route that is missing or has no rule sending to the predictor's Service."""
    service = isvc_name + PREDICTOR_SUFFIX
    if route is None:
        raise CanaryUnsupportedError(
            f"canary.trafficRouting.httpRoute names HTTPRoute {namespace}/{name}, which does not exist: create it "
            f"(the chart does with scorer.gateway.enabled) or drop trafficRouting to split by replica ratio"
        )
    if not any(_sends_to(rule, service) for rule in route.get("spec", {}).get("rules") or []):
        raise CanaryUnsupportedError(
            f"HTTPRoute {namespace}/{name} has no rule with a backendRef to Service {service}: the operator only "
            "weights rules that send to the predictor"
        )


def set_weights(route: dict[str, Any], isvc_name: str, percent: int | None) -> bool:
    """Give the canary Service ``percent`` % of each predictor rule (None: the predictor's Service all of it).

    Edits ``route`` in place and returns whether anything changed. With None the rule is left as a user would
    write it: the predictor's backendRef without a weight, the canary's gone.
    """
    before = copy.deepcopy(route)
    stable, canary = isvc_name + PREDICTOR_SUFFIX, isvc_name + PREDICTOR_SUFFIX + CANARY_SUFFIX
    for rule in route.get("spec", {}).get("rules") or []:
        refs = rule.get("backendRefs") or []
        if not any(_is_service_ref(ref, stable) for ref in refs):
            continue
        kept = [ref for ref in refs if percent is not None or not _is_service_ref(ref, canary)]
        for ref in kept:
            if _is_service_ref(ref, stable):
                if percent is None:
                    ref.pop("weight", None)
                else:
                    ref["weight"] = 100 - percent
            elif _is_service_ref(ref, canary) and percent is not None:
                ref["weight"] = percent  # the stored ref as it is (the API server filled in group and kind)
        if percent is not None and not any(_is_service_ref(ref, canary) for ref in kept):
            port = next((r.get("port") for r in kept if _is_service_ref(r, stable)), None) or SERVICE_PORT
            kept.append({"name": canary, "port": port, "weight": percent})
        rule["backendRefs"] = kept
    return route != before


def canary_weight(route: dict[str, Any], isvc_name: str) -> int:
    """The share (percent) the route gives the canary Service now (0 when it has no such backend)."""
    canary = isvc_name + PREDICTOR_SUFFIX + CANARY_SUFFIX
    for rule in route.get("spec", {}).get("rules") or []:
        for ref in rule.get("backendRefs") or []:
            if _is_service_ref(ref, canary):
                return int(ref.get("weight", 1))
    return 0


def own_pod_labels(deployment: dict[str, Any]) -> None:
    """Give a canary Deployment's Pods an ``app`` label of their own, in the template and the selector."""
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    value = labels.get(SERVICE_SELECTOR_LABEL, deployment["metadata"]["name"])
    if not value.endswith(CANARY_SUFFIX):
        value += CANARY_SUFFIX
    labels[SERVICE_SELECTOR_LABEL] = selector[SERVICE_SELECTOR_LABEL] = value


def canary_service(stable: dict[str, Any], deployment: dict[str, Any], owner: dict[str, Any]) -> dict[str, Any]:
    """The Service in front of the canary Deployment's Pods, with the predictor Service's ports.

    ``stable`` is the predictor's Service as read (camelCase JSON).
    """
    ports = [
        {k: v for k, v in port.items() if k in ("name", "port", "protocol", "targetPort")}
        for port in stable["spec"].get("ports") or []
    ]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": deployment["metadata"]["name"],
            "labels": dict(deployment["metadata"].get("labels") or {}),
            "ownerReferences": [owner],
        },
        "spec": {"selector": dict(deployment["spec"]["selector"]["matchLabels"]), "ports": ports},
    }
