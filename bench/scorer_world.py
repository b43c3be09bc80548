"""A small synthetic world for the tip scorer: a Feast store with features and an MLflow-registered model.

Used by the scorer's tests and its benchmark, so both score with a real LightGBM model trained here over
``MODEL_FEATURES`` (never a hard-coded score) and read real Feast online features (SQLite). Also starts
the real model server as a process. ``httpx`` here makes single calls only; load is generated with aiohttp.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

from contracts.enums import TaskCategory
from contracts.local_state import LocalState
from contracts.names import SCORER_MODEL
from tipsml.errors import ProcessStartError
from tipsml.stack.processes import free_port, stop_pid, wait_for_port

READY_PATH = f"/v1/models/{SCORER_MODEL}"
CATEGORIES = [c.value for c in TaskCategory]


@dataclass(frozen=True)
class ScorerWorld:
    """Where the world lives and what it holds."""

    root: Path
    """State root (``TIPSML_STATE_DIR``): Feast registry and online store, MLflow db and artifacts."""
    tracking_uri: str
    model_dir: Path
    """The registered version's artifacts copied out, as KServe's storage initializer mounts them."""
    version: str
    users: list[str]
    tips: list[str]


def write_features(root: Path, users: list[str], tips: list[str], seed: int = 0) -> None:
    """Apply the Feast definitions under ``root`` and write online values for users, tips and affinity."""
    from feature_repo.config import apply_definitions, open_store
    from feature_repo.features.views import encode_category_counts
    from feature_repo.names import TIP_STATS_VIEW, USER_ACTIVITY_VIEW, USER_CATEGORY_AFFINITY_VIEW

    rng = np.random.default_rng(seed)
    store = open_store(root)
    apply_definitions(store)
    now = datetime.now(UTC)
    nu, nt = len(users), len(tips)

    def write(view: str, columns: dict[str, object]) -> None:
        """Write ``columns``; a feature of the view not given gets synthetic values of its dtype."""
        n = len(columns["event_timestamp"])  # type: ignore[arg-type]
        for field in store.get_feature_view(view).features:
            if field.name not in columns:
                columns[field.name] = _synthetic(rng, field.dtype, n)
        store.write_to_online_store(view, pd.DataFrame(columns))

    write(
        USER_ACTIVITY_VIEW,
        {
            "user_id": users,
            "user_completion_rate_30d": rng.uniform(0, 1, nu),
            "user_preferred_hour": rng.integers(0, 24, nu),
            "user_active_days_30d": rng.integers(0, 31, nu),
            "user_tip_volume_7d": rng.integers(0, 30, nu),
            "user_like_rate_30d": rng.uniform(0, 1, nu),
            "user_open_tasks": rng.integers(0, 20, nu),
            "user_completed_7d": rng.integers(0, 20, nu),
            "user_category_tasks_30d": [
                encode_category_counts(dict(zip(CATEGORIES, map(int, row), strict=True)))
                for row in rng.integers(0, 6, (nu, len(CATEGORIES)))
            ],
            "event_timestamp": [now] * nu,
        },
    )
    impressions = rng.integers(0, 500, nt)
    positives = (impressions * rng.uniform(0, 0.6, nt)).astype(np.int64)
    write(
        TIP_STATS_VIEW,
        {
            "tip_id": tips,
            "tip_impressions": impressions,
            "tip_positives": positives,
            "tip_like_rate_smoothed": (positives + 2.0) / (impressions + 10.0),
            "tip_category": [CATEGORIES[i % len(CATEGORIES)] for i in range(nt)],
            "event_timestamp": [now] * nt,
        },
    )
    pairs = [(u, c) for u in users for c in CATEGORIES]
    n = len(pairs)
    uc_imp = rng.integers(0, 50, n)
    uc_pos = (uc_imp * rng.uniform(0, 0.8, n)).astype(np.int64)
    write(
        USER_CATEGORY_AFFINITY_VIEW,
        {
            "user_id": [u for u, _ in pairs],
            "category": [c for _, c in pairs],
            "uc_impressions": uc_imp,
            "uc_positives": uc_pos,
            "uc_completions_30d": rng.integers(0, 10, n),
            "uc_affinity": (uc_pos + 2.0) / (uc_imp + 10.0),
            "event_timestamp": [now] * n,
        },
    )


def _synthetic(rng: np.random.Generator, dtype: object, n: int) -> object:
    """Values for a feature this world does not know by name (one added to a view later): by dtype."""
    from feast.types import Float32, Float64, Int32, Int64

    if dtype in (Float32, Float64):
        return rng.uniform(0, 1, n)
    if dtype in (Int32, Int64):
        return rng.integers(0, 20, n)
    return [None] * n


def train_and_register(root: Path, *, rows: int = 2000, seed: int = 0, alias: str = "champion") -> tuple[str, str]:
    """Train a small LightGBM model over ``MODEL_FEATURES`` on synthetic rows; register it; set ``alias``.

    Returns (tracking URI, version). The label depends on tip like rate, affinity and completion rate, so
    rankings are meaningful.
    """
    import lightgbm as lgb
    import mlflow
    from mlflow.models import infer_signature

    from feature_repo.names import MODEL_FEATURES

    state = LocalState(root)
    state.mlflow_artifacts.mkdir(parents=True, exist_ok=True)
    uri = state.mlflow_uri
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.uniform(0, 1, (rows, len(MODEL_FEATURES))), columns=list(MODEL_FEATURES))
    logit = 4 * x.iloc[:, 8] + 3 * x.iloc[:, 9] + 1.5 * x.iloc[:, 0] - 4
    y = (rng.uniform(0, 1, rows) < 1 / (1 + np.exp(-logit))).astype(int)
    booster = lgb.train(
        {
            "objective": "binary",
            "verbose": -1,
            "num_leaves": 15,
            "seed": seed,
            "deterministic": True,
            "num_threads": 1,
        },
        lgb.Dataset(x, y),
        num_boost_round=30,
    )
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = client.get_experiment_by_name(SCORER_MODEL)
    exp_id = (
        exp.experiment_id
        if exp
        else client.create_experiment(SCORER_MODEL, artifact_location=state.mlflow_artifacts.resolve().as_uri())
    )
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    with mlflow.start_run(experiment_id=exp_id):
        info = mlflow.lightgbm.log_model(
            booster,
            name="model",
            registered_model_name=SCORER_MODEL,
            signature=infer_signature(x, booster.predict(x)),
        )
    version = str(info.registered_model_version)
    client.set_registered_model_alias(SCORER_MODEL, alias, version)
    return uri, version


def build_world(root: Path, *, n_users: int = 50, n_tips: int = 200, seed: int = 0) -> ScorerWorld:
    """Features online, a champion model registered, and its directory exported for storage-URI loading."""
    import mlflow

    users = [f"user-{i}" for i in range(n_users)]
    tips = [f"tip-{i}" for i in range(n_tips)]
    write_features(root, users, tips, seed)
    uri, version = train_and_register(root, seed=seed)
    model_dir = root / "mnt-models"
    mlflow.artifacts.download_artifacts(
        artifact_uri=f"models:/{SCORER_MODEL}/{version}",
        dst_path=str(model_dir),
        tracking_uri=uri,
        registry_uri=uri,
    )
    return ScorerWorld(root=root, tracking_uri=uri, model_dir=model_dir, version=version, users=users, tips=tips)


@dataclass
class ScorerProcess:
    """A running ``python -m predictors.scorer`` (the real ``kserve.ModelServer``)."""

    url: str
    pid: int
    log: Path

    def get(self, path: str) -> httpx.Response:
        """One GET (single requests only; load generation uses aiohttp)."""
        return httpx.get(self.url + path, timeout=10)

    def post(self, path: str, body: object) -> httpx.Response:
        """One JSON POST."""
        return httpx.post(self.url + path, json=body, timeout=10)

    def wait_status(self, path: str, status: int, timeout: float = 15.0) -> httpx.Response:
        """Poll ``path`` until it answers ``status`` or ``timeout`` passes; the last answer either way."""
        deadline = time.monotonic() + timeout
        while True:
            r = self.get(path)
            if r.status_code == status or time.monotonic() > deadline:
                return r
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after a grace period."""
        stop_pid(self.pid)


def spawn_scorer(world: ScorerWorld, workdir: Path, *, wait_ready: bool = True, **settings: str) -> ScorerProcess:
    """Start the scorer on a free port with ``TIPSML_*`` settings for ``world``; wait until it is ready."""
    port = free_port()
    env = {
        **os.environ,
        "TIPSML_STATE_DIR": str(world.root),
        "TIPSML_HTTP_PORT": str(port),
        "TIPSML_MLFLOW_TRACKING_URI": world.tracking_uri,
    }
    env.update({f"TIPSML_{k.upper()}": v for k, v in settings.items()})
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"scorer-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "predictors.scorer"],
            stdout=out,  # noqa: S603
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
            start_new_session=True,
        )
    server = ScorerProcess(url=f"http://127.0.0.1:{port}", pid=proc.pid, log=log)
    try:
        wait_for_port(port, 120, proc)
        if wait_ready and server.wait_status(READY_PATH, 200).status_code != 200:
            raise ProcessStartError("scorer never became ready")
    except ProcessStartError as e:
        server.stop()
        raise ProcessStartError(f"{e}; log tail:\n{log.read_text(errors='replace')[-3000:]}") from e
    return server
