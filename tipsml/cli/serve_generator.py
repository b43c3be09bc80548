"""``tipsml serve generator``: the tip-generator model server on this machine.

Registered into the ``serve`` group by ``tipsml/cli_serve.py``; settings come from ``TIPSML_GENERATOR_*``
env, with the port and prompt directory overridable here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

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
    os.environ["TIPSML_GENERATOR_HTTP_PORT"] = str(port)
    os.environ["TIPSML_GENERATOR_USE_FEATURE_STORE"] = "true" if feature_store else "false"
    if prompts_dir is not None:
        os.environ["TIPSML_GENERATOR_PROMPTS_DIR"] = str(prompts_dir)
    from predictors.generator.__main__ import main

    raise typer.Exit(main())
