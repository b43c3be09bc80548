"""``tipsml serve scorer | generator``: a model server on this machine, on the embedded stack's state.

Each command builds its deployable's settings (``TIPSML_*`` env, overridden by the options given) and runs
the same entry point as the container (``python -m predictors.<name>``) in the foreground.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tipsml.cli.serve_generator import generator

app = typer.Typer(help="Run a model server (KServe ModelServer) in the foreground.", no_args_is_help=True)


@app.command()
def scorer(
    port: Annotated[
        int | None, typer.Option(help="HTTP port (V1 and V2). Default 8080 / TIPSML_HTTP_PORT.")
    ] = None,
    model_uri: Annotated[
        str | None,
        typer.Option(
            help="models:/tip-scorer@champion (default), models:/tip-scorer/<n>, or a model directory."
        ),
    ] = None,
    role: Annotated[str | None, typer.Option(help="serving (default) or shadow (no side effects).")] = None,
    state_dir: Annotated[Path | None, typer.Option(help="Local state root (default .tipsml).")] = None,
) -> None:
    """Serve tip-scorer: Feast online features from the local store, the model from the local MLflow."""
    from contracts.runtime import apply_offline_switches

    apply_offline_switches()
    from predictors.scorer.__main__ import run
    from predictors.scorer.settings import ScorerSettings

    overrides = {"http_port": port, "model_uri": model_uri, "role": role, "state_dir": state_dir}
    try:
        settings = ScorerSettings(**{k: v for k, v in overrides.items() if v is not None})  # type: ignore[arg-type]
    except ValueError as e:
        typer.echo(f"invalid option: {e}", err=True)
        raise typer.Exit(2) from e
    code = run(settings)
    if code:
        typer.echo(
            "No model yet? Train and register one first (`tipsml train`), or pass --model-uri.", err=True
        )
    raise typer.Exit(code)


app.command("generator")(generator)
