"""The ModelRollout state machine, driven pass by pass with deterministic observations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from contracts.crds import ModelRolloutSpec, ModelRolloutStatus, RolloutPhase
from operators.metrics import CanaryObservation, ShadowObservation
from operators.rollout_machine import (
    MoveChampion,
    PromoteModel,
    RestoreBaseline,
    SetCanary,
    StartShadow,
    StopShadow,
    advance,
    needs_analysis,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
GOOD_SHADOW = ShadowObservation(
    samples=300, error_rate=0.0, p99_latency_ms=12.0, psi=0.05, rank_agreement=0.8
)
GOOD_CANARY = CanaryObservation(
    samples=300,
    error_rate=0.0,
    p99_latency_ms=12.0,
    reward_samples=5000,
    challenger_reward_rate=0.31,
    champion_reward_rate=0.30,
    champion_reward_samples=5000,  # enough for the default 0.02 margin at 95 %
)


def _spec(**overrides: object) -> ModelRolloutSpec:
    body: dict[str, object] = {
        "candidate": {"version": "7", "storageUri": "s3://models/7"},
        "canary": {"steps": [{"weight": 10, "pauseSeconds": 60}, {"weight": 50, "pauseSeconds": 60}]},
    }
    body.update(overrides)
    return ModelRolloutSpec.model_validate(body)


def _run_to_shadow(spec: ModelRolloutSpec) -> ModelRolloutStatus:
    d = advance(spec, ModelRolloutStatus(), now=T0, generation=1, baseline_version="6")
    assert d.actions == [StartShadow("7", "s3://models/7")]
    assert d.status.phase is RolloutPhase.SHADOW and d.status.previous_champion == "6"
    return d.status


def test_full_rollout_to_promotion() -> None:
    spec = _spec()
    st = _run_to_shadow(spec)
    assert needs_analysis(spec, st, T0) == "shadow"
    d = advance(spec, st, now=T0 + timedelta(seconds=30), generation=1, observation=GOOD_SHADOW)
    assert d.actions == [StopShadow(), SetCanary("7", "s3://models/7", 10)]
    assert (d.status.phase, d.status.current_step, d.status.traffic_percent) == (RolloutPhase.CANARY, 0, 10)

    st = d.status
    assert needs_analysis(spec, st, T0 + timedelta(seconds=60)) is None  # step pause not over
    t = T0 + timedelta(seconds=91)
    assert needs_analysis(spec, st, t) == "canary"
    d = advance(spec, st, now=t, generation=1, observation=GOOD_CANARY)
    assert d.actions == [SetCanary("7", "s3://models/7", 50)] and d.status.current_step == 1

    t += timedelta(seconds=61)
    d = advance(spec, d.status, now=t, generation=1, observation=GOOD_CANARY)
    assert d.actions == [PromoteModel("7", "s3://models/7"), MoveChampion("7", "promoted")]
    assert d.status.phase is RolloutPhase.PROMOTED and d.status.traffic_percent == 100
    phases = [(h.from_phase, h.to_phase) for h in d.status.history]
    assert phases[0] == (RolloutPhase.PENDING, RolloutPhase.SHADOW)
    assert phases[-1] == (RolloutPhase.CANARY, RolloutPhase.PROMOTED)
    assert advance(spec, d.status, now=t, generation=1).actions == []  # terminal: nothing more happens


def test_failing_shadow_gate_rolls_back_and_restores_the_champion() -> None:
    spec = _spec()
    st = _run_to_shadow(spec)
    drifted = ShadowObservation(samples=300, error_rate=0.0, p99_latency_ms=12.0, psi=0.9, rank_agreement=0.8)
    d = advance(spec, st, now=T0 + timedelta(seconds=5), generation=1, observation=drifted)
    assert d.status.phase is RolloutPhase.ROLLED_BACK
    assert d.actions == [StopShadow(), RestoreBaseline(), MoveChampion("6", "rollback of 7")]
    assert d.status.last_analysis is not None and not d.status.last_analysis.passed
    assert "PSI" in d.status.last_analysis.reasons[0]
    assert any(e.type == "Warning" for e in d.events)


def test_inferior_reward_in_canary_rolls_back() -> None:
    spec = _spec()
    st = advance(spec, _run_to_shadow(spec), now=T0, generation=1, observation=GOOD_SHADOW).status
    worse = CanaryObservation(
        samples=300,
        error_rate=0.0,
        p99_latency_ms=10.0,
        reward_samples=300,
        challenger_reward_rate=0.20,
        champion_reward_rate=0.30,
        champion_reward_samples=300,
    )
    d = advance(spec, st, now=T0 + timedelta(seconds=61), generation=1, observation=worse)
    assert d.status.phase is RolloutPhase.ROLLED_BACK and d.status.traffic_percent == 0
    assert RestoreBaseline() in d.actions


def test_an_inconclusive_reward_waits_for_samples_instead_of_rolling_back() -> None:
    # The observation a cluster run ended on: an equal challenger (the champion's own model) 58/157 against the
    # champion's 75/143, margin 0.15. Point estimates said "0.369 inferior to 0.524 - 0.15" and rolled it back;
    # at 95 % the difference may be as high as -0.06, so the step waits for more rewards.
    spec = _spec(canary={"steps": [{"weight": 25, "pauseSeconds": 0}, {"weight": 50, "pauseSeconds": 0}],
                         "minSamples": 150, "rewardMargin": 0.15})  # fmt: skip
    st = advance(spec, _run_to_shadow(spec), now=T0, generation=1, observation=GOOD_SHADOW).status
    unlucky = CanaryObservation(170, 0.0, 10.0, 157, 58 / 157, 75 / 143, 143)
    d = advance(spec, st, now=T0 + timedelta(seconds=30), generation=1, observation=unlucky)
    assert d.status.phase is RolloutPhase.CANARY and d.actions == []
    result = d.status.last_analysis
    assert result is not None
    assert result.reasons == ["reward not yet shown within 0.15 of the champion's at 95% confidence"]
    assert result.metrics["rewardDifferenceHigh"] == pytest.approx(-0.061, abs=1e-3)
    assert [e.reason for e in d.events] == ["Waiting"]
    # Four times the rewards at the same rates: still neither shown within the margin nor beyond it; the pass
    # posts no second Event for the same reason.
    more = CanaryObservation(680, 0.0, 10.0, 628, 232 / 628, 300 / 572, 572)
    again = advance(spec, d.status, now=T0 + timedelta(seconds=60), generation=1, observation=more)
    assert again.status.phase is RolloutPhase.CANARY and again.actions == [] and again.events == []
    # A challenger really 0.22 worse is shown beyond the margin and rolled back.
    worse = CanaryObservation(680, 0.0, 10.0, 628, 0.30, 0.52, 572)
    failed = advance(spec, again.status, now=T0 + timedelta(seconds=90), generation=1, observation=worse)
    assert failed.status.phase is RolloutPhase.ROLLED_BACK
    assert failed.status.last_analysis is not None and "inferior" in failed.status.last_analysis.reasons[0]
    # Rates an equal model drifts to: the lower bound clears -0.15 and the step passes.
    equal = CanaryObservation(680, 0.0, 10.0, 628, 0.45, 0.47, 572)
    passed = advance(spec, again.status, now=T0 + timedelta(seconds=90), generation=1, observation=equal)
    assert (passed.status.phase, passed.status.current_step) == (RolloutPhase.CANARY, 1)


def test_waits_for_samples_then_fails_after_max_duration() -> None:
    spec = _spec(shadow={"minSamples": 100, "maxDurationSeconds": 600})
    st = _run_to_shadow(spec)
    few = ShadowObservation(samples=10, error_rate=0.0, p99_latency_ms=5.0, psi=0.01, rank_agreement=0.9)
    d = advance(spec, st, now=T0 + timedelta(seconds=30), generation=1, observation=few)
    assert d.status.phase is RolloutPhase.SHADOW and d.actions == []
    assert d.status.last_analysis is not None and d.status.last_analysis.reasons == ["10/100 samples"]
    d = advance(spec, d.status, now=T0 + timedelta(seconds=601), generation=1, observation=few)
    assert d.status.phase is RolloutPhase.FAILED


def test_a_canary_step_waits_its_pause_plus_max_step_seconds_not_the_shadows_bound() -> None:
    steps = [{"weight": 10, "pauseSeconds": 60}, {"weight": 50, "pauseSeconds": 60}]
    spec = _spec(shadow={"maxDurationSeconds": 3600}, canary={"steps": steps, "maxStepSeconds": 300})
    st = advance(spec, _run_to_shadow(spec), now=T0, generation=1, observation=GOOD_SHADOW).status
    assert st.phase is RolloutPhase.CANARY and st.step_started_at == T0
    few = CanaryObservation(40, 0.0, 10.0, 35, 0.4, 0.4, 30)
    d = advance(spec, st, now=T0 + timedelta(seconds=360), generation=1, observation=few)
    assert d.status.phase is RolloutPhase.CANARY  # 60 s pause + 300 s: still within the step's bound
    d = advance(spec, d.status, now=T0 + timedelta(seconds=361), generation=1, observation=few)
    assert d.status.phase is RolloutPhase.FAILED and "AnalysisTimeout" in d.status.message, d.status.message
    assert d.actions[:2] == [StopShadow(), RestoreBaseline()]


def test_error_rate_fails_before_the_sample_minimum() -> None:
    spec = _spec()
    st = _run_to_shadow(spec)
    broken = ShadowObservation(samples=20, error_rate=0.5, p99_latency_ms=5.0, psi=None, rank_agreement=None)
    d = advance(spec, st, now=T0 + timedelta(seconds=5), generation=1, observation=broken)
    assert d.status.phase is RolloutPhase.ROLLED_BACK


def test_pause_holds_and_resume_restarts_the_window() -> None:
    st = _run_to_shadow(_spec())
    paused = _spec(paused=True)
    assert needs_analysis(paused, st, T0) is None
    d = advance(paused, st, now=T0 + timedelta(seconds=10), generation=2, observation=GOOD_SHADOW)
    assert d.status.phase is RolloutPhase.SHADOW and d.actions == []
    assert [e.reason for e in d.events] == ["Paused"]
    again = advance(paused, d.status, now=T0 + timedelta(seconds=20), generation=2)
    assert again.events == [] and again.status == d.status.model_copy(update={"observed_generation": 2})
    resumed = advance(_spec(), d.status, now=T0 + timedelta(seconds=30), generation=3)
    assert [e.reason for e in resumed.events] == ["Resumed"]
    assert resumed.status.step_started_at == T0 + timedelta(seconds=30)


def test_abort_rolls_back_from_canary() -> None:
    spec = _spec()
    st = advance(spec, _run_to_shadow(spec), now=T0, generation=1, observation=GOOD_SHADOW).status
    d = advance(_spec(abort=True), st, now=T0 + timedelta(seconds=1), generation=2)
    assert d.status.phase is RolloutPhase.ROLLED_BACK and d.status.message.startswith("Aborted")
    assert d.actions[:2] == [StopShadow(), RestoreBaseline()]


def test_explicit_baseline_wins_over_the_registry_champion() -> None:
    spec = _spec(baseline={"version": "5"})
    d = advance(spec, ModelRolloutStatus(), now=T0, generation=1, baseline_version="6")
    assert d.status.previous_champion == "5"


def test_a_canary_step_whose_split_is_not_serving_yet_waits_and_judges_nothing() -> None:
    """Replica ratio: until the candidate's Pods are ready the share is 0 %, so no gate may pass or fail yet."""
    spec = _spec()
    st = advance(spec, _run_to_shadow(spec), now=T0, generation=1, observation=GOOD_SHADOW).status
    starting = CanaryObservation(0, 0.0, None, 0, None, None, split_pending="waiting for the canary Pods: 0/1 ready")
    d = advance(spec, st, now=T0 + timedelta(seconds=61), generation=1, observation=starting)
    assert d.status.phase is RolloutPhase.CANARY and d.status.current_step == 0 and d.actions == []
    assert d.status.last_analysis is not None
    assert d.status.last_analysis.reasons == ["waiting for the canary Pods: 0/1 ready"]
    assert [e.reason for e in d.events] == ["Waiting"]
    d = advance(spec, d.status, now=T0 + timedelta(seconds=60 + 3601), generation=1, observation=starting)
    assert d.status.phase is RolloutPhase.FAILED  # Pods that never become ready end the rollout, as no data does


def test_drift_and_agreement_judge_only_from_the_sample_minimum() -> None:
    """No user sees a shadow, and PSI or tau on a handful of requests is noise: wait for the minimum."""
    spec = _spec(shadow={"minSamples": 100})
    st = _run_to_shadow(spec)
    early = ShadowObservation(samples=25, error_rate=0.0, p99_latency_ms=5.0, psi=0.77, rank_agreement=0.3)
    d = advance(spec, st, now=T0 + timedelta(seconds=10), generation=1, observation=early)
    assert d.status.phase is RolloutPhase.SHADOW and d.actions == []
    full = ShadowObservation(samples=100, error_rate=0.0, p99_latency_ms=5.0, psi=0.77, rank_agreement=0.3)
    d = advance(spec, d.status, now=T0 + timedelta(seconds=20), generation=1, observation=full)
    assert d.status.phase is RolloutPhase.ROLLED_BACK
    assert d.status.last_analysis is not None and len(d.status.last_analysis.reasons) == 2
