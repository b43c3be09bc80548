"""``tipsml up | status | down``: the local embedded stack."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from tipsml.errors import TipsmlError
from tipsml.report.streams import stream_table
from tipsml.stack.settings import StackSettings

console = Console()


def _fail(e: TipsmlError) -> typer.Exit:
    console.print(f"[red]error:[/red] {e}")
    return typer.Exit(1)


def up() -> None:
    """Start nats-server (JetStream), create the streams, prepare MLflow and Feast under .tipsml/."""
    from tipsml.stack import local as stack

    try:
        stack.up(StackSettings(), say=lambda m: console.print(f"[green]✓[/green] {m}"))
    except TipsmlError as e:
        raise _fail(e) from e


def down() -> None:
    """Stop exactly the processes `tipsml up` started (by recorded PID)."""
    from tipsml.stack import local as stack

    n = stack.down(StackSettings(), say=lambda m: console.print(f"[yellow]■[/yellow] {m}"))
    if n == 0:
        console.print("nothing to stop")


def status() -> None:
    """Show the stack's processes and the messages in each stream, per subject."""
    from tipsml.stack import local as stack

    settings = StackSettings()
    procs = Table(title="processes")
    for col in ("name", "pid", "port", "state", "log"):
        procs.add_column(col)
    for rec, alive in stack.process_status(settings):
        procs.add_row(
            rec.name,
            str(rec.pid),
            str(rec.port),
            "[green]up[/green]" if alive else "[red]dead[/red]",
            rec.log,
        )
    console.print(procs)
    try:
        counts = stack.stream_counts(settings)
    except TipsmlError as e:
        raise _fail(e) from e
    console.print(stream_table(counts))
