"""Standard-mode canary: a share of the predictor Service's Pods run the candidate (a replica-ratio split).

KServe's Standard (RawDeployment) mode makes one Deployment and one Service per predictor and ignores
``canaryTrafficPercent`` (only its Knative reconciler reads it). Without a Gateway API implementation there is
no weighted route to program, so the split is the one Argo Rollouts' canary uses when no traffic router is
configured: a second Deployment, ``<isvc>-predictor-canary``, copied from the one KServe made but serving the
candidate, whose Pods carry the labels the predictor Service selects. The Service (kube-proxy) spreads
connections evenly over ready endpoints, so the candidate's share is ``k / (stable + k)`` for ``k`` canary Pods
beside ``stable`` ones. The stable Deployment is never touched: KServe and its autoscaler keep owning it.

What this means for users of the split:

* Weights are quantised by the replica counts. A step is accepted only when the nearest achievable share is
  within half of the requested weight (:data:`RELATIVE_TOLERANCE`); otherwise the rollout fails before it
  changes anything, naming how many stable replicas the step needs. A 10 % step needs 6 or more.
* kube-proxy balances connections, not requests: a client that keeps one connection open stays on one Pod.
  Clients that reuse a pool of connections (or open one per request) see the Pod share.

The canary Deployment is owned by the ModelRollout, so deleting the rollout also removes it.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any, Final

from operators.container_env import ENV_MODEL_URI, ENV_MODEL_VERSION, set_env
from operators.errors import CanaryUnsupportedError

REPLICA_SPLIT: Final = "Standard: replica ratio (a canary Deployment behind the predictor Service)"
PREDICTOR_SUFFIX: Final = "-predictor"
CANARY_SUFFIX: Final = "-canary"
TRACK_LABEL: Final = "tipsml.io/track"
TEMPLATE_HASH: Final = "tipsml.io/template-hash"
RELATIVE_TOLERANCE: Final = 0.5
"""A step's achievable share may differ from its weight by at most this fraction of the weight."""
MAX_STABLE_REPLICAS: Final = 100
LOGGER_ANNOTATION_PREFIX: Final = "logger.kserve.io/"
AGENT_CONTAINER: Final = "agent"
KSERVE_ISVC_LABEL: Final = "serving.kserve.io/inferenceservice"
CANARY_OF_LABEL: Final = "tipsml.io/canary-of"


def predictor_deployment(isvc_name: str) -> str:
    """The Deployment KServe's Standard mode makes for an InferenceService's predictor."""
    return isvc_name + PREDICTOR_SUFFIX


def canary_deployment_name(isvc_name: str) -> str:
    """The canary Deployment beside it."""
    return predictor_deployment(isvc_name) + CANARY_SUFFIX


def canary_replicas(weight: int, stable: int) -> int:
    """Canary Pods whose share beside ``stable`` stable Pods is nearest ``weight`` percent (at least one)."""
    return max(1, round(weight * stable / (100 - weight)))


def achieved_percent(canary: int, stable: int) -> float:
    """The candidate's share of the Service's endpoints, in percent."""
    return 100.0 * canary / (canary + stable)


def stable_replicas_needed(weight: int) -> int | None:
    """The fewest stable replicas that let ``weight`` be met within the tolerance (None: beyond the cap)."""
    for stable in range(1, MAX_STABLE_REPLICAS + 1):
        if _close_enough(weight, stable):
            return stable
    return None


def _close_enough(weight: int, stable: int) -> bool:
    share = achieved_percent(canary_replicas(weight, stable), stable)
    return abs(share - weight) <= RELATIVE_TOLERANCE * weight


def check_steps(isvc_name: str, weights: list[int], stable: int) -> None:
    """Refuse steps the replica ratio cannot approximate with ``stable`` stable replicas."""
    for weight in weights:
        if _close_enough(weight, stable):
            continue
        share = achieved_percent(canary_replicas(weight, stable), stable)
        needed = stable_replicas_needed(weight)
        raise CanaryUnsupportedError(
            f"InferenceService {isvc_name} runs in KServe Standard mode, where a canary is a share of the "
            f"predictor's Pods: with {stable} stable replica(s) a {weight} % step would send {share:.0f} % of "
            f"connections to the candidate. Give the predictor minReplicas >= {needed} for this step, use "
            "larger canary weights, or run it in Serverless mode."
        )


def canary_of(
    stable: dict[str, Any], *, version: str, uri: str, replicas: int, owner: dict[str, Any]
) -> dict[str, Any]:
    """The canary Deployment: ``stable``'s Pod template serving ``version`` from ``uri``, ``replicas`` Pods.

    ``stable`` is the predictor Deployment as read (camelCase JSON); ``owner`` an ownerReference entry.
    """
    template = copy.deepcopy(stable["spec"]["template"])
    meta = template.setdefault("metadata", {})
    meta.setdefault("labels", {})[TRACK_LABEL] = "canary"
    annotations = {
        k: v for k, v in (meta.get("annotations") or {}).items() if not k.startswith(LOGGER_ANNOTATION_PREFIX)
    }
    meta["annotations"] = annotations
    # KServe's logger sidecar (container "agent"), should a template carry it, stays with the champion.
    containers = [c for c in template["spec"]["containers"] if c.get("name") != AGENT_CONTAINER]
    template["spec"]["containers"] = containers
    main = next((c for c in containers if c.get("name") == "kserve-container"), containers[0])
    set_env(main, ENV_MODEL_VERSION, version)
    set_env(main, ENV_MODEL_URI, uri)
    selector = {**stable["spec"]["selector"].get("matchLabels", {}), TRACK_LABEL: "canary"}
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()[:16]
    # Not KServe's labels on the Deployment itself: its reconciler deletes every Deployment labelled as the
    # InferenceService's predictor that it did not make ("orphaned predictor deployment"). The Pods keep them.
    isvc = (stable["metadata"].get("labels") or {}).get(KSERVE_ISVC_LABEL, "")
    labels = {TRACK_LABEL: "canary", CANARY_OF_LABEL: isvc, "app.kubernetes.io/part-of": "tipsml"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": stable["metadata"]["name"] + CANARY_SUFFIX,
            "labels": labels,
            "annotations": {TEMPLATE_HASH: digest},
            "ownerReferences": [owner],
        },
        "spec": {"replicas": replicas, "selector": {"matchLabels": selector}, "template": template},
    }

