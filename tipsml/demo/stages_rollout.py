"""The demo's rollout: the operator's ModelRollout state machine, run on this machine.

``operators.rollout_machine.advance`` is the same pure function the kopf operator calls on every reconcile
pass. Here its actions are applied to local processes instead of InferenceServices: ``StartShadow`` starts a
second scorer serving the challenger, the shadow observation compares both scorers' answers on the same
requests (score PSI, Kendall rank agreement, error rate, p99), each canary step routes its share of
simulated requests to the challenger and draws each shown tip's reaction from the simulator's oracle, and
``MoveChampion`` moves the MLflow alias with ``ChampionRegistry``, as the operator does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import numpy as np

from tipsml.demo.servers import MODEL, Scorer, score, start_scorer, stop_process
from tipsml.demo.state import DemoRun, now, progress_bar
from tipsml.simulate.play import scorer_request

if TYPE_CHECKING:
    from contracts.crds import ModelRolloutSpec
    from operators.metrics import CanaryObservation, ShadowObservation

SAMPLES = 200
_EDGES = [i / 20 for i in range(1, 21)] + [float("inf")]


def _cumulative(scores: list[float]) -> list[tuple[float, float]]:
    arr = np.asarray(scores)
    return [(e, float(np.sum(arr <= e))) for e in _EDGES]


def _p99(latencies: list[float]) -> float | None:
    return float(np.percentile(latencies, 99)) if latencies else None


def observe_shadow(run: DemoRun, champion: Scorer, shadow: Scorer, n: int) -> ShadowObservation:
    """Send the same ``n`` requests to both; compare the shadow's answers with the champion's."""
    import time

    from operators.metrics import ShadowObservation, kendall_tau, psi

    sim = run.require_sim()
    rng = np.random.default_rng(run.options.seed + 1)
    users, tips = sim.users["user_id"].tolist(), sim.tips["tip_id"].tolist()
    champ_scores: list[float] = []
    shadow_scores: list[float] = []
    taus: list[float] = []
    latencies: list[float] = []
    errors = 0
    with httpx.Client() as client, progress_bar(run) as bar:
        task = bar.add_task("shadow: mirrored requests", total=n)
        for i in range(n):
            body = scorer_request(rng, users, tips, f"shadow-{i}")
            a = score(client, champion.url, body)
            started = time.perf_counter()
            try:
                b = score(client, shadow.url, body)
            except Exception:  # noqa: BLE001 - any failed shadow answer counts as an error
                errors += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)
            sa = {s["tip_id"]: s["score"] for s in a["scores"]}
            sb = {s["tip_id"]: s["score"] for s in b["scores"]}
            keys = list(sa)
            champ_scores += [sa[k] for k in keys]
            shadow_scores += [sb[k] for k in keys]
            taus.append(kendall_tau([sa[k] for k in keys], [sb[k] for k in keys]))
            bar.advance(task)
    return ShadowObservation(samples=n - errors, error_rate=errors / n, p99_latency_ms=_p99(latencies),
                             psi=psi(_cumulative(champ_scores), _cumulative(shadow_scores)),
                             rank_agreement=float(np.mean(taus)) if taus else None)


def observe_canary(run: DemoRun, champion: Scorer, challenger: Scorer, percent: int, min_samples: int,
                   step: int) -> CanaryObservation:
    """Route ``percent`` of simulated requests to the challenger until it has ``min_samples``; react by oracle."""
    import time

    from operators.metrics import CanaryObservation

    sim = run.require_sim()
    rng = np.random.default_rng(run.options.seed + 10 + step)
    users, tips = sim.users["user_id"].tolist(), sim.tips["tip_id"].tolist()
    shown: dict[str, list[float]] = {"champion": [], "challenger": []}
    latencies: list[float] = []
    n = 0
    with httpx.Client() as client, progress_bar(run) as bar:
        task = bar.add_task(f"canary {percent}%: challenger requests", total=min_samples)
        while len(shown["challenger"]) < min_samples:
            body = scorer_request(rng, users, tips, f"canary-{step}-{n}")
            arm = "challenger" if rng.random() < percent / 100 else "champion"
            started = time.perf_counter()
            pred = score(client, (challenger if arm == "challenger" else champion).url, body)
            if arm == "challenger":
                latencies.append((time.perf_counter() - started) * 1000)
                bar.advance(task)
            user, tip = body["instances"][0]["user_id"], pred["scores"][0]["tip_id"]
            hour = float(rng.uniform(0, 24))
            p = float(sim.oracle_probability([user], [tip], [hour])[0])
            shown[arm].append(float(rng.random() < p))
            n += 1
    rate = {k: (float(np.mean(v)) if v else None) for k, v in shown.items()}
    return CanaryObservation(samples=len(shown["challenger"]), error_rate=0.0, p99_latency_ms=_p99(latencies),
                             reward_samples=len(shown["challenger"]),
                             challenger_reward_rate=rate["challenger"], champion_reward_rate=rate["champion"])


def rollout_spec(candidate: str, baseline: str, storage_uri: str | None) -> ModelRolloutSpec:
    """The ModelRollout the pipeline proposes, with demo-sized windows (no pauses, 200 samples)."""
    from contracts.crds import CanarySpec, CanaryStep, ModelRef, ModelRolloutSpec, ShadowSpec

    return ModelRolloutSpec(
        model_name=MODEL, candidate=ModelRef(version=candidate, storage_uri=storage_uri),
        baseline=ModelRef(version=baseline), shadow=ShadowSpec(min_samples=SAMPLES),
        canary=CanarySpec(steps=[CanaryStep(weight=10, pause_seconds=0), CanaryStep(weight=50, pause_seconds=0)],
                          min_samples=SAMPLES),
    )


def stage_rollout(run: DemoRun) -> None:
    """Shadow → canary → promote (or roll back) the challenger; the first model is promoted directly."""
    from contracts.crds import ModelRolloutStatus, RolloutPhase
    from operators.model_registry import ChampionRegistry
    from operators.rollout_machine import MoveChampion, SetCanary, StartShadow, StopShadow, advance

    say = run.console.print
    say("  [bold]This is the local run of the operator's ModelRollout state machine[/bold] "
        "(operators.rollout_machine, actions applied to local scorer processes, no Kubernetes).")
    registry = ChampionRegistry(run.settings.state.mlflow_uri)
    candidate = run.challenger
    if candidate is None:
        say("  no challenger was registered: nothing to roll out")
        return
    champion = registry.champion(MODEL)
    if champion is None:
        registry.move_champion(MODEL, candidate, rollout="demo-first-rollout",
                               reason="first model: no champion to shadow against")
        say(f"  no champion yet: version {candidate} is the first model, promoted directly to @champion "
            "(a first rollout has nothing to compare with; run the demo again to see shadow → canary)")
        return
    if champion == candidate:
        say(f"  version {candidate} already holds @champion")
        return
    if not run.proposed:
        say(f"  the training gate did not propose version {candidate}; @champion stays on version {champion}")
        return
    spec = rollout_spec(candidate, champion, run.challenger_uri)
    status = ModelRolloutStatus()
    champ = start_scorer(run, "demo-rollout-champion", f"models:/{MODEL}/{champion}", metrics_role="champion")
    chall: Scorer | None = None
    observation: ShadowObservation | CanaryObservation | None = None
    try:
        for _ in range(10):
            decision = advance(spec, status, now=now(), generation=1, baseline_version=champion,
                               observation=observation)
            for action in decision.actions:
                if isinstance(action, StartShadow) and chall is None:
                    chall = start_scorer(run, "demo-rollout-challenger", f"models:/{MODEL}/{candidate}",
                                         role="shadow")
                elif isinstance(action, MoveChampion):
                    registry.move_champion(MODEL, action.version, rollout=f"{MODEL}-v{candidate}",
                                           reason=action.reason)
                elif not isinstance(action, StopShadow):
                    pct = f" {action.percent}%" if isinstance(action, SetCanary) else ""
                    say(f"    action: {type(action).__name__}{pct}")
            status = decision.status
            last = status.last_analysis
            detail = f" — {', '.join(f'{k} {v:.3f}' for k, v in last.metrics.items())}" if last else ""
            say(f"  → [bold]{status.phase.value}[/bold] {status.traffic_percent}%: {status.message}{detail}")
            if status.phase.is_terminal:
                break
            assert chall is not None
            if status.phase is RolloutPhase.SHADOW:
                observation = observe_shadow(run, champ, chall, SAMPLES)
            else:
                weight = spec.canary.steps[status.current_step].weight
                observation = observe_canary(run, champ, chall, weight, SAMPLES, status.current_step)
    finally:

        for s in (champ, chall):
            if s is not None:
                stop_process(run, s.record)
    say(f"  @champion is now version {registry.champion(MODEL)}")
