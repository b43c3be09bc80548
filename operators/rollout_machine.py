"""The ModelRollout state machine, pure: (spec, status, now, observation) → new status + actions.

Pending → Shadow → Canary step 0..n-1 → Promoted, leaving early to RolledBack (a gate failed, or
``spec.abort``) or Failed (not enough samples within ``shadow.maxDurationSeconds``, or a canary step's
``canary.maxStepSeconds``). ``spec.paused`` holds
the rollout where it is; resuming restarts the current analysis window so samples taken while paused (and
perhaps while someone investigated) do not decide the outcome.

Everything needed to continue lives in the returned status, so an operator restarted mid-rollout picks up
exactly here. Actions are idempotent ("set canary to 50 %", "champion alias = v7"): the driver applies them
before it writes the status, so a crash in between repeats them harmlessly on the next pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from contracts.crds import (
    MAX_ROLLOUT_HISTORY,
    AnalysisResult,
    ModelRolloutSpec,
    ModelRolloutStatus,
    RolloutHistoryEntry,
    RolloutPhase,
)
from operators.conditions import ConditionStatus, condition_is, set_condition
from operators.metrics import CanaryObservation, ShadowObservation
from operators.reward_gate import judge_rewards

Verdict = Literal["pass", "fail", "wait"]
_GATE_STATUS: dict[Verdict, ConditionStatus] = {"pass": "True", "fail": "False", "wait": "Unknown"}


@dataclass(frozen=True)
class StartShadow:
    """Run the candidate as the shadow service and mirror the champion's requests to it."""

    candidate_version: str
    storage_uri: str | None


@dataclass(frozen=True)
class StopShadow:
    """Stop mirroring and delete the shadow service."""


@dataclass(frozen=True)
class SetCanary:
    """Serve the candidate to ``percent`` of real traffic, the baseline to the rest."""

    candidate_version: str
    storage_uri: str | None
    percent: int


@dataclass(frozen=True)
class PromoteModel:
    """Serve the candidate to all traffic; it is the new baseline."""

    candidate_version: str
    storage_uri: str | None


@dataclass(frozen=True)
class RestoreBaseline:
    """Serve the baseline to all traffic again, as before the rollout."""


@dataclass(frozen=True)
class MoveChampion:
    """Point the MLflow alias ``champion`` at ``version`` and note ``reason`` on the model card."""

    version: str
    reason: str


Action = StartShadow | StopShadow | SetCanary | PromoteModel | RestoreBaseline | MoveChampion


@dataclass(frozen=True)
class Event:
    """A Kubernetes Event to post on the rollout."""

    type: Literal["Normal", "Warning"]
    reason: str
    message: str


@dataclass
class Decision:
    """What one reconcile pass concluded."""

    status: ModelRolloutStatus
    actions: list[Action] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


AnalysisKind = Literal["shadow", "canary"]


def needs_analysis(spec: ModelRolloutSpec, status: ModelRolloutStatus, now: datetime) -> AnalysisKind | None:
    """Which metrics :func:`advance` will want now (``shadow``/``canary``), or None to skip the query."""
    if spec.abort or spec.paused or status.phase.is_terminal or status.step_started_at is None:
        return None
    if status.phase is RolloutPhase.SHADOW:
        return "shadow"
    if status.phase is RolloutPhase.CANARY:
        pause = spec.canary.steps[status.current_step].pause_seconds
        return "canary" if (now - status.step_started_at).total_seconds() >= pause else None
    return None


def advance(
    spec: ModelRolloutSpec,
    status: ModelRolloutStatus,
    *,
    now: datetime,
    generation: int | None,
    baseline_version: str | None = None,
    observation: ShadowObservation | CanaryObservation | None = None,
) -> Decision:
    """One reconcile pass. ``baseline_version`` is the champion when starting; ``observation`` per phase."""
    st = status.model_copy(deep=True)
    st.observed_generation = generation
    decision = Decision(status=st)
    if st.phase.is_terminal:
        return decision
    if spec.abort:
        _roll_back(spec, decision, now, generation, "Aborted", "spec.abort was set", failed=False)
        return decision
    if _hold_for_pause(spec, decision, now, generation):
        return decision
    if st.phase is RolloutPhase.PENDING:
        st.previous_champion = spec.baseline.version if spec.baseline else baseline_version
        st.step_started_at = now
        decision.actions.append(StartShadow(spec.candidate.version, spec.candidate.storage_uri))
        _transition(
            decision, RolloutPhase.SHADOW, now, generation, "shadow traffic mirrored to the candidate"
        )
    elif st.phase is RolloutPhase.SHADOW and isinstance(observation, ShadowObservation):
        verdict, result = evaluate_shadow(spec, observation, now)
        _after_analysis(spec, decision, verdict, result, now, generation)
    elif st.phase is RolloutPhase.CANARY and isinstance(observation, CanaryObservation):
        verdict, result = evaluate_canary(spec, observation, st.current_step, now)
        _after_analysis(spec, decision, verdict, result, now, generation)
    return decision


