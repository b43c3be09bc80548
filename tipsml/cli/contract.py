"""``tipsml contract``: keep the recommender's profile features and ours in step."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from contracts.profile import profile_json_schema_text
from tipsml.contract.ts_registry import RegistryParseError, compare, load_registry

app = typer.Typer(help="Check and export the shared contracts.", no_args_is_help=True)


@app.command()
def check(
    registry: Annotated[
        Path,
        typer.Option(
            "--registry", exists=True, dir_okay=False, readable=True,
            help="The recommender's services/api/src/profile/registry.ts.",
        ),
    ],
) -> None:
    """Compare the recommender's profile-feature registry with ours; exit 1 listing every difference."""
    console = Console()
    try:
        theirs = load_registry(registry)
    except RegistryParseError as e:
        console.print(f"[red]cannot read {registry}:[/red] {e}")
        raise typer.Exit(2) from e
    drifts = compare(theirs)
    if not drifts:
        console.print(f"[green]profile features match[/green] ({len(theirs)} names, {registry})")
        return
    table = Table(title=f"profile-feature drift: {registry}")
    for col in ("feature", "problem", "tipsml", "recommender"):
        table.add_column(col)
    for d in drifts:
        table.add_row(d.name, d.kind, d.ours or "-", d.theirs or "-")
    console.print(table)
    console.print(
        "[red]Update contracts/profile.py or the recommender's registry so both list the same names and dtypes.[/red]"
    )
    raise typer.Exit(1)


@app.command()
def schema(
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")] = None,
) -> None:
    """Print the JSON Schema of profile_features, for the recommender's side."""
    text = profile_json_schema_text()
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
