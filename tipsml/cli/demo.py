"""``tipsml demo``: the whole loop on embedded defaults."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from tipsml.errors import TipsmlError


def demo(
    users: Annotated[int, typer.Option(min=10, help="Simulated users.")] = 2000,
    days: Annotated[int, typer.Option(min=1, help="Simulated days.")] = 14,
    seed: Annotated[int, typer.Option(help="Simulation seed.")] = 7,
    bandit_calls: Annotated[int, typer.Option(min=2, help="Generator calls in the prompt-version bandit.")] = 300,
    bandit_rounds: Annotated[int, typer.Option(min=1, help="Rounds; rewards flow back after each.")] = 6,
) -> None:
    """Run the whole loop locally: events, consumers, training, rollout, both predictors, a bandit, rewards."""
    from tipsml.demo.run import run_demo
    from tipsml.demo.state import DemoOptions
    from tipsml.stack.settings import StackSettings

    console = Console()
    try:
        run_demo(DemoOptions(users=users, days=days, seed=seed, bandit_calls=bandit_calls,
                             bandit_rounds=bandit_rounds), StackSettings(), console)
    except TipsmlError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(1) from e
