"""``tipsml demo``: the whole loop on embedded defaults, stage by stage, with what each stage printed.

Each stage is a plain function of a shared :class:`DemoRun`; the command prints a banner per stage and a
summary of wall times at the end, so a reader sees where the time goes.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from tipsml.demo_stages_bandit import stage_bandit, stage_rewards_report
from tipsml.demo_stages_ingest import stage_consume, stage_simulate_and_publish, stage_stream_counts, stage_up
from tipsml.demo_stages_model import stage_rollout, stage_serve, stage_train
from tipsml.errors import TipsmlError
from tipsml.settings import StackSettings

if TYPE_CHECKING:
    from tipsml.simulate import Simulation


@dataclass
class DemoOptions:
    """Size of the simulated world and of the bandit experiment."""

    users: int = 2000
    days: int = 14
    seed: int = 7
    bandit_calls: int = 300
    bandit_rounds: int = 6


@dataclass
class DemoRun:
    """State handed from stage to stage."""

    options: DemoOptions
    settings: StackSettings
    console: Console
    timings: list[tuple[str, float]] = field(default_factory=list)
    published: int = 0
    sim: Simulation | None = None
    truth_path: Path | None = None
    challenger: str | None = None
    challenger_uri: str | None = None
    proposed: bool = False
    scorer_url: str | None = None
    generator_url: str | None = None
    rewards_png: Path | None = None

    def require_sim(self) -> Simulation:
        """The simulation of this run (the oracle later stages draw reactions from)."""
        if self.sim is None:
            raise TipsmlError("no simulation in this run")
        return self.sim


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
