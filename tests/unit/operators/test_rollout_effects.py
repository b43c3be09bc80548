"""An effect that cannot be applied fails the pass loudly instead of being skipped (issue 19, defect 5), and a
KServe mode that cannot split traffic is refused before any effect."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

import pytest

from operators.errors import CanaryUnsupportedError, InferenceServiceMissingError
from operators.kube import Kube
from operators.model_registry import ChampionRegistry
from operators.rollout_effects import (
    KNATIVE_SPLIT,
    REPLICA_SPLIT,
    RolloutEffects,
    deployment_mode,
    traffic_mechanism,
)
from operators.rollout_machine import Action, PromoteModel, RestoreBaseline, SetCanary, StopShadow
from operators.settings import OperatorSettings


class _MissingIsvc:
    """A Kube whose InferenceService is gone: ``edit_isvc`` reports False, as the real one does on a 404."""

    def __init__(self) -> None:
        self.edits = 0

    async def edit_isvc(self, namespace: str, name: str, edit: Callable[[dict[str, Any]], bool]) -> bool:
        self.edits += 1
        return False

    async def delete_isvc(self, namespace: str, name: str) -> None:
        return None


@pytest.mark.parametrize(
    "action",
    [RestoreBaseline(), StopShadow(), SetCanary("2", None, 10), PromoteModel("2", None)],
    ids=lambda a: type(a).__name__,
)
def test_missing_inference_service_fails_the_action(action: Action) -> None:
    kube = _MissingIsvc()
    effects = RolloutEffects(
        cast(Kube, kube),
        cast(ChampionRegistry, object()),
        OperatorSettings(),
        "ns",
        "r",
        "tip-scorer",
        "tip-scorer",
    )
    with pytest.raises(InferenceServiceMissingError, match=f"ns/tip-scorer not found: {type(action).__name__}"):
        asyncio.run(effects.apply(action))
    assert kube.edits == 1


def _isvc(
    annotations: dict[str, str] | None = None, status_mode: str | None = None, min_replicas: int | None = None
) -> dict[str, Any]:
    status = {"deploymentMode": status_mode} if status_mode else {}
    predictor = {} if min_replicas is None else {"minReplicas": min_replicas}
    return {
        "metadata": {"name": "tip-scorer", "annotations": annotations or {}},
        "spec": {"predictor": predictor},
        "status": status,
    }


def test_traffic_mechanism_refuses_steps_the_mode_cannot_split() -> None:
    assert traffic_mechanism(_isvc(), [10, 50]) == KNATIVE_SPLIT  # no annotation, not reconciled: KServe's default
    assert traffic_mechanism(_isvc({"serving.kserve.io/deploymentMode": "Serverless"}), [10]) == KNATIVE_SPLIT
    for isvc in (_isvc({"serving.kserve.io/deploymentMode": "RawDeployment"}),
                 _isvc(status_mode="Standard")):  # the cluster's default mode shows only in status
        # One stable replica: one canary Pod beside it is 50 %, never the 10 % asked for.
        with pytest.raises(CanaryUnsupportedError, match=r"10 % step would send 50 %.*minReplicas >= 6"):
            traffic_mechanism(isvc, [10, 50])
    assert traffic_mechanism(_isvc(status_mode="Standard", min_replicas=3), [25, 50]) == REPLICA_SPLIT
    assert traffic_mechanism(_isvc(status_mode="Standard", min_replicas=6), [10, 50]) == REPLICA_SPLIT
    # What the controller did wins over what the annotation asks for.
    assert deployment_mode(_isvc({"serving.kserve.io/deploymentMode": "Serverless"}, "Standard")) == "Standard"
