"""What the rollout tests share: the app played in a thread, the champion's ablation, the rollout they apply."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import mlflow

from contracts.names import SCORER_MODEL
from operators.canary_split import RELATIVE_TOLERANCE
from tests.cluster.stack_support import WORLD, Stack, cluster_ip, get_json
from tipsml.simulate import simulate
from tipsml.simulate.play import AppPlayer, PlayReport

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

    def __init__(self, stack: Stack, service: str = "tip-scorer-predictor", seed: int = 7) -> None:
        """Calls the scorer through ``service`` (port 80): the predictor's own, or the Gateway's."""
        scorer = f"http://{cluster_ip(stack.cluster, NS, service)}"
        world = simulate(users=WORLD.users, days=WORLD.days, seed=WORLD.seed)
        self.player = AppPlayer(world, scorer, stack.nats, seed=seed)
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
    version: str = ""
    """The version it registered."""
    run_dir: Path | None = None
    """The pipeline run whose training split it trained on."""

    def register(self, tracking_uri: str, work: Path, trained: str) -> str:
        """Train on the pipeline's training split without the input, register it; the new version.

        ``trained`` is the version the pipeline registered from the same split, with every input.
        """
        from sklearn.metrics import roc_auc_score

        from feature_repo.names import MODEL_FEATURES
        from pipelines.steps.train import LABEL, feature_matrix

        mlflow.set_tracking_uri(tracking_uri)  # the fixture restores the previous one
        (self.run_dir,) = (work / "state" / "pipeline-runs").glob("train-*")
        train, test = _split(self.run_dir)
        features = [f for f in MODEL_FEATURES if f != LEFT_OUT]
        booster = _train(train, features)
        full = mlflow.lightgbm.load_model(f"models:/{SCORER_MODEL}/{trained}")
        self.auc = {
            "without " + LEFT_OUT: float(roc_auc_score(test[LABEL], booster.predict(feature_matrix(test, features)))),
            "every input": float(roc_auc_score(test[LABEL], full.predict(feature_matrix(test, MODEL_FEATURES)))),
        }
        self.version = _register(booster, train, features, f"tip-scorer-without-{LEFT_OUT}")
        return self.version

    def register_shuffled_labels(self, tracking_uri: str, seed: int = 0) -> str:
        """The same training split with its labels shuffled, every input, the pipeline's parameters; registered
        by hand (the pipeline's fairness gate would have refused it); the new version."""
        from feature_repo.names import MODEL_FEATURES
        from pipelines.steps.train import LABEL

        assert self.run_dir is not None, "register() runs first, at install"
        train, _ = _split(self.run_dir)
        train[LABEL] = train[LABEL].sample(frac=1.0, random_state=seed).to_numpy()
        previous = mlflow.get_tracking_uri()
        mlflow.set_tracking_uri(tracking_uri)
        try:
            return _register(_train(train, list(MODEL_FEATURES)), train, list(MODEL_FEATURES), "tip-scorer-shuffled")
        finally:
            mlflow.set_tracking_uri(previous)


def _split(run_dir: Path) -> tuple[Any, Any]:
    """The pipeline run's (training, held-out) sets."""
    import pandas as pd

    return (pd.read_parquet(run_dir / "training-set" / "train_set"),
            pd.read_parquet(run_dir / "training-set" / "test_set"))  # fmt: skip


def _train(train: Any, features: list[str]) -> Any:
    """LightGBM as the pipeline trains it (its seed and rounds) on ``features``."""
    from pipelines.settings import PipelineSettings
    from pipelines.steps.train import train_lightgbm

    settings = PipelineSettings()
    return train_lightgbm(train, features, settings.seed, settings.num_boost_round)


def _register(booster: Any, train: Any, features: list[str], run_name: str) -> str:
    """Log ``booster`` in the pipeline's experiment (artifacts on the server) as a new tip-scorer version."""
    from mlflow.models import infer_signature

    from pipelines.steps.registry import use_experiment
    from pipelines.steps.train import feature_matrix

    example = feature_matrix(train, features).head(5)
    use_experiment()
    with mlflow.start_run(run_name=run_name):
        info = mlflow.lightgbm.log_model(booster, name="model", input_example=example,
                                         signature=infer_signature(example, booster.predict(example)),
                                         registered_model_name=SCORER_MODEL)  # fmt: skip
    return str(info.registered_model_version)


def registry(stack: Stack) -> mlflow.MlflowClient:
    """The stack's MLflow registry."""
    return mlflow.MlflowClient(tracking_uri=stack.mlflow, registry_uri=stack.mlflow)


RERANKS = {"minRankAgreement": 0.3, "maxPsi": 1.0}
"""Shadow gates for a challenger expected to re-rank: the champion lacks tip statistics, the main signal that
orders one user's candidates, so the two agree little (Kendall tau 0.45) and the scores spread differently
(PSI 0.63). Agreement of at least 0.3 still stops a model that ranks at random or backwards (the model trained on
shuffled labels measured 0.20, PSI 2.3, and keeps the defaults, 0.5 and 0.2)."""


def rollout_body(name: str, candidate: str, reward_margin: float, shadow: dict[str, float] | None = None,
                 **canary: Any) -> dict[str, Any]:  # fmt: skip
    """A rollout of ``candidate`` with :data:`STEPS`; ``canary``: more fields of its canary spec."""
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
                **canary,
            },
            "gates": GATES,
        },
    }


