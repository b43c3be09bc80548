"""``tipsml report rewards``: reactions per prompt version (or model version), as a table and a PNG plot.

What the admin reward-analytics dashboard shows: per bucket, tips shown, reacted, positive and the positive
rate with a 95% Wilson interval, read from the reward log the stream consumers write.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import typer

from contracts.local_state import LocalState
from tipsml.report.rewards import plot_rewards, rewards_table

_LOCAL = LocalState()
app = typer.Typer(help="Reports over the reward log.", no_args_is_help=True)


@app.callback()
def report() -> None:
    """Reports over the reward log."""


@app.command("rewards")
def rewards(
    db: Annotated[Path, typer.Option(help="Reward log (SQLite) the consumers write.")] = _LOCAL.state_db,
    by: Annotated[str, typer.Option(help="Bucket by prompt_version or model_version.")] = "prompt_version",
    days: Annotated[float, typer.Option(help="Only tips shown in the last N days (0: all).")] = 30.0,
    out: Annotated[Path, typer.Option(help="Where to write the PNG plot.")] = _LOCAL.reports_dir
    / "rewards.png",
) -> None:
    """Tips shown, reactions and positive rate per prompt version, as a table and a PNG plot."""
    from rich.console import Console

    from experiments.reward_log import RewardLog

    if by not in ("prompt_version", "model_version"):
        raise typer.BadParameter("use prompt_version or model_version", param_hint="--by")
    bucket: Literal["prompt_version", "model_version"] = (
        "prompt_version" if by == "prompt_version" else "model_version"
    )
    if not db.exists():
        raise typer.BadParameter(f"no reward log at {db}", param_hint="--db")
    since = datetime.now(UTC) - timedelta(days=days) if days > 0 else None
    with RewardLog(db) as log:
        rows = log.aggregate(bucket, since=since)
    table = rewards_table(rows, bucket)
    Console().print(table)
    if rows:
        plot_rewards(rows, out, f"positive rate by {bucket}")
        typer.echo(f"plot: {out}")
    else:
        typer.echo("no rewards in the window")
