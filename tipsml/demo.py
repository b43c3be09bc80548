"""``tipsml demo``: the whole loop on embedded defaults, stage by stage, with what each stage printed.

Each stage is a plain function of a shared :class:`DemoRun`; the command prints a banner per stage and a
summary of wall times at the end, so a reader sees where the time goes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tipsml.settings import StackSettings


@dataclass
class DemoOptions:
    """Size of the simulated world."""

    users: int = 2000
    days: int = 14
    seed: int = 7


@dataclass
class DemoRun:
    """State handed from stage to stage."""

    options: DemoOptions
    settings: StackSettings
    console: Console
    timings: list[tuple[str, float]] = field(default_factory=list)
    published: int = 0


def stage_up(run: DemoRun) -> None:
    """Start the local stack (idempotent)."""
    from tipsml import stack

    stack.up(run.settings, say=lambda m: run.console.print(f"  [green]✓[/green] {m}"))


def stage_simulate_and_publish(run: DemoRun) -> None:
    """Simulate users and publish every event to JetStream."""
    from tipsml.simulate import simulate
    from tipsml.simulate.publish import publish_events

    o = run.options
    sim = simulate(users=o.users, days=o.days, seed=o.seed)
    events = sim.events
    run.console.print(f"  simulated {len(events):,} events for {o.users:,} users over {o.days} days (seed {o.seed})")
    with Progress(TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=run.console) as progress:
        task = progress.add_task("publishing", total=len(events))
        report = asyncio.run(publish_events(events, run.settings.effective_nats_url,
                                            progress=lambda n: progress.advance(task, n)))
    run.published = sum(report.stored.values())
    run.console.print(f"  stored {run.published:,} new, {sum(report.duplicate.values()):,} duplicates dropped")


def stage_stream_counts(run: DemoRun) -> None:
    """Show what landed in JetStream, per subject."""
    from tipsml import stack
    from tipsml.cli_stack import stream_table

    run.console.print(stream_table(stack.stream_counts(run.settings)))


STAGES: list[tuple[str, Callable[[DemoRun], None]]] = [
    ("local stack up", stage_up),
    ("simulate and publish events", stage_simulate_and_publish),
    ("events per subject in JetStream", stage_stream_counts),
]


def run_demo(options: DemoOptions, settings: StackSettings, console: Console) -> DemoRun:
    """Run every stage in order; returns the run with per-stage wall times."""
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
