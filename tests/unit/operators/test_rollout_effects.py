"""An effect that cannot be applied fails the pass loudly instead of being skipped (issue 19, defect 5)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, cast

import pytest

from operators.errors import InferenceServiceMissingError
from operators.kube import Kube
from operators.model_registry import ChampionRegistry
from operators.rollout_effects import RolloutEffects
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