def status_of(stack: Stack, name: str) -> dict[str, Any]:
    """The rollout ``name``'s status as stored now."""
    status: dict[str, Any] = get_json(stack.cluster, "modelrollout", name, "-n", NS).get("status") or {}
    return status


def epoch(stamp: str) -> float:
    """Seconds since the epoch of a status timestamp."""
    return datetime.fromisoformat(stamp).timestamp()


def left_steps(status: dict[str, Any]) -> dict[int, float]:
    """Step weight -> when the operator's pass that ended the step ran (from ``status.history``)."""
    left: dict[int, float] = {}
    entered = [(e["trafficPercent"], epoch(e["time"])) for e in status.get("history") or []
               if e["toPhase"] == "Canary"]  # fmt: skip
    ends = [epoch(e["time"]) for e in status.get("history") or [] if e["toPhase"] == "Promoted"]
    for (weight, _), end in zip(entered, [t for _, t in entered[1:]] + ends, strict=False):
        left[weight] = end
    return left


@dataclass
class Followed:
    """A rollout followed to its end: its last status, when each phase was first seen, each step's window start."""

    status: dict[str, Any]
    phases: dict[str, float]
    opened: dict[int, float]
    """Step weight -> the operator's analysis window start (``stepStartedAt``) as last seen."""
    started: float


def follow(stack: Stack, name: str, each: Callable[[str, int], None] | None = None, timeout: float = 900) -> Followed:
    """Poll rollout ``name`` every second until it ends (or ``timeout``), printing each phase as it is entered.

    ``each(phase, weight)`` runs on every poll, e.g. to sample the split or to delete the operator's Pods.
    """
    started = time.time()
    followed = Followed({}, {}, {}, started)
    while time.time() - started < timeout:
        status = followed.status = status_of(stack, name)
        phase, weight = status.get("phase", "Pending"), int(status.get("trafficPercent") or 0)
        label = f"{phase} {weight}%" if phase == "Canary" else phase
        if label not in followed.phases:
            followed.phases[label] = time.time()
            print(f"  +{time.time() - started:6.1f}s {label}: {status.get('message', '')}")
        if phase == "Canary" and status.get("stepStartedAt"):
            # The operator opens a step's window when its split serves (it moves stepStartedAt until then).
            followed.opened[weight] = epoch(status["stepStartedAt"])
        if each is not None:
            each(phase, weight)
        if phase in ("Promoted", "RolledBack", "Failed"):
            break
        time.sleep(1)
    print("phase wall times: " + ", ".join(f"{k} at +{v - started:.1f}s" for k, v in followed.phases.items()))
    return followed
