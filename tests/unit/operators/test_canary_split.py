"""The replica-ratio canary of Standard mode: the split it can reach, and the Deployment it adds."""

from __future__ import annotations

from typing import Any

import pytest

from operators.canary_split import (
    TRACK_LABEL,
    achieved_percent,
    canary_of,
    canary_replicas,
    check_steps,
    stable_replicas_needed,
)
from operators.errors import CanaryUnsupportedError


@pytest.mark.parametrize(
    ("weight", "stable", "canary", "share"),
    [(25, 3, 1, 25.0), (50, 3, 3, 50.0), (10, 9, 1, 10.0), (10, 1, 1, 50.0), (90, 1, 9, 90.0), (20, 6, 2, 25.0)],
)
def test_the_nearest_pod_split_to_each_weight(weight: int, stable: int, canary: int, share: float) -> None:
    assert canary_replicas(weight, stable) == canary
    assert achieved_percent(canary, stable) == pytest.approx(share)


def test_a_step_is_refused_when_the_pods_cannot_come_within_half_its_weight() -> None:
    assert stable_replicas_needed(10) == 6  # 1 of 7 Pods = 14 %, within 5 points of 10
    assert stable_replicas_needed(50) == 1
    check_steps("s", [25, 50], 3)
    with pytest.raises(CanaryUnsupportedError, match=r"with 3 stable replica\(s\) a 10 % step would send 25 %"):
        check_steps("s", [10, 50], 3)


def _stable() -> dict[str, Any]:
    labels = {"app": "isvc.tip-scorer-predictor", "serving.kserve.io/inferenceservice": "tip-scorer"}
    return {
        "metadata": {"name": "tip-scorer-predictor", "labels": {**labels, "app.kubernetes.io/managed-by": "x"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "isvc.tip-scorer-predictor"}},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {"prometheus.io/scrape": "true", "logger.kserve.io/mode": "all"},
                },
                "spec": {
                    "containers": [
                        {
                            "name": "kserve-container",
                            "env": [
                                {"name": "TIPSML_MODEL_URI", "value": "models:/tip-scorer@champion"},
                                {"name": "TIPSML_MODEL_VERSION", "valueFrom": {"configMapKeyRef": {"name": "x"}}},
                            ],
                        },
                        {"name": "agent", "args": ["--log-url", "http://tip-scorer-shadow-predictor"]},
                    ]
                },
            },
        },
    }


def test_the_canary_is_the_stable_template_serving_the_candidate_behind_the_same_service() -> None:
    owner = {"apiVersion": "tipsml.io/v1alpha1", "kind": "ModelRollout", "name": "r", "uid": "u", "controller": True}
    stable = _stable()
    body = canary_of(stable, version="7", uri="models:/tip-scorer/7", replicas=1, owner=owner)
    template = body["spec"]["template"]
    # The predictor Service selects app=isvc.tip-scorer-predictor: the canary Pods keep it, plus their track.
    assert template["metadata"]["labels"]["app"] == "isvc.tip-scorer-predictor"
    assert body["spec"]["selector"]["matchLabels"] == {"app": "isvc.tip-scorer-predictor", TRACK_LABEL: "canary"}
    assert template["metadata"]["labels"][TRACK_LABEL] == "canary"
    # The shadow's logger is not copied (no mirrored traffic from canary Pods); scraping is.
    assert template["metadata"]["annotations"] == {"prometheus.io/scrape": "true"}
    assert [c["name"] for c in template["spec"]["containers"]] == ["kserve-container"]  # no logger sidecar
    env = {e["name"]: e for e in template["spec"]["containers"][0]["env"]}
    assert env["TIPSML_MODEL_URI"] == {"name": "TIPSML_MODEL_URI", "value": "models:/tip-scorer/7"}
    assert env["TIPSML_MODEL_VERSION"] == {"name": "TIPSML_MODEL_VERSION", "value": "7"}
    assert body["metadata"]["name"] == "tip-scorer-predictor-canary"
    assert body["metadata"]["ownerReferences"] == [owner] and body["spec"]["replicas"] == 1
    # KServe deletes Deployments labelled as its predictor that it did not make: the canary carries none.
    assert body["metadata"]["labels"] == {TRACK_LABEL: "canary", "tipsml.io/canary-of": "tip-scorer",
                                          "app.kubernetes.io/part-of": "tipsml"}  # fmt: skip
    assert template["metadata"]["labels"]["serving.kserve.io/inferenceservice"] == "tip-scorer"
    assert stable == _stable()  # the stable Deployment as read is left as it was
    again = canary_of(stable, version="7", uri="models:/tip-scorer/7", replicas=3, owner=owner)
    other = canary_of(stable, version="8", uri="models:/tip-scorer/8", replicas=3, owner=owner)
    assert again["metadata"]["annotations"] == body["metadata"]["annotations"]  # same template, same digest
    assert other["metadata"]["annotations"] != body["metadata"]["annotations"]