def evaluate_shadow(
    spec: ModelRolloutSpec, obs: ShadowObservation, now: datetime
) -> tuple[Verdict, AnalysisResult]:
    """Shadow gates: samples, error rate, p99; from the sample minimum on (noisy before) PSI and rank agreement."""
    metrics: dict[str, float] = {"errorRate": obs.error_rate}
    reasons: list[str] = []
    waiting = _common_gates(
        spec, obs.samples, obs.error_rate, obs.p99_latency_ms, spec.shadow.min_samples, metrics, reasons
    )
    judged = obs.samples >= spec.shadow.min_samples
    if obs.psi is None:
        waiting.append("no score distribution for both versions yet")
    else:
        metrics["psi"] = obs.psi
        if judged and obs.psi > spec.shadow.max_psi:
            reasons.append(f"score drift PSI {obs.psi:.3f} > {spec.shadow.max_psi}")
    if obs.rank_agreement is None:
        waiting.append("no rank agreement measured yet")
    else:
        metrics["rankAgreement"] = obs.rank_agreement
        if judged and obs.rank_agreement < spec.shadow.min_rank_agreement:
            reasons.append(f"rank agreement {obs.rank_agreement:.3f} < {spec.shadow.min_rank_agreement}")
    return _verdict(RolloutPhase.SHADOW, 0, obs.samples, metrics, reasons, waiting, now)


def evaluate_canary(
    spec: ModelRolloutSpec, obs: CanaryObservation, step: int, now: datetime
) -> tuple[Verdict, AnalysisResult]:
    """Canary gates: samples, error rate, p99 and reward non-inferiority against the champion."""
    metrics: dict[str, float] = {"errorRate": obs.error_rate, "rewardSamples": float(obs.reward_samples)}
    reasons: list[str] = []
    if obs.split_pending is not None:
        return _verdict(RolloutPhase.CANARY, step, 0, {}, reasons, [obs.split_pending], now)
    waiting = _common_gates(
        spec, obs.samples, obs.error_rate, obs.p99_latency_ms, spec.canary.min_samples, metrics, reasons
    )
    judge_rewards(spec.canary, obs, metrics, reasons, waiting)
    return _verdict(RolloutPhase.CANARY, step, obs.samples, metrics, reasons, waiting, now)


def _common_gates(
    spec: ModelRolloutSpec,
    samples: int,
    error_rate: float,
    p99_ms: float | None,
    min_samples: int,
    metrics: dict[str, float],
    reasons: list[str],
) -> list[str]:
    waiting: list[str] = []
    if samples < min_samples:
        waiting.append(f"{samples}/{min_samples} samples")
    if error_rate > spec.gates.max_error_rate:
        reasons.append(f"error rate {error_rate:.4f} > {spec.gates.max_error_rate}")
    if p99_ms is None:
        waiting.append("no latency data yet")
    else:
        metrics["p99LatencyMs"] = p99_ms
        if p99_ms > spec.gates.max_p99_latency_ms:
            reasons.append(f"p99 latency {p99_ms:.1f} ms > {spec.gates.max_p99_latency_ms} ms")
    return waiting


def _verdict(
    phase: RolloutPhase,
    step: int,
    samples: int,
    metrics: dict[str, float],
    reasons: list[str],
    waiting: list[str],
    now: datetime,
) -> tuple[Verdict, AnalysisResult]:
    """A failed gate fails at once, even before the sample minimum (a bad model need not hurt 200 users)."""
    verdict: Verdict = "fail" if reasons and samples > 0 else ("wait" if waiting else "pass")
    shown = reasons if verdict == "fail" else waiting
    result = AnalysisResult(
        phase=phase,
        step=step,
        passed=verdict == "pass",
        samples=samples,
        metrics=metrics,
        reasons=shown,
        time=now,
    )
    return verdict, result


def _after_analysis(
    spec: ModelRolloutSpec,
    decision: Decision,
    verdict: Verdict,
    result: AnalysisResult,
    now: datetime,
    generation: int | None,
) -> None:
    st = decision.status
    previous = st.last_analysis
    st.last_analysis = result
    gate_status = _GATE_STATUS[verdict]
    st.conditions = set_condition(
        st.conditions,
        "AnalysisPassed",
        gate_status,
        verdict.capitalize(),
        "; ".join(result.reasons),
        now=now,
        generation=generation,
    )
    if verdict == "fail":
        _roll_back(spec, decision, now, generation, "GateFailed", "; ".join(result.reasons), failed=False)
    elif verdict == "wait":
        assert st.step_started_at is not None
        waited = (now - st.step_started_at).total_seconds()
        if st.phase is RolloutPhase.CANARY:
            pause, limit = spec.canary.steps[st.current_step].pause_seconds, spec.canary.max_step_seconds
        else:
            pause, limit = 0, spec.shadow.max_duration_seconds
        if waited - pause > limit:
            why = f"not enough data after {int(waited)}s: {'; '.join(result.reasons)}"
            _roll_back(spec, decision, now, generation, "AnalysisTimeout", why, failed=True)
        elif previous is None or previous.reasons != result.reasons:
            decision.events.append(Event("Normal", "Waiting", "; ".join(result.reasons)))
    elif st.phase is RolloutPhase.SHADOW:
        _enter_step(spec, decision, 0, now, generation, "shadow gates passed", stop_shadow=True)
    elif st.current_step + 1 < len(spec.canary.steps):
        _enter_step(
            spec, decision, st.current_step + 1, now, generation, f"canary step {st.current_step} passed"
        )
    else:
        st.traffic_percent = 100
        decision.actions += [
            PromoteModel(spec.candidate.version, spec.candidate.storage_uri),
            MoveChampion(spec.candidate.version, "promoted"),
        ]
        _transition(decision, RolloutPhase.PROMOTED, now, generation, "every canary step passed")


