"""``tipsml demo``: the whole loop on embedded defaults, stage by stage, with what each stage printed.

Each stage is a plain function of a shared :class:`DemoRun`; the command prints a banner per stage and a
summary of wall times at the end, so a reader sees where the time goes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from tipsml.demo.stages_bandit import stage_bandit, stage_rewards_report
from tipsml.demo.stages_ingest import stage_consume, stage_simulate_and_publish, stage_stream_counts, stage_up
from tipsml.demo.stages_rollout import stage_rollout
from tipsml.demo.stages_serve import stage_serve
from tipsml.demo.stages_train import stage_train
from tipsml.demo.state import DemoOptions, DemoRun
from tipsml.stack.settings import StackSettings

if TYPE_CHECKING:
    pass


STAGES: list[tuple[str, Callable[[DemoRun], None]]] = [
    ("local stack up", stage_up),
    ("simulate and publish events", stage_simulate_and_publish),
    ("events per subject in JetStream", stage_stream_counts),
    ("consumers: event log, reward log, online features", stage_consume),
    ("train a challenger (kfp.local pipeline → MLflow)", stage_train),
    ("roll out the challenger (operator state machine, local)", stage_rollout),
    ("serve tip-scorer and tip-generator; example recommender calls", stage_serve),
    ("bandit over prompt versions v1/v2 on simulated traffic", stage_bandit),
    ("rewards report (tipsml report rewards)", stage_rewards_report),
]


def run_demo(options: DemoOptions, settings: StackSettings, console: Console) -> DemoRun:
    """Run every stage in order; returns the run with per-stage wall times."""
    # MLflow's tqdm bars for one-file artifact reads would cut through the demo's own progress bars.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    run = DemoRun(options=options, settings=settings, console=console)
    for i, (name, fn) in enumerate(STAGES, start=1):
        console.rule(f"[bold]{i}/{len(STAGES)} {name}")
        started = time.perf_counter()
        fn(run)
        run.timings.append((name, time.perf_counter() - started))
    table = Table(title="demo wall time")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for name, secs in run.timings:
        table.add_row(name, f"{secs:.1f}")
    table.add_row("[bold]total", f"[bold]{sum(s for _, s in run.timings):.1f}")
    console.print(table)
    console.print("The stack is still up: `tipsml status` to look, `tipsml down` to stop it.")
    return run
