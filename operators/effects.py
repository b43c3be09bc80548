"""One rollout path, two backends: what applying a rollout's actions needs, and one pass over it.

:class:`RolloutEffectsPort` is everything a reconcile pass asks of the world it changes: apply one
:mod:`operators.rollout_machine` action, say whether a canary split is not serving at its share yet, and
describe the split it set. :class:`operators.rollout_effects.RolloutEffects` is the KServe implementation
(InferenceServices, the canary Deployment, MLflow); the local stack has one over scorer processes. Whatever
backs it, observations come only from a :class:`~operators.metrics_sources.SeriesProvider` over the metric
names of :mod:`contracts.serving_metrics`, so a gate reads the same series in a cluster and on a laptop.

:func:`reconcile` is the measure → decide → act core of a pass, free of Kubernetes: reading and writing the
rollout object (and the checks that need the API server) stay with the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from contracts.crds import ModelRolloutSpec, ModelRolloutStatus
from operators.metrics import CanaryObservation, MetricsProvider, MetricsQuery, ShadowObservation
from operators.rollout_machine import Action, Decision, advance, fail, needs_analysis

if TYPE_CHECKING:
    from operators.rollout_effects import RolloutEffects


class RolloutEffectsPort(Protocol):
    """Applies a rollout's actions to whatever serves the model; every action is idempotent."""

    split: str | None
    """After a canary step: how the split was realised, for the status message (None: as asked)."""

    async def apply(self, action: Action) -> None:
        """Apply one action."""
        ...

    async def canary_pending(self) -> str | None:
        """Why the current canary step is not serving at its share yet, or None once it is."""
        ...


Observation = ShadowObservation | CanaryObservation


@dataclass(frozen=True)
class Pass:
    """What :func:`reconcile` did: the decision (its actions applied) and what the gates were shown."""

    decision: Decision
    observation: Observation | None


async def observe(
    spec: ModelRolloutSpec,
    status: ModelRolloutStatus,
    effects: RolloutEffectsPort,
    metrics: MetricsProvider,
    *,
    namespace: str,
    now: datetime,
    split_may_lag: bool = True,
) -> Observation | None:
    """The observation :func:`~operators.rollout_machine.advance` wants now, or None when it wants none.

    ``split_may_lag``: ask ``effects`` first whether a canary step serves at its share yet (a replica split
    waits for Pods); until it does the gates judge nothing.
    """
    kind = needs_analysis(spec, status, now)
    if kind is None:
        return None
    if kind == "canary" and split_may_lag:
        pending = await effects.canary_pending()
        if pending is not None:
            return CanaryObservation(0, 0.0, None, 0, None, None, split_pending=pending)
    query = MetricsQuery(
        namespace, spec.model_name, spec.candidate.version, status.previous_champion, status.step_started_at or now
    )
    return await (metrics.shadow(query) if kind == "shadow" else metrics.canary(query))


async def reconcile(
    spec: ModelRolloutSpec,
    status: ModelRolloutStatus,
    effects: RolloutEffectsPort,
    metrics: MetricsProvider,
    *,
    namespace: str,
    now: datetime,
    generation: int | None,
    baseline_version: str | None = None,
    split_may_lag: bool = True,
) -> Pass:
    """Measure if due, decide with :func:`~operators.rollout_machine.advance`, apply the actions in order."""
    observation = await observe(
        spec, status, effects, metrics, namespace=namespace, now=now, split_may_lag=split_may_lag
    )
    pending = observation.split_pending if isinstance(observation, CanaryObservation) else None
    entered = status.history[-1].time if status.history else status.step_started_at
    waited = int((now - entered).total_seconds()) if entered is not None else 0
    if pending is not None and waited > spec.canary.max_step_seconds:
        decision = fail(spec, status, now=now, generation=generation, reason="CanaryNotServing",
                        message=f"the step's split did not serve within {waited}s: {pending}")  # fmt: skip
    else:
        decision = advance(
            spec, status, now=now, generation=generation, baseline_version=baseline_version, observation=observation
        )
        if pending is not None:
            # The step's analysis window opens when its split serves, not when it was asked for: samples from
            # a partial split would judge (and pass) the step on the wrong share.
            decision.status.step_started_at = now
    await act(decision, effects)
    return Pass(decision, observation)


async def act(decision: Decision, effects: RolloutEffectsPort) -> None:
    """Apply ``decision``'s actions in order; note the split they set in its status message."""
    for action in decision.actions:
        await effects.apply(action)
    if effects.split is not None:
        decision.status.message = f"{decision.status.message}; candidate on {effects.split}"


if TYPE_CHECKING:

    def _kserve_effects_fit(effects: RolloutEffects) -> RolloutEffectsPort:
        """Type-checked only: the KServe implementation satisfies the interface unchanged."""
        return effects
