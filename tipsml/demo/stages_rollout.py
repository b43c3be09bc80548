"""The demo's rollout: the operator's own rollout path, with local processes where a cluster has KServe.

Every pass is :func:`operators.effects.reconcile`, the measure → decide → act core the operator runs:
``operators.rollout_machine.advance`` decides, :class:`tipsml.demo.rollout_local.LocalRolloutEffects` applies
its actions to scorer processes (the operator's :class:`operators.rollout_effects.RolloutEffects` applies the
same actions to InferenceServices), and the gates read :class:`operators.metrics_sources.LocalProvider`: the
scorers' own ``/metrics`` (the shadow's rank agreement and both score histograms over ``SCORE_BUCKETS``,
every process's requests, errors and latency) and the reward log the consumers write. Nothing here computes
a gate figure.

Between passes the demo plays the app (:class:`tipsml.simulate.play.AppPlayer`): it calls the champion (or,
in a canary step, the candidate for its share of requests), shows the top tip, and publishes ``tip_shown``
and the oracle's ``tip_reaction`` to JetStream, where the running consumers join them into rewards per
model version.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from tipsml.demo.servers import MODEL, scorer_launcher
from tipsml.demo.state import DemoRun, DemoStageError, now, progress_bar

if TYPE_CHECKING:
    from contracts.crds import ModelRolloutSpec, ModelRolloutStatus
    from operators.effects import Pass
    from operators.model_registry import ChampionRegistry
    from operators.rollout_machine import Action
    from tipsml.demo.rollout_local import LocalRolloutEffects
    from tipsml.simulate.play import AppPlayer

SAMPLES: Final = 200
CANARY_SAMPLES: Final = 300
REWARD_MARGIN: Final = 0.06
"""Sized for two equal models, which differ by noise only: at a positive rate near 0.3, 300 rewarded samples
against ~2,700 for the champion (the 10 % step) put the gate's 95 % bounds ~0.046 either side of the observed
difference. An equal challenger passes at the first look about 70 % of the time and otherwise after a top-up
of traffic; a wrong rollback needs it to look 0.106 worse (below 0.01 %). The operator's default margin, 0.02,
would need ~2,900 rewarded samples a side."""
ANALYSIS_LIMIT_S: Final = 90
"""A phase without a verdict after this long ends the rollout Failed (the machine's own timeout); a phase
needs ~20 s of traffic at most here."""
MAX_P99_MS: Final = 200.0
"""The latency gate here: one machine runs the whole stack, the app player and up to three scorers (cold ones
included) on a couple of cores, so a fresh shadow's p99 ranged from 30 to 80 ms between runs on two cores;
the operator's default 50 ms is a bar for scorer Pods with their own CPU, not for a laptop."""
HEADROOM: Final = 1.15
"""Requests played per phase beyond its expected need, so most phases are judged after one batch."""
MAX_PASSES: Final = 200
RATE: Final = 200.0
CONCURRENCY: Final = 2
"""The app's pace: on two cores, faster play would measure the machine's contention in the p99 gate."""


def rollout_spec(candidate: str, baseline: str, storage_uri: str | None) -> ModelRolloutSpec:
    """The ModelRollout the pipeline proposes, with demo-sized windows (no pauses, a few hundred samples)."""
    from contracts.crds import CanarySpec, CanaryStep, Gates, ModelRef, ModelRolloutSpec, ShadowSpec

    return ModelRolloutSpec(
        model_name=MODEL, candidate=ModelRef(version=candidate, storage_uri=storage_uri),
        baseline=ModelRef(version=baseline),
        shadow=ShadowSpec(min_samples=SAMPLES, max_duration_seconds=ANALYSIS_LIMIT_S),
        canary=CanarySpec(steps=[CanaryStep(weight=10, pause_seconds=0), CanaryStep(weight=50, pause_seconds=0)],
                          min_samples=CANARY_SAMPLES, reward_margin=REWARD_MARGIN),
        gates=Gates(max_p99_latency_ms=MAX_P99_MS),
    )


def stage_rollout(run: DemoRun) -> None:
    """Shadow → canary → promote (or roll back) the challenger; the first model is promoted directly."""
    from operators.model_registry import ChampionRegistry

    say = run.console.print
    say("  [bold]This is the local run of the operator's ModelRollout state machine[/bold] through the operator's "
        "own pass (operators.effects.reconcile): actions applied to local scorer processes instead of "
        "InferenceServices, gates read by operators.metrics_sources.LocalProvider (scorer /metrics + reward log).")
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
    status = asyncio.run(_drive(run, spec, champion, registry))
    say(f"  rollout ended [bold]{status.phase.value}[/bold]; @champion is now version {registry.champion(MODEL)}")


@dataclass
class _Traffic:
    """Requests played in each phase (key: phase and step) and idle passes spent waiting for the consumers."""

    played: dict[tuple[str, int], int] = field(default_factory=dict)
    idle: int = 0
    said: str = ""
    """The last gate line printed: a pass that saw the same is not printed again."""


async def _drive(run: DemoRun, spec: ModelRolloutSpec, champion: str, registry: ChampionRegistry
                 ) -> ModelRolloutStatus:  # fmt: skip
    from contracts.crds import ModelRolloutStatus
    from operators.effects import reconcile
    from operators.errors import MetricsUnavailableError
    from operators.metrics_sources import LocalProvider
    from tipsml.demo.rollout_local import LOCAL_NAMESPACE, LocalRolloutEffects
    from tipsml.simulate.play import AppPlayer

    sh, ca, gates = spec.shadow, spec.canary, spec.gates
    run.console.print(
        f"  ModelRollout of version {spec.candidate.version} against @champion version {champion}. Gates: shadow "
        f"≥ {sh.min_samples} mirrored requests, score PSI ≤ {sh.max_psi}, rank agreement ≥ {sh.min_rank_agreement}; "
        f"canary steps {' → '.join(f'{s.weight}%' for s in ca.steps)}, each ≥ {ca.min_samples} rewarded samples "
        f"and reward shown within {ca.reward_margin} of the champion's at {ca.reward_confidence:.0%}; "
        f"every phase error rate ≤ {gates.max_error_rate}, "
        f"p99 ≤ {gates.max_p99_latency_ms:.0f} ms; no verdict within {sh.max_duration_seconds}s fails the rollout.")
    launch = scorer_launcher(run)
    run.console.print(f"  starting the champion, version {champion}, as a scorer process (metrics role champion)")
    champ = await asyncio.to_thread(launch, "demo-rollout-champion", version=champion,
                                    model_uri=f"models:/{MODEL}/{champion}", role="serving", metrics_role="champion")
    effects = LocalRolloutEffects(champ, launch, registry, model_name=MODEL,
                                  rollout=f"{MODEL}-v{spec.candidate.version}", seed=run.options.seed + 3)
    player = AppPlayer(run.require_sim(), champ.url, run.settings.effective_nats_url, seed=run.options.seed + 1,
                       route=effects.route, answered=effects.mirror)
    status, traffic = ModelRolloutStatus(), _Traffic()
    try:
        for _ in range(MAX_PASSES):
            provider = LocalProvider(effects.metrics_urls(), run.settings.state.state_db.resolve())
            try:
                done = await reconcile(spec, status, effects, provider, namespace=LOCAL_NAMESPACE, now=now(),
                                       generation=1, baseline_version=champion)
            except MetricsUnavailableError as e:
                raise DemoStageError(f"the gates could not read the scorers' metrics: {e}") from e
            finally:
                await provider.aclose()
            _tell(run, status, done, effects, traffic)
            status = done.decision.status
            if status.phase.is_terminal:
                break
            await _play(run, spec, status, traffic, player, effects)
        else:
            raise DemoStageError(f"the rollout did not finish in {MAX_PASSES} passes: {status.message}")
    finally:
        await effects.aclose()
    return status


def _wanted(spec: ModelRolloutSpec, status: ModelRolloutStatus) -> int:
    """Requests the current phase needs for its sample minimum, with headroom."""
    from contracts.crds import RolloutPhase

    if status.phase is RolloutPhase.SHADOW:
        return math.ceil(spec.shadow.min_samples * HEADROOM)
    weight = spec.canary.steps[status.current_step].weight
    return math.ceil(spec.canary.min_samples * 100 / weight * HEADROOM)


async def _play(run: DemoRun, spec: ModelRolloutSpec, status: ModelRolloutStatus, traffic: _Traffic,
                player: AppPlayer, effects: LocalRolloutEffects) -> None:  # fmt: skip
    """Play what the phase still needs; once played, give the consumers a moment, then top up."""
    from contracts.crds import RolloutPhase
    from tipsml.simulate.errors import PublishError

    key = (status.phase.value, status.current_step)
    wanted, played = _wanted(spec, status), traffic.played.get(key, 0)
    if played >= wanted:
        traffic.idle += 1
        if traffic.idle < 3:
            await asyncio.sleep(1.0)
            return
        wanted = played + max(wanted // 10, 1)
    traffic.idle = 0
    n = wanted - played
    if status.phase is RolloutPhase.SHADOW:
        what = "shadow: app requests to the champion, each mirrored to the shadow"
    else:
        what = f"canary {effects.percent}%: app requests, split client-side"
    before = (len(player.report.served), effects.mirrored)
    with progress_bar(run) as bar:
        task = bar.add_task(what, total=n)
        try:
            await player.run(requests=n, rate=RATE, concurrency=CONCURRENCY,
                             progress=lambda k: bar.advance(task, k))
        except PublishError as e:
            raise DemoStageError(f"the app player could not publish: {e}") from e
    traffic.played[key] = played + n
    served = player.report.served[before[0]:]
    candidate = sum(s.model_version == spec.candidate.version for s in served)
    line = (f"    played {len(served)} requests: {len(served) - candidate} answered by the champion, "
            f"{candidate} by the candidate")
    if status.phase is RolloutPhase.SHADOW:
        line += f"; {effects.mirrored - before[1]} mirrored to the shadow as logger CloudEvents"
    if player.report.errors:
        line += f"; {player.report.errors} failed so far (last: {player.report.last_error})"
    run.console.print(line)


def _tell(run: DemoRun, before: ModelRolloutStatus, done: Pass, effects: LocalRolloutEffects,
          traffic: _Traffic) -> None:  # fmt: skip
    """Print what the gates saw and judged (when it changed), the actions applied, and the phase when it changed."""
    say = run.console.print
    after = done.decision.status
    result = after.last_analysis
    if done.observation is not None and result is not None:
        figures = ", ".join(f"{k} {v:.3f}" for k, v in result.metrics.items())
        gate = next((c for c in after.conditions if c.type == "AnalysisPassed"), None)
        verdict = gate.reason.lower() if gate is not None else "?"
        why = f" ({'; '.join(result.reasons)})" if result.reasons else ""
        line = f"    gates: {result.samples} samples; {figures} → [bold]{verdict}[/bold]{why}"
        if line != traffic.said:
            say(line)
            traffic.said = line
    for action in done.decision.actions:
        say(f"    action: {_describe(action, effects)}")
    if (after.phase, after.current_step) != (before.phase, before.current_step):
        say(f"  → [bold]{after.phase.value}[/bold] {after.traffic_percent}%: {after.message}")


def _describe(action: Action, effects: LocalRolloutEffects) -> str:
    from operators.rollout_machine import (
        MoveChampion,
        PromoteModel,
        RestoreBaseline,
        SetCanary,
        StartShadow,
        StopShadow,
    )

    name = type(action).__name__
    if isinstance(action, StartShadow) and effects.shadow is not None:
        return (f"{name}: version {action.candidate_version} as a shadow scorer ({effects.shadow.url}, "
                "TIPSML_ROLE=shadow); the champion's answers are mirrored to it as request/response CloudEvents")
    if isinstance(action, StopShadow):
        return f"{name}: the shadow scorer is stopped, nothing is mirrored any more"
    if isinstance(action, SetCanary) and effects.canary is not None:
        return f"{name}: version {action.candidate_version} serves {action.percent}% ({effects.canary.url})"
    if isinstance(action, PromoteModel):
        return f"{name}: version {action.candidate_version} serves every request"
    if isinstance(action, RestoreBaseline):
        return f"{name}: the champion serves every request again"
    if isinstance(action, MoveChampion):
        return f"{name}: @champion → version {action.version} ({action.reason})"
    return name
