"""Demo stages of the model: train a challenger, roll it out, serve both predictors, call them.

The rollout runs the operator's own pure state machine (``operators.rollout_machine``) on this machine,
with observations measured on local scorer processes: there is no Kubernetes API server in the demo.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tipsml.errors import TipsmlError
from tipsml.processes import ProcessRecord, free_port, spawn, stop_record

if TYPE_CHECKING:
    from tipsml.demo import DemoRun

MODEL = "tip-scorer"
SCORER_PATH = f"/v1/models/{MODEL}:predict"
GENERATOR_PATH = "/v1/models/tip-generator:predict"
CANDIDATES = 20


class DemoStageError(TipsmlError):
    """A demo stage could not do its part."""


def stage_train(run: DemoRun) -> None:
    """Run the train-tip-scorer pipeline with kfp.local; the challenger lands in MLflow."""
    from contracts.runtime import apply_offline_switches

    apply_offline_switches()
    from pipelines.errors import PipelineError
    from pipelines.settings import PipelineSettings
    from tipsml.cli_train import _report_table, run_with_progress

    settings = PipelineSettings(state_dir=run.settings.state_dir, truth_path=str(run.truth_path or ""),
                                seed=run.options.seed)
    root = settings.state.root.resolve() / "pipeline-runs"
    try:
        local_run = run_with_progress(settings, root, run.console, indent="  ")
    except PipelineError as e:
        raise DemoStageError(f"training failed: {e}") from e
    report = local_run.report()
    run.console.print(_report_table(report))
    reg = local_run.registered()
    run.challenger = str(reg.get("version"))
    run.challenger_uri = reg.get("storage_uri") or None
    run.proposed = bool(reg.get("proposed"))
    run.console.print(f"  registered {MODEL} version [bold]{run.challenger}[/bold] as @challenger; "
                      f"proposed for rollout: [bold]{run.proposed}[/bold] ({reg.get('reason')})")


@dataclass
class Scorer:
    """A scorer process this demo started, and its URL."""

    record: ProcessRecord
    url: str


def start_scorer(run: DemoRun, name: str, model_uri: str, role: str = "serving",
                 metrics_role: str | None = None) -> Scorer:
    """Start ``python -m predictors.scorer`` as a recorded process (``tipsml down`` stops it)."""
    host = run.settings.host
    port = free_port(host)
    env = {"TIPSML_HTTP_PORT": str(port), "TIPSML_MODEL_URI": model_uri, "TIPSML_ROLE": role,
           "TIPSML_STATE_DIR": str(run.settings.state.root.resolve())}
    if metrics_role:
        env["TIPSML_METRICS_ROLE"] = metrics_role
    record = spawn(name, [sys.executable, "-m", "predictors.scorer"], port, run.settings.state.pids_dir,
                   run.settings.state.logs_dir / f"{name}.log", env=env, ready_timeout=120.0)
    url = f"http://{host}:{port}"
    _wait_ready(f"{url}/v1/models/{MODEL}", record)
    return Scorer(record, url)


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


def scorer_request(rng: np.random.Generator, users: list[str], tips: list[str], request_id: str) -> dict[str, Any]:
    """A V1 body as the recommender sends it: one user, 20 candidate tips."""
    cands = rng.choice(tips, size=CANDIDATES, replace=False).tolist()
    return {"instances": [{"user_id": str(rng.choice(users)), "candidates": cands, "request_id": request_id}]}


def score(client: httpx.Client, url: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST one V1 request; the first prediction."""
    resp = client.post(url + SCORER_PATH, json=body, timeout=10)
    if resp.status_code != 200:
        raise DemoStageError(f"scorer at {url} answered {resp.status_code}: {resp.text[:200]}")
    pred: dict[str, Any] = resp.json()["predictions"][0]
    return pred


def stage_rollout(run: DemoRun) -> None:
    """Roll the challenger out with the operator's state machine, run here (see demo_stages_rollout)."""
    from tipsml.demo_stages_rollout import roll_out

    roll_out(run)


