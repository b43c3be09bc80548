"""``tipsml serve generator``: the tip-generator model server on this machine.

Registered into the ``serve`` group by :mod:`tipsml.cli.serve`; settings come from ``TIPSML_GENERATOR_*``
env, with the port, prompt directory and feature-store switch given here taking precedence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def generator(
    port: Annotated[int, typer.Option(help="HTTP port of the V1 endpoint.")] = 8080,
    prompts_dir: Annotated[
        Path | None, typer.Option(help="Prompt registry directory (default .tipsml/prompts).")
    ] = None,
    feature_store: Annotated[
        bool, typer.Option(help="Read tasks and activity from the local Feast store.")
    ] = True,
) -> None:
    """Serve tip-generator (KServe V1) with the offline LLM provider by default."""
    from contracts.runtime import apply_offline_switches

    apply_offline_switches()
    from pydantic import ValidationError

    from predictors.generator.__main__ import run
    from predictors.generator.settings import GeneratorSettings

    overrides: dict[str, Any] = {"http_port": port, "use_feature_store": feature_store}
    if prompts_dir is not None:
        overrides["prompts_dir"] = prompts_dir
    try:
        settings = GeneratorSettings(**overrides)
    except ValidationError as e:
        typer.echo(f"invalid option: {e}", err=True)
        raise typer.Exit(2) from e
    raise typer.Exit(run(settings))
