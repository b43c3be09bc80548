"""``tipsml simulate``: simulated events with a known ground truth, written to files or published."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

DEFAULT_NATS_URL = "nats://127.0.0.1:4222"


def _parse_start(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        start = datetime.fromisoformat(value)
    except ValueError as e:
        raise typer.BadParameter(f"not an ISO date or datetime: {value!r}", param_hint="--start") from e
    return start if start.tzinfo is not None else start.replace(tzinfo=UTC)


def progress_bar(console: Console) -> Progress:
    """The progress display of the simulate-and-publish commands."""
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


def simulate(
    users: Annotated[int, typer.Option("--users", min=1, help="Number of users.")] = 200,
    days: Annotated[int, typer.Option("--days", min=1, max=3650, help="Length of the window in days.")] = 7,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed: same seed and options, same bytes.")] = 0,
    start: Annotated[
        str | None,
        typer.Option("--start", help="First instant of the window (ISO; UTC if no offset). "
                                     "Default: DAYS days before 2026-11-01T00:00Z."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", file_okay=False,
                     help="Write events.jsonl, users/tips/truth.parquet, manifest.json."),
    ] = None,
    gzip_events: Annotated[bool, typer.Option("--gzip", help="Write events.jsonl.gz instead.")] = False,
    publish: Annotated[bool, typer.Option("--publish", help="Publish every event to JetStream.")] = False,
    no_effects: Annotated[
        bool,
        typer.Option("--no-effects", help="Fatigue, repeat decay, task-state and per-platform prompt effects off."),
    ] = False,
    nats_url: Annotated[
        str, typer.Option("--nats-url", envvar="TIPSML_NATS_URL", help="NATS server to publish to.")
    ] = DEFAULT_NATS_URL,
) -> None:
    r"""Simulate users, tasks, tips and reactions from a documented generative model with a known oracle.

    [bold]Users[/bold]: preferred local hour (near 8:00, 12:30 or 20:00), UTC offset, platform, activity rate,
    tenure (~15 % sign up during the window), completion propensity, an affinity per task category.
    [bold]Tips[/bold]: catalogue tip-0001..tip-0300, each with a category, a latent quality and a popularity.

    [bold]Each day[/bold]:
    - app opens near the preferred hour (app_opened);
    - tasks created, moved on and completed (task_synced, task_completed);
    - on 60 % of opens a logging policy shows a tip (tip_shown) with its exact propensity: softmax over
      popularity among 5 random candidates; 35 % are generated tips with prompt_version v1 or v2 (50/50);
    - a reaction (tip_reaction) a few minutes later.

    [bold]Oracle[/bold]: P(liked or acted) = sigmoid(bias + tip quality + affinity\\[user, tip category]
    + hour match + prompt-version effect (v2 +0.3) + completion-propensity term
    + fatigue (tips in the last 24 h) + repeat decay (same tip seen before, wearing off)
    + state interaction (open tasks in the tip's category due soon) + a prompt effect per platform);
    otherwise dismissed, snoozed or no reaction. --no-effects switches the last four off.

    [bold]Ground truth[/bold] from Python: [cyan]tipsml.simulate.simulate(users, days, seed)[/cyan] returns a
    Simulation with users, tips, truth() (one row per impression with p_positive), oracle_probability()
    and prompt_version_probabilities() (for bandit regret).

    Same seed and options give byte-identical output. Without --out or --publish only counts are shown.
    """
    from tipsml.simulate.errors import PublishError
    from tipsml.simulate.model import ModelParams
    from tipsml.simulate.publish import publish_events
    from tipsml.simulate.truth import simulate as run_simulation
    from tipsml.simulate.writer import write_run

    console = Console()
    start_at = _parse_start(start)
    with progress_bar(console) as progress:
        task = progress.add_task(f"simulating {users} users x {days} days (seed {seed})", total=2)
        params = ModelParams().without_new_effects() if no_effects else ModelParams()
        sim = run_simulation(users=users, days=days, seed=seed, start=start_at, params=params)
        progress.advance(task)
        events = sim.events
        progress.advance(task)
        if out is not None:
            writing = progress.add_task(f"writing {out}", total=len(events))
            write_run(sim, out, compress=gzip_events, progress=lambda n: progress.advance(writing, n))
        report = None
        if publish:
            sending = progress.add_task(f"publishing to {nats_url}", total=len(events))
            try:
                report = asyncio.run(
                    publish_events(events, nats_url, progress=lambda n: progress.advance(sending, n))
                )
            except PublishError as e:
                progress.stop()
                console.print(f"[red]{e}[/red]")
                raise typer.Exit(1) from e

    table = Table(title=f"simulated events ({sim.tag}, start {sim.start.isoformat()})")
    table.add_column("subject")
    table.add_column("events", justify="right")
    if report is not None:
        table.add_column("stored", justify="right")
        table.add_column("duplicate (dropped)", justify="right")
    for subject, count in events.counts().items():
        row = [subject, f"{count:,}"]
        if report is not None:
            row += [f"{report.stored[subject]:,}", f"{report.duplicate[subject]:,}"]
        table.add_row(*row)
    total = ["total", f"{len(events):,}"]
    if report is not None:
        total += [f"{sum(report.stored.values()):,}", f"{sum(report.duplicate.values()):,}"]
    table.add_row(*total, style="bold")
    console.print(table)
    if out is not None:
        console.print(f"wrote {out}")
