"""Demo stage: serve the champion scorer and the generator side by side, and call them as the recommender would."""

from __future__ import annotations

import httpx
import numpy as np

from contracts.names import GENERATOR_MODEL
from tipsml.demo.servers import (
    CHAMPION_URI,
    GENERATOR_PATH,
    MODEL,
    score,
    start_generator,
    start_scorer,
    stop_process,
)
from tipsml.demo.state import DemoRun, DemoStageError
from tipsml.simulate.play import CANDIDATES, SCORER_PATH, scorer_request


def stage_serve(run: DemoRun) -> None:
    """Serve the champion scorer and the generator on free ports; print example recommender calls."""
    import json
    from concurrent.futures import ThreadPoolExecutor

    from tipsml.stack.processes import read_record

    for name in (MODEL, GENERATOR_MODEL):
        old = read_record(run.settings.state.pids_dir, name)
        if old is not None:
            stop_process(run, old)
            run.console.print(f"  stopped the previous {name} (pid {old.pid}) to serve the current champion")
    run.console.print(f"  starting {MODEL} ({CHAMPION_URI}) and {GENERATOR_MODEL} side by side ...")
    with ThreadPoolExecutor(2) as pool:
        scorer = pool.submit(start_scorer, run, MODEL, CHAMPION_URI)
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