def stage_serve(run: DemoRun) -> None:
    """Serve the champion scorer and the generator on free ports; print example recommender calls."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    from tipsml.processes import read_record

    for name in ("tip-scorer", "tip-generator"):
        old = read_record(run.settings.state.pids_dir, name)
        if old is not None:
            stop_process(run, old)
            run.console.print(f"  stopped the previous {name} (pid {old.pid}) to serve the current champion")
    run.console.print("  starting tip-scorer (models:/tip-scorer@champion) and tip-generator side by side ...")
    with ThreadPoolExecutor(2) as pool:
        scorer = pool.submit(start_scorer, run, "tip-scorer", f"models:/{MODEL}@champion")
        generator = pool.submit(start_generator, run)
        run.scorer_url, run.generator_url = scorer.result().url, generator.result()
    run.console.print(f"  [green]✓[/green] tip-scorer    {run.scorer_url}{SCORER_PATH}")
    run.console.print(f"  [green]✓[/green] tip-generator {run.generator_url}{GENERATOR_PATH}")
    sim = run.require_sim()
    rng = np.random.default_rng(run.options.seed)
    body = scorer_request(rng, sim.users["user_id"].tolist(), sim.tips["tip_id"].tolist(), "demo-req-1")
    with httpx.Client() as client:
        pred = score(client, run.scorer_url, body)
        run.console.print(f"  POST {SCORER_PATH}  (user {body['instances'][0]['user_id']}, {CANDIDATES} candidates)")
        top = ", ".join(f"{s['tip_id']} {s['score']:.3f}" for s in pred["scores"][:5])
        run.console.print(f"  → model_version {pred['model_version']}; top 5 of {len(pred['scores'])}: {top}")
        gen = {"instances": [{"user_id": body["instances"][0]["user_id"], "request_id": "demo-gen-1"}]}
        resp = client.post(run.generator_url + GENERATOR_PATH, json=gen, timeout=30)
        if resp.status_code != 200:
            raise DemoStageError(f"generator answered {resp.status_code}: {resp.text[:200]}")
        g = resp.json()["predictions"][0]
    run.console.print(f"  POST {GENERATOR_PATH}  {json.dumps(gen)}")
    run.console.print(f"  → prompt_version [bold]{g['prompt_version']}[/bold], model {g['model']}, "
                      f"selection {json.dumps(g['selection'])}")
    run.console.print(f"    text: {g['text'][:160]!r}")


def start_generator(run: DemoRun) -> str:
    """Start ``python -m predictors.generator`` (offline LLM) as a recorded process; returns its URL."""
    state = run.settings.state
    host = run.settings.host
    port = free_port(host)
    root = state.root.resolve()
    env = {"TIPSML_GENERATOR_HTTP_PORT": str(port), "TIPSML_GENERATOR_PROMPTS_DIR": str(root / "prompts"),
           "TIPSML_GENERATOR_STATE_DIR": str(root), "TIPSML_GENERATOR_EXPERIMENT_FILE": str(root / "experiment.json"),
           "TIPSML_GENERATOR_REWARD_DB": str(root / "state.db"), "TIPSML_GENERATOR_RELOAD_INTERVAL_SECONDS": "0.5"}
    record = spawn("tip-generator", [sys.executable, "-m", "predictors.generator"], port, state.pids_dir,
                   state.logs_dir / "tip-generator.log", env=env, ready_timeout=120.0)
    url = f"http://{host}:{port}"
    _wait_ready(f"{url}/v1/models/tip-generator", record)
    return url


def stop_process(run: DemoRun, record: ProcessRecord) -> None:
    """Stop a process this demo started and forget its record."""
    stop_record(run.settings.state.pids_dir, record)


def now() -> datetime:
    """Wall clock, UTC (the state machine's ``now``)."""
    return datetime.now(UTC)


def progress_bar(run: DemoRun) -> Progress:
    """The demo's standard bar."""
    return Progress(TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=run.console)
