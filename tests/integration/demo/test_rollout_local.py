"""The local rollout backend with real scorer processes: the operator's pass, gates read from their /metrics.

Two registered versions of a real LightGBM model; the champion's answers mirrored to the shadow as KServe's
logger would post them; the shadow gate reads the rank agreement the shadow scorer itself exports, through
the operator's LocalProvider; the canary splits requests client-side at the step's weight; an abort restores
the champion and the MLflow alias.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pytest

from bench.scorer_world import ScorerProcess, ScorerWorld, build_world, spawn_scorer, train_and_register
from contracts.crds import ModelRolloutSpec, ModelRolloutStatus, RolloutPhase
from contracts.names import SCORER_MODEL
from operators.effects import Pass, reconcile
from operators.metrics import CanaryObservation, ShadowObservation
from operators.metrics_sources import LocalProvider
from operators.model_registry import ChampionRegistry
from operators.rollout_machine import PromoteModel
from tipsml.demo.rollout_local import LOCAL_NAMESPACE, LocalRolloutEffects, LocalScorer, ScorerLauncher
from tipsml.simulate.play import SCORER_PATH, scorer_request
from tipsml.stack.processes import pid_alive

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[ScorerWorld, str]:
    """Features online, version 1 as @champion, version 2 (retrained on the same rows) as @challenger."""
    world = build_world(tmp_path_factory.mktemp("rollout-world"), n_users=30, n_tips=80)
    _, candidate = train_and_register(world.root, seed=0, alias="challenger")
    return world, candidate


@pytest.fixture
def launched(tmp_path: Path) -> Iterator[list[ScorerProcess]]:
    started: list[ScorerProcess] = []
    yield started
    for server in started:
        server.stop()


def _launcher(world: ScorerWorld, workdir: Path, started: list[ScorerProcess]) -> ScorerLauncher:
    def launch(name: str, *, version: str, model_uri: str, role: str, metrics_role: str) -> LocalScorer:
        server = spawn_scorer(world, workdir / name, model_uri=model_uri, role=role, metrics_role=metrics_role,
                              model_version=version)  # fmt: skip
        started.append(server)
        return LocalScorer(name, version, server.url, server.stop)

    return launch


async def _pass(spec: ModelRolloutSpec, status: ModelRolloutStatus, effects: LocalRolloutEffects) -> Pass:
    provider = LocalProvider(effects.metrics_urls(), None)
    try:
        return await reconcile(spec, status, effects, provider, namespace=LOCAL_NAMESPACE, generation=1,
                               now=status.step_started_at or _now(), baseline_version="1")  # fmt: skip
    finally:
        await provider.aclose()


def _now() -> datetime:
    return datetime.now(UTC)


async def _play(effects: LocalRolloutEffects, world: ScorerWorld, n: int, seed: int) -> list[str]:
    """``n`` app requests through the effects' split, each answer offered to the mirror; versions that answered."""
    rng = np.random.default_rng(seed)
    versions = []
    async with httpx.AsyncClient(timeout=10) as client:
        for i in range(n):
            url = effects.route()
            body = scorer_request(rng, world.users, world.tips, f"r-{seed}-{i}")
            answer = await client.post(url + SCORER_PATH, json=body)
            assert answer.status_code == 200, answer.text
            await effects.mirror(url, body, answer.json())
            versions.append(answer.json()["predictions"][0]["model_version"])
    return versions


async def test_shadow_then_canary_then_abort_on_local_processes(
    world: tuple[ScorerWorld, str], tmp_path: Path, launched: list[ScorerProcess]
) -> None:
    scorers, candidate = world
    launch = _launcher(scorers, tmp_path, launched)
    champion = launch("champion", version="1", model_uri=f"models:/{SCORER_MODEL}/1", role="serving",
                      metrics_role="champion")  # fmt: skip
    registry = ChampionRegistry(scorers.tracking_uri)
    effects = LocalRolloutEffects(champion, launch, registry, model_name=SCORER_MODEL, rollout="test", seed=3)
    spec = ModelRolloutSpec.model_validate({
        "candidate": {"version": candidate},
        "shadow": {"minSamples": 40},
        "canary": {"steps": [{"weight": 20, "pauseSeconds": 0}, {"weight": 50, "pauseSeconds": 0}], "minSamples": 30},
        "gates": {"maxP99LatencyMs": 1000},
    })
    try:
        done = await _pass(spec, ModelRolloutStatus(), effects)
        assert done.decision.status.phase is RolloutPhase.SHADOW
        assert effects.shadow is not None and effects.shadow.version == candidate
        assert len(effects.metrics_urls()) == 2

        waiting = await _pass(spec, done.decision.status, effects)
        assert isinstance(waiting.observation, ShadowObservation) and waiting.observation.samples == 0
        assert waiting.decision.status.phase is RolloutPhase.SHADOW

        assert set(await _play(effects, scorers, 50, seed=1)) == {"1"}  # the shadow's answers reach no one
        assert effects.mirrored == 50 and effects.mirror_failures == 0
        shadow_pid = launched[-1].pid
        judged = await _pass(spec, waiting.decision.status, effects)
        obs = judged.observation
        assert isinstance(obs, ShadowObservation), judged.decision.status.message
        assert obs.samples == 50 and obs.error_rate == 0.0
        # The same training gives the same model: every pair ranked alike, every score in the same bucket.
        assert obs.rank_agreement == pytest.approx(1.0) and obs.psi == pytest.approx(0.0)
        status = judged.decision.status
        assert status.phase is RolloutPhase.CANARY and status.traffic_percent == 20, status.message
        assert effects.shadow is None and not pid_alive(shadow_pid)
        assert effects.canary is not None and effects.percent == 20
        assert status.message.endswith("candidate on 20 % of requests (client-side split)")

        versions = await _play(effects, scorers, 400, seed=2)
        share = versions.count(candidate) / len(versions)
        assert abs(share - 0.20) < 0.06, share  # binomial sd 0.02 at 400 requests
        canary = await _pass(spec, status, effects)
        assert isinstance(canary.observation, CanaryObservation)
        assert canary.observation.samples == versions.count(candidate)
        assert canary.observation.reward_samples == 0  # no reward log here: the gate waits for rewards
        assert canary.decision.status.phase is RolloutPhase.CANARY

        aborted = await _pass(spec.model_copy(update={"abort": True}), canary.decision.status, effects)
        assert aborted.decision.status.phase is RolloutPhase.ROLLED_BACK
        assert effects.canary is None and effects.percent == 0 and effects.route() == champion.url
        assert registry.champion(SCORER_MODEL) == "1"

        await effects.apply(PromoteModel(candidate, None))
        assert effects.champion.version == candidate and effects.champion.url != champion.url
        assert set(await _play(effects, scorers, 5, seed=3)) == {candidate}
    finally:
        await effects.aclose()
    assert not any(pid_alive(s.pid) for s in launched)
