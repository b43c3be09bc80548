"""ModelRollouts that finish on the real cluster: the operator Pod, KServe's logger, real Prometheus, real traffic.

A stack of its own (namespace ``tipsml-rollout``) with nine tip-scorer replicas in KServe Standard mode, so the
replica-ratio canary makes its 10 % step exactly (one candidate Pod beside nine) and its 50 % step (nine beside
nine) (``operators.canary_split``). ``tipsml play``'s player runs through every test in a thread: it calls the
scorer Service (a connection per request), shows the top tip and publishes ``tip_shown`` / ``tip_reaction``
drawn from the simulator's oracle, so the rewards the canary gate reads are real reactions to what each version
served. The shadow phase's rank agreement comes from the shadow scorer pairing KServe's logger CloudEvents (the
agent sidecar built from the pinned KServe module).

The champion is the model a team would have shipped before tip statistics were an input: the pipeline's own
training set and parameters without ``tip_like_rate``. The challenger is the pipeline's model with every input,
better on held-out AUC; both are printed.

No request may fail while Pods are replaced (at most 1 %, for a blip): predictor Pods drain before they stop
(``kserve.drainSeconds``), and a scorer without KServe's agent also answers on the agent's port, where KServe
points the Service the moment the shadow phase sets the logger (before that fix, about half the player's
connections were refused for the ~40 s of that roll). The failures per phase are printed.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import mlflow
import pytest

from contracts.names import CHAMPION_ALIAS, SCORER_MODEL
from operators.canary_split import RELATIVE_TOLERANCE, canary_replicas
from operators.rollout_effects import deployment_pending
from tests.cluster.stack_support import (
    VALUES,
    WORLD,
    Stack,
    cluster_ip,
    get_json,
    install_stack,
    pods,
    simulate_world,
    train_and_register,
    wait_consumed,
    wait_events,
)
from tipsml.cluster.node import NodeCluster
from tipsml.simulate import simulate
from tipsml.simulate.play import AppPlayer, PlayReport
from tipsml.simulate.publish import publish_events

NS = "tipsml-rollout"
STABLE_REPLICAS = 9
"""The tip-scorer replicas ``values/rollout.yaml`` runs: the fewest that make a 10 % step exact."""
STEPS = (10, 50)
LEFT_OUT = "tip_like_rate"
"""The input the champion was trained without (the largest-gain input after recent exposure; its absence costs
~0.015 held-out AUC and makes the two models rank one user's candidates differently: see :data:`RERANKS`)."""
OPERATOR = "app.kubernetes.io/component=operator"
SHARE_TOLERANCE = RELATIVE_TOLERANCE
"""A step's measured share of requests may differ from its weight by half the weight: the tolerance the operator
itself accepts a Pod split with (``operators.canary_split``). Measured over the window the gates judged: 9.8 % of 1,451
requests at 10 %, 53.9 % of 76 at 50 % (with three replicas and 25/50 % steps: 24-27 % and 48-54 %)."""
GATES = {"maxErrorRate": 0.05, "maxP99LatencyMs": 1000.0}
"""Loose latency: nine scorer Pods, a shadow and up to nine canary Pods share two cores with the whole stack (the
player measured p99 up to ~590 ms while Pods were replaced)."""


class Traffic:
    """The app played against the stack in a background thread until stopped."""

    def __init__(self, stack: Stack) -> None:
        scorer = f"http://{cluster_ip(stack.cluster, NS, 'tip-scorer-predictor')}"
        world = simulate(users=WORLD.users, days=WORLD.days, seed=WORLD.seed)
        self.player = AppPlayer(world, scorer, stack.nats, seed=7)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            asyncio.run(self.player.run(rate=20.0, concurrency=4, stop=self._stop))
        except BaseException as e:  # noqa: BLE001 - reported by stop()
            self._error = e

    @property
    def report(self) -> PlayReport:
        """What was served so far."""
        return self.player.report

    def stop(self) -> None:
        """Stop, and fail if the player died."""
        self._stop.set()
        self._thread.join(30)
        if self._error is not None:
            raise AssertionError(f"the app player failed: {self._error!r}")


@dataclass
class Ablation:
    """Registers the champion without :data:`LEFT_OUT` and keeps both models' held-out AUC."""

    auc: dict[str, float] = field(default_factory=dict)

    def register(self, tracking_uri: str, work: Path, trained: str) -> str:
        """Train on the pipeline's training split without the input, register it; the new version.

        ``trained`` is the version the pipeline registered from the same split, with every input.
        """
        import pandas as pd
        from mlflow.models import infer_signature
        from sklearn.metrics import roc_auc_score

        from feature_repo.names import MODEL_FEATURES
        from pipelines.settings import PipelineSettings
        from pipelines.steps.registry import use_experiment
        from pipelines.steps.train import LABEL, feature_matrix, train_lightgbm

        mlflow.set_tracking_uri(tracking_uri)  # the fixture restores the previous one
        (run_dir,) = (work / "state" / "pipeline-runs").glob("train-*")
        train = pd.read_parquet(run_dir / "training-set" / "train_set")
        test = pd.read_parquet(run_dir / "training-set" / "test_set")
        settings = PipelineSettings()
        features = [f for f in MODEL_FEATURES if f != LEFT_OUT]
        booster = train_lightgbm(train, features, settings.seed, settings.num_boost_round)
        full = mlflow.lightgbm.load_model(f"models:/{SCORER_MODEL}/{trained}")
        self.auc = {
            "without " + LEFT_OUT: float(roc_auc_score(test[LABEL], booster.predict(feature_matrix(test, features)))),
            "every input": float(roc_auc_score(test[LABEL], full.predict(feature_matrix(test, MODEL_FEATURES)))),
        }
        example = feature_matrix(train, features).head(5)
        use_experiment()  # the pipeline's experiment, artifacts on the server
        with mlflow.start_run(run_name=f"tip-scorer-without-{LEFT_OUT}"):
            info = mlflow.lightgbm.log_model(booster, name="model", input_example=example,
                                             signature=infer_signature(example, booster.predict(example)),
                                             registered_model_name=SCORER_MODEL)  # fmt: skip
        return str(info.registered_model_version)


@pytest.fixture(scope="module")
def ablation() -> Ablation:
    """What the champion left out, and both models' held-out AUC once the stack is installed."""
    return Ablation()


@pytest.fixture(scope="module")
def stack(node_cluster: NodeCluster, tmp_path_factory: pytest.TempPathFactory, ablation: Ablation) -> Iterator[Stack]:
    """The stack with the rollout values and the champion without tip stats; its namespace deleted afterwards."""
    work = tmp_path_factory.mktemp("rollout-train")
    previous = mlflow.get_tracking_uri()
    try:
        installed = install_stack(node_cluster, NS, work, [VALUES / "tipsml.yaml", VALUES / "rollout.yaml"],
                                  10 + STABLE_REPLICAS, champion=ablation.register)  # fmt: skip
    finally:
        mlflow.set_tracking_uri(previous)
    # The app's history: the world's events through the consumers into Redis, so the scorer sees real
    # user and tip features (without them every candidate scores the same and no ranking can agree).
    started = time.monotonic()
    world = simulate(users=WORLD.users, days=WORLD.days, seed=WORLD.seed)
    asyncio.run(publish_events(world.events, installed.nats))
    wait_consumed(installed.nats)
    installed.timings["world's events consumed"] = time.monotonic() - started
    for phase, seconds in installed.timings.items():
        print(f"rollout stack: {phase} {seconds:.1f}s")
    yield installed
    node_cluster.kubectl("delete", "namespace", NS, "--wait=false", check=False)


@pytest.fixture(scope="module")
def traffic(stack: Stack) -> Iterator[Traffic]:
    """The app's requests and reactions, flowing for the whole module."""
    running = Traffic(stack)
    yield running
    running.stop()


def _registry(stack: Stack) -> mlflow.MlflowClient:
    return mlflow.MlflowClient(tracking_uri=stack.mlflow, registry_uri=stack.mlflow)


RERANKS = {"minRankAgreement": 0.3, "maxPsi": 1.0}
"""Shadow gates for a challenger expected to re-rank: the champion lacks tip statistics, the main signal that
orders one user's candidates, so the two agree little (Kendall tau 0.45) and the scores spread differently
(PSI 0.63). Agreement of at least 0.3 still stops a model that ranks at random or backwards (the shuffled-label
model measures -0.19 and keeps the defaults, 0.5 and 0.2)."""


def _rollout(name: str, candidate: str, reward_margin: float, shadow: dict[str, float] | None = None
             ) -> dict[str, Any]:  # fmt: skip
    return {
        "apiVersion": "tipsml.io/v1alpha1",
        "kind": "ModelRollout",
        "metadata": {"name": name, "namespace": NS},
        "spec": {
            "modelName": SCORER_MODEL,
            "inferenceService": "tip-scorer",
            "candidate": {"version": candidate},
            "shadow": {"minSamples": 100, "maxDurationSeconds": 600, **(shadow or {})},
            "canary": {
                "steps": [{"weight": w, "pauseSeconds": 0} for w in STEPS],
                "minSamples": 150,
                "rewardMargin": reward_margin,
            },
            "gates": GATES,
        },
    }


def _status(stack: Stack, name: str) -> dict[str, Any]:
    status: dict[str, Any] = get_json(stack.cluster, "modelrollout", name, "-n", NS).get("status") or {}
    return status


def _split_serving(stack: Stack, canary_pods: int) -> bool:
    """Every canary Pod ready and the predictor's own Pods settled: the share is the step's from here."""
    found = get_json(stack.cluster, "deployments", "-n", NS, "-l", "tipsml.io/track=canary")["items"]
    stable = get_json(stack.cluster, "deployment", "tip-scorer-predictor", "-n", NS)
    return bool(found) and found[0]["spec"]["replicas"] == canary_pods and not any(
        deployment_pending(d) for d in (found[0], stable)
    )


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def _left_steps(status: dict[str, Any]) -> dict[int, float]:
    """Step weight -> when the operator's pass that ended the step ran (from ``status.history``)."""
    left: dict[int, float] = {}
    entered = [(e["trafficPercent"], _epoch(e["time"])) for e in status.get("history") or []
               if e["toPhase"] == "Canary"]  # fmt: skip
    ends = [_epoch(e["time"]) for e in status.get("history") or [] if e["toPhase"] == "Promoted"]
    for (weight, _), end in zip(entered, [t for _, t in entered[1:]] + ends, strict=False):
        left[weight] = end
    return left


def _ready_endpoints(stack: Stack) -> tuple[int, int]:
    """(stable, canary) Pods the predictor Service sends new connections to right now."""
    slices = get_json(stack.cluster, "endpointslices", "-n", NS, "-l",
                      "kubernetes.io/service-name=tip-scorer-predictor")["items"]  # fmt: skip
    names = {e["targetRef"]["name"] for s in slices for e in s.get("endpoints") or []
             if (e.get("conditions") or {}).get("ready") and e.get("targetRef")}  # fmt: skip
    canary = sum(n.startswith("tip-scorer-predictor-canary-") for n in names)
    return len(names) - canary, canary


def test_a_better_challenger_goes_through_shadow_and_both_canary_steps_to_promoted(
    stack: Stack, traffic: Traffic, ablation: Ablation
) -> None:
    """The pipeline's model, better than the champion on held-out data, passes every gate on real traffic."""
    registry = _registry(stack)
    candidate = stack.trained_version
    print("held-out AUC: " + ", ".join(f"{k} {v:.4f}" for k, v in ablation.auc.items()))
    assert ablation.auc["every input"] > ablation.auc["without " + LEFT_OUT], ablation.auc
    # Rolled back only once the challenger is shown more than 0.1 worse at 95 %; a draw that shows neither that
    # nor that it is within 0.1 waits for more rewards.
    stack.cluster.kubectl("apply", "-f", "-", input=json.dumps(_rollout("good", str(candidate), 0.1, RERANKS)))
    started = time.time()
    phases: dict[str, float] = {}
    serving: set[int] = set()  # step weights whose split this loop saw in place
    opened: dict[int, float] = {}  # step weight -> the operator's analysis window start (stepStartedAt), last seen
    killed = ""
    endpoints: dict[int, list[tuple[int, int]]] = {}  # step weight -> (stable, canary) ready endpoints, sampled
    status: dict[str, Any] = {}
    while time.time() - started < 900:
        status = _status(stack, "good")
        phase, weight = status.get("phase", "Pending"), int(status.get("trafficPercent") or 0)
        label = f"{phase} {weight}%" if phase == "Canary" else phase
        if label not in phases:
            phases[label] = time.time()
            print(f"  +{time.time() - started:6.1f}s {label}: {status.get('message', '')}")
        if phase == "Canary" and status.get("stepStartedAt"):
            # The operator opens a step's window when its split serves (it moves stepStartedAt until then).
            opened[weight] = _epoch(status["stepStartedAt"])
        if phase == "Canary" and _split_serving(stack, canary_replicas(weight, STABLE_REPLICAS)):
            serving.add(weight)
            endpoints.setdefault(weight, []).append(_ready_endpoints(stack))
        if phase == "Canary" and weight == STEPS[0] and not killed and weight in serving:
            # Every operator replica at once: no standby takes over, the Deployment's new Pods resume.
            killed = ", ".join(p["metadata"]["name"] for p in pods(stack.cluster, NS, OPERATOR))
            stack.cluster.kubectl("delete", "pods", "-n", NS, "-l", OPERATOR, "--wait=false")
            print(f"  deleted the operator Pods {killed} mid-canary")
        if phase in ("Promoted", "RolledBack", "Failed"):
            break
        time.sleep(1)
    print("phase wall times: " + ", ".join(f"{k} at +{v - started:.1f}s" for k, v in phases.items()))
    marks = sorted(phases.items(), key=lambda kv: kv[1])
    for (label, at), (_, end) in zip(marks, [*marks[1:], ("end", time.time())], strict=True):
        failed = sum(at <= t < end for t in traffic.report.failed_at)
        print(f"  requests failed during {label}: {failed}")
    refused = sum(t >= started for t in traffic.report.failed_at)
    attempted = refused + sum(s.at >= started for s in traffic.report.served)
    print(get_json(stack.cluster, "modelrollout", "good", "-n", NS)["status"].get("lastAnalysis"))
    print(stack.cluster.kubectl("get", "modelrollouts", "-n", NS).stdout)
    print("served by version so far (requests, positive rate, p99 latency ms): "
          f"{traffic.report.by_version()}")  # fmt: skip
    assert status.get("phase") == "Promoted", status
    stack.champion_version = str(candidate)  # for the next test, whatever is asserted below
    assert refused <= 0.01 * attempted, f"{refused} of {attempted} requests failed: {traffic.report.last_error}"
    assert killed, "the rollout never reached a serving canary step"
    assert status["trafficMechanism"].startswith("Standard: replica ratio"), status
    # Each step's share over the window its gates judged: from the operator's window start to the pass that
    # left the step (the history entry's time is that pass's, before it deleted or resized anything). A poll
    # of this loop is seconds apart on the busy node, so its own view of the split would be too coarse.
    left = _left_steps(status)
    assert set(opened) == set(left) == set(STEPS), (opened, left)
    for weight in STEPS:
        since, until = opened[weight], left[weight]
        share, n = traffic.report.share(str(candidate), since, until)
        print(f"canary {weight}%: candidate served {share:.1%} of {n} requests ({traffic.report.errors} failed "
              f"in the module so far{': ' + traffic.report.last_error if traffic.report.errors else ''})")
        seen = sorted(set(endpoints.get(weight, [])))
        print(f"  window {until - since:.1f}s; ready endpoints (stable, canary) seen while the split served: {seen}")
        assert n >= 30 and abs(share - weight / 100) <= SHARE_TOLERANCE * weight / 100, (weight, share, n)
    assert registry.get_model_version_by_alias(SCORER_MODEL, CHAMPION_ALIAS).version == str(candidate)
    listed = stack.cluster.kubectl("get", "modelrollouts", "-n", NS).stdout
    assert "PHASE" in listed and "STEP" in listed and "TRAFFIC" in listed and "Promoted" in listed
    # The champion serves the candidate everywhere; no canary Deployment or shadow is left.
    assert not get_json(stack.cluster, "deployments", "-n", NS, "-l", "tipsml.io/track=canary")["items"]
    assert not [i for i in get_json(stack.cluster, "inferenceservices", "-n", NS)["items"]
                if i["metadata"]["name"].endswith("-shadow")]  # fmt: skip
    from operators.model_registry import ChampionRegistry

    card = ChampionRegistry(stack.mlflow, "model_card/model_card.json").model_card(SCORER_MODEL, str(candidate))
    assert any(m["to_version"] == str(candidate) and m["rollout"] == f"{NS}/good"
               for m in card.get("alias_history", [])), card.get("alias_history")  # fmt: skip


def test_a_challenger_trained_on_shuffled_labels_is_rolled_back_by_its_gates(
    stack: Stack, traffic: Traffic, tmp_path: Path
) -> None:
    events = simulate_world(tmp_path)
    lines = events.read_text().splitlines()
    reactions = [i for i, line in enumerate(lines) if '"tip_reaction"' in line]
    values = [json.loads(lines[i])["reaction"] for i in reactions]
    random.Random(0).shuffle(values)
    for i, value in zip(reactions, values, strict=True):
        record = json.loads(lines[i])
        record["reaction"] = value
        lines[i] = json.dumps(record)
    shuffled = tmp_path / "shuffled.jsonl"
    shuffled.write_text("\n".join(lines) + "\n")
    # The pipeline's fairness gate would stop this model before the registry; here it is the rollout's gates
    # that must catch it (a team that lowered the training gate, or a model registered by hand).
    worse = train_and_register(stack.mlflow, shuffled, tmp_path,
                               {"TIPSML_MIN_SLICE_AUC": "0", "TIPSML_MAX_SLICE_AUC_GAP": "1"})  # fmt: skip
    stack.cluster.kubectl("apply", "-f", "-", input=json.dumps(_rollout("worse", worse, 0.02)))
    started = time.time()
    status: dict[str, Any] = {}
    while time.time() - started < 600:
        status = _status(stack, "worse")
        if status.get("phase") in ("Promoted", "RolledBack", "Failed"):
            break
        time.sleep(2)
    print(f"shuffled-label challenger: {status.get('phase')} after {time.time() - started:.1f}s: "
          f"{status.get('message')}; last analysis {status.get('lastAnalysis')}")  # fmt: skip
    assert status.get("phase") == "RolledBack", status
    analysis = status["lastAnalysis"]
    assert not analysis["passed"] and analysis["reasons"], analysis
    assert _registry(stack).get_model_version_by_alias(SCORER_MODEL, CHAMPION_ALIAS).version == stack.champion_version
    wait_events(stack.cluster, NS, "worse", lambda e: e["type"] == "Warning" and e["reason"] == "RolledBack")
    traffic_seen = traffic.report.by_version()
    print(f"served by version over the module: {traffic_seen}")
    assert worse not in traffic_seen  # a shadow never answers users
