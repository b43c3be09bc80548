"""The predictor processes the demo starts (recorded, so ``tipsml down`` stops them) and its V1 calls to them."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any

import httpx

from contracts.names import CHAMPION_ALIAS, GENERATOR_MODEL, SCORER_MODEL
from tipsml.demo.rollout_local import LocalScorer, ScorerLauncher
from tipsml.demo.state import DemoRun, DemoStageError
from tipsml.simulate.play import SCORER_PATH
from tipsml.stack.processes import ProcessRecord, free_port, spawn, stop_record

MODEL = SCORER_MODEL
GENERATOR_PATH = f"/v1/models/{GENERATOR_MODEL}:predict"
CHAMPION_URI = f"models:/{SCORER_MODEL}@{CHAMPION_ALIAS}"


@dataclass
class Scorer:
    """A scorer process this demo started, and its URL."""

    record: ProcessRecord
    url: str


def start_scorer(run: DemoRun, name: str, model_uri: str, role: str = "serving",
                 metrics_role: str | None = None, model_version: str | None = None) -> Scorer:
    """Start ``python -m predictors.scorer`` as a recorded process (``tipsml down`` stops it)."""
    host = run.settings.host
    port = free_port(host)
    env = {"TIPSML_HTTP_PORT": str(port), "TIPSML_MODEL_URI": model_uri, "TIPSML_ROLE": role,
           "TIPSML_STATE_DIR": str(run.settings.state.root.resolve())}
    if metrics_role:
        env["TIPSML_METRICS_ROLE"] = metrics_role
    if model_version:
        env["TIPSML_MODEL_VERSION"] = model_version
    record = spawn(name, [sys.executable, "-m", "predictors.scorer"], port, run.settings.state.pids_dir,
                   run.settings.state.logs_dir / f"{name}.log", env=env, ready_timeout=120.0)
    url = f"http://{host}:{port}"
    _wait_ready(f"{url}/v1/models/{MODEL}", record)
    return Scorer(record, url)


def scorer_launcher(run: DemoRun) -> ScorerLauncher:
    """Start scorers for a local rollout as recorded processes of this run."""

    def launch(name: str, *, version: str, model_uri: str, role: str, metrics_role: str) -> LocalScorer:
        scorer = start_scorer(run, name, model_uri, role=role, metrics_role=metrics_role, model_version=version)
        return LocalScorer(name, version, scorer.url, lambda: stop_process(run, scorer.record))

    return launch


def _wait_ready(url: str, record: ProcessRecord, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise DemoStageError(f"{record.name} not ready at {url} within {timeout:.0f}s; see {record.log}")


def score(client: httpx.Client, url: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST one V1 request; the first prediction."""
    resp = client.post(url + SCORER_PATH, json=body, timeout=10)
    if resp.status_code != 200:
        raise DemoStageError(f"scorer at {url} answered {resp.status_code}: {resp.text[:200]}")
    pred: dict[str, Any] = resp.json()["predictions"][0]
    return pred


def start_generator(run: DemoRun) -> str:
    """Start ``python -m predictors.generator`` (offline LLM) as a recorded process; returns its URL."""
    state = run.settings.state
    host = run.settings.host
    port = free_port(host)
    root = state.root.resolve()
    env = {"TIPSML_GENERATOR_HTTP_PORT": str(port), "TIPSML_GENERATOR_PROMPTS_DIR": str(root / "prompts"),
           "TIPSML_GENERATOR_STATE_DIR": str(root), "TIPSML_GENERATOR_EXPERIMENT_FILE": str(root / "experiment.json"),
           "TIPSML_GENERATOR_REWARD_DB": str(root / "state.db"), "TIPSML_GENERATOR_RELOAD_INTERVAL_SECONDS": "0.5"}
    record = spawn(GENERATOR_MODEL, [sys.executable, "-m", "predictors.generator"], port, state.pids_dir,
                   state.logs_dir / f"{GENERATOR_MODEL}.log", env=env, ready_timeout=120.0)
    url = f"http://{host}:{port}"
    _wait_ready(f"{url}/v1/models/{GENERATOR_MODEL}", record)
    return url


def stop_process(run: DemoRun, record: ProcessRecord) -> None:
    """Stop a process this demo started and forget its record."""
    stop_record(run.settings.state.pids_dir, record)