def _enter_step(
    spec: ModelRolloutSpec,
    decision: Decision,
    step: int,
    now: datetime,
    generation: int | None,
    reason: str,
    *,
    stop_shadow: bool = False,
) -> None:
    st = decision.status
    weight = spec.canary.steps[step].weight
    if stop_shadow:
        decision.actions.append(StopShadow())
    decision.actions.append(SetCanary(spec.candidate.version, spec.candidate.storage_uri, weight))
    st.current_step, st.traffic_percent, st.step_started_at = step, weight, now
    if st.phase is RolloutPhase.CANARY:
        st.message = f"canary step {step}: {weight}% ({reason})"
        decision.events.append(Event("Normal", "CanaryStep", st.message))
        entry = RolloutHistoryEntry(
            time=now, from_phase=st.phase, to_phase=st.phase, traffic_percent=weight, reason=reason
        )
        _record(st, entry)
    else:
        _transition(decision, RolloutPhase.CANARY, now, generation, reason)


def _roll_back(
    spec: ModelRolloutSpec,
    decision: Decision,
    now: datetime,
    generation: int | None,
    reason: str,
    message: str,
    *,
    failed: bool,
) -> None:
    st = decision.status
    if st.phase is not RolloutPhase.PENDING:
        decision.actions += [StopShadow(), RestoreBaseline()]
    if st.previous_champion:
        decision.actions.append(MoveChampion(st.previous_champion, f"rollback of {spec.candidate.version}"))
    st.traffic_percent = 0
    target = RolloutPhase.FAILED if failed else RolloutPhase.ROLLED_BACK
    _transition(decision, target, now, generation, f"{reason}: {message}", warning=True)


def _transition(
    decision: Decision,
    to: RolloutPhase,
    now: datetime,
    generation: int | None,
    reason: str,
    *,
    warning: bool = False,
) -> None:
    st = decision.status
    entry = RolloutHistoryEntry(
        time=now, from_phase=st.phase, to_phase=to, traffic_percent=st.traffic_percent, reason=reason
    )
    _record(st, entry)
    st.phase, st.message = to, reason
    progressing: ConditionStatus = "False" if to.is_terminal else "True"
    st.conditions = set_condition(
        st.conditions, "Progressing", progressing, to.value, reason, now=now, generation=generation
    )
    decision.events.append(Event("Warning" if warning else "Normal", to.value, reason))


def _record(st: ModelRolloutStatus, entry: RolloutHistoryEntry) -> None:
    """Append to the history, dropping the oldest entries beyond what the CRD schema admits."""
    st.history = [*st.history, entry][-MAX_ROLLOUT_HISTORY:]


def _hold_for_pause(
    spec: ModelRolloutSpec, decision: Decision, now: datetime, generation: int | None
) -> bool:
    st = decision.status
    was_paused = condition_is(st.conditions, "Paused", "True")
    if spec.paused:
        if not was_paused:
            st.conditions = set_condition(
                st.conditions, "Paused", "True", "SpecPaused", "spec.paused is true", now=now, generation=generation
            )
            st.message = f"paused in {st.phase.value}"
            decision.events.append(Event("Normal", "Paused", st.message))
        return True
    if was_paused:
        st.conditions = set_condition(st.conditions, "Paused", "False", "Resumed", "", now=now, generation=generation)
        st.step_started_at = now if st.phase is not RolloutPhase.PENDING else st.step_started_at
        st.message = f"resumed in {st.phase.value}"
        decision.events.append(Event("Normal", "Resumed", st.message))
    return False


def fail(
    spec: ModelRolloutSpec,
    status: ModelRolloutStatus,
    *,
    now: datetime,
    generation: int | None,
    reason: str,
    message: str,
) -> Decision:
    """End the rollout as Failed (e.g. the candidate is not registered), undoing whatever it changed."""
    decision = Decision(status=status.model_copy(deep=True))
    decision.status.observed_generation = generation
    _roll_back(spec, decision, now, generation, reason, message, failed=True)
    return decision
