"""``tipsml play``: the app played against a running scorer, its users reacting as the simulator's oracle says."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from tipsml.cli.simulate import DEFAULT_NATS_URL, progress_bar


def play(
    scorer_url: Annotated[
        str, typer.Option("--scorer-url", help="Base URL of tip-scorer (e.g. its Service's cluster IP, port 80).")
    ],
    nats_url: Annotated[
        str, typer.Option("--nats-url", envvar="TIPSML_NATS_URL", help="NATS the consumers read events from.")
    ] = DEFAULT_NATS_URL,
    requests: Annotated[int, typer.Option("--requests", min=1, help="Requests to send.")] = 500,
    rate: Annotated[float, typer.Option("--rate", min=0.1, help="Requests per second (about).")] = 10.0,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, max=256, help="Requests in flight.")] = 4,
    users: Annotated[int, typer.Option("--users", min=1, help="The simulated world: users (as trained on).")] = 200,
    days: Annotated[int, typer.Option("--days", min=1, help="The simulated world: days (as trained on).")] = 7,
    seed: Annotated[int, typer.Option("--seed", min=0, help="The simulated world: seed (as trained on).")] = 0,
) -> None:
    """Play the app: score 20 candidate tips for a simulated user, show the top one, react by the oracle.

    Each answered request publishes [cyan]tip_shown[/cyan] (with the model_version that answered) and
    [cyan]tip_reaction[/cyan] (liked with the oracle's probability, else dismissed) to JetStream; the consumers
    turn them into the per-version reward counters a ModelRollout's canary gate reads. Give the same
    --users/--days/--seed as the simulation the model was trained on (the defaults are `tipsml simulate`'s),
    so its users and tips exist.

    Every request opens its own connection, as many app clients would: a Kubernetes Service spreads
    connections over its Pods. The table shows each version's share of requests, positive rate and p99.
    """
    from tipsml.simulate.errors import PublishError
    from tipsml.simulate.play import AppPlayer
    from tipsml.simulate.truth import simulate

    console = Console()
    with progress_bar(console) as progress:
        task = progress.add_task(f"playing the app against {scorer_url}", total=requests)
        player = AppPlayer(simulate(users=users, days=days, seed=seed), scorer_url, nats_url, seed=seed)
        try:
            report = asyncio.run(player.run(requests=requests, rate=rate, concurrency=concurrency,
                                            progress=lambda n: progress.advance(task, n)))  # fmt: skip
        except PublishError as e:
            progress.stop()
            console.print(f"[red]{e}[/red]")
            raise typer.Exit(1) from e
    table = Table(title=f"{len(report.served)} requests answered, {report.errors} failed")
    for column in ("model_version", "requests", "share", "positive rate", "p99 ms"):
        table.add_column(column, justify="right")
    for version, (count, positive, p99) in report.by_version().items():
        table.add_row(version, f"{count:,}", f"{count / len(report.served):.1%}", f"{positive:.3f}", f"{p99:.1f}")
    console.print(table)
    if report.errors:
        console.print(f"[yellow]last failure: {report.last_error}[/yellow]")
        raise typer.Exit(1)
