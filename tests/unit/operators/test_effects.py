"""One pass of the rollout path over any backend: observe through the provider, decide, apply in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from contracts.crds import ModelRolloutSpec, ModelRolloutStatus, RolloutHistoryEntry, RolloutPhase
from operators.effects import RolloutEffectsPort, reconcile
from operators.metrics import CanaryObservation, MetricsQuery, ShadowObservation
from operators.rollout_machine import Action, SetCanary, StartShadow, StopShadow

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class RecordingEffects:
    """A backend that records what it was asked to do."""

    def __init__(self, pending: str | None = None) -> None:
        self.applied: list[Action] = []
        self.pending_asked = 0
        self.split: str | None = None
        self._pending = pending

    async def apply(self, action: Action) -> None:
        self.applied.append(action)
        if isinstance(action, SetCanary):
            self.split = f"{action.percent} % somewhere"

    async def canary_pending(self) -> str | None:
        self.pending_asked += 1
        return self._pending


class FixedMetrics:
    """A provider answering fixed observations and recording its queries."""

    def __init__(self, shadow: ShadowObservation, canary: CanaryObservation) -> None:
        self.queries: list[tuple[str, MetricsQuery]] = []
        self._shadow, self._canary = shadow, canary

    async def shadow(self, query: MetricsQuery) -> ShadowObservation:
        self.queries.append(("shadow", query))
        return self._shadow

    async def canary(self, query: MetricsQuery) -> CanaryObservation:
        self.queries.append(("canary", query))
        return self._canary

    async def aclose(self) -> None:
        return None


GOOD_SHADOW = ShadowObservation(samples=300, error_rate=0.0, p99_latency_ms=12.0, psi=0.05, rank_agreement=0.8)
GOOD_CANARY = CanaryObservation(300, 0.0, 12.0, 5000, 0.31, 0.30, 5000)


def _spec() -> ModelRolloutSpec:
    return ModelRolloutSpec.model_validate(
        {"candidate": {"version": "7"}, "canary": {"steps": [{"weight": 10, "pauseSeconds": 0}]}}
    )


async def test_a_pass_observes_through_the_provider_and_applies_the_decided_actions_in_order() -> None:
    spec, effects = _spec(), RecordingEffects()
    metrics = FixedMetrics(GOOD_SHADOW, GOOD_CANARY)
    port: RolloutEffectsPort = effects
    first = await reconcile(spec, ModelRolloutStatus(), port, metrics, namespace="ns", now=T0, generation=1,
                            baseline_version="6")  # fmt: skip
    assert first.observation is None and metrics.queries == []
    assert first.decision.status.phase is RolloutPhase.SHADOW
    assert effects.applied == [StartShadow("7", None)]

    later = T0 + timedelta(minutes=5)
    second = await reconcile(spec, first.decision.status, effects, metrics, namespace="ns", now=later, generation=1)
    assert second.observation == GOOD_SHADOW
    assert metrics.queries == [("shadow", MetricsQuery("ns", "tip-scorer", "7", "6", T0))]
    assert second.decision.status.phase is RolloutPhase.CANARY
    assert effects.applied[1:] == [StopShadow(), SetCanary("7", None, 10)]
    assert second.decision.status.message.endswith("; candidate on 10 % somewhere")


async def test_a_canary_split_not_serving_yet_is_waited_for_without_a_query() -> None:
    spec, effects = _spec(), RecordingEffects(pending="1/2 canary Pods ready")
    metrics = FixedMetrics(GOOD_SHADOW, GOOD_CANARY)
    status = ModelRolloutStatus(phase=RolloutPhase.CANARY, step_started_at=T0, previous_champion="6")
    done = await reconcile(spec, status, effects, metrics, namespace="ns", now=T0, generation=1)
    assert isinstance(done.observation, CanaryObservation)
    assert done.observation.split_pending == "1/2 canary Pods ready"
    assert metrics.queries == [] and effects.applied == []
    assert done.decision.status.phase is RolloutPhase.CANARY

    # A backend whose split never lags is not asked; the provider is.
    unasked = RecordingEffects(pending="never read")
    done = await reconcile(spec, status, unasked, metrics, namespace="ns", now=T0, generation=1, split_may_lag=False)
    assert unasked.pending_asked == 0 and done.observation == GOOD_CANARY
    assert done.decision.status.phase is RolloutPhase.PROMOTED


async def test_a_steps_window_opens_when_its_split_serves_and_a_split_that_never_serves_fails() -> None:
    spec, effects = _spec(), RecordingEffects(pending="waiting for the canary Pods: 0/1 ready")
    metrics = FixedMetrics(GOOD_SHADOW, GOOD_CANARY)
    entered = RolloutHistoryEntry(time=T0, from_phase=RolloutPhase.SHADOW, to_phase=RolloutPhase.CANARY)
    status = ModelRolloutStatus(phase=RolloutPhase.CANARY, step_started_at=T0, previous_champion="6",
                                history=[entered])  # fmt: skip
    later = T0 + timedelta(seconds=40)
    done = await reconcile(spec, status, effects, metrics, namespace="ns", now=later, generation=1)
    # Samples taken on a partial split must not count: the analysis window starts again from now.
    assert done.decision.status.step_started_at == later and done.decision.status.phase is RolloutPhase.CANARY
    # The step's own bound counts from when the step was entered, not the shadow's.
    spec.canary.max_step_seconds = 120
    assert spec.shadow.max_duration_seconds > 121
    too_late = T0 + timedelta(seconds=121)
    done = await reconcile(spec, done.decision.status, effects, metrics, namespace="ns", now=too_late, generation=1)
    assert done.decision.status.phase is RolloutPhase.FAILED
    assert "did not serve within" in done.decision.status.message and metrics.queries == []
