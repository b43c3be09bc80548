"""``tipsml consume``: run the ingest consumers in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

ENV_PREFIX = "TIPSML_"
"""The consumers' settings prefix (``streams.settings``), under which the options reach ``python -m streams``."""


def child_env(given: dict[str, Any]) -> dict[str, str]:
    """This process's environment plus the options ``given`` (settings field names) as ``TIPSML_*`` variables.

    ``python -m streams`` reads its settings from the environment only, so the options travel there; this
    process's own environment is left as it was.
    """
    env = dict(os.environ)
    for name, value in given.items():
        env[f"{ENV_PREFIX}{name.upper()}"] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return env


def consume(
    nats_url: Annotated[str | None, typer.Option(help="NATS URL (else TIPSML_NATS_URL).")] = None,
    state_dir: Annotated[Path | None, typer.Option(help="State root (else TIPSML_STATE_DIR).")] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Messages per fetch and write.")] = None,
    metrics_port: Annotated[int | None, typer.Option(help="Serve Prometheus /metrics on this port.")] = None,
    online_push: Annotated[bool | None, typer.Option(help="Push fresh features to the online store.")] = None,
    log_level: Annotated[str | None, typer.Option(help="Logging level (else TIPSML_LOG_LEVEL, INFO).")] = None,
) -> None:
    """Consume signals.> and feedback.>: validate, write, ack; dead-letter what stays invalid.

    Settings come from TIPSML_* environment variables (see streams/settings.py); options here override them.
    Stops gracefully on SIGTERM or Ctrl-C: the batch in hand is written and acked first.
    This command becomes ``python -m streams`` (the process ``tipsml up`` runs), so both behave alike.
    """
    from pydantic import ValidationError

    from streams.settings import ConsumerSettings

    options: dict[str, Any] = {
        "nats_url": nats_url,
        "state_dir": state_dir,
        "batch_size": batch_size,
        "metrics_port": metrics_port,
        "online_push": online_push,
        "log_level": log_level,
    }
    given = {name: value for name, value in options.items() if value is not None}
    try:
        ConsumerSettings(**given)  # fail here, with the field named, rather than in the consumer process
    except ValidationError as e:
        typer.echo(f"consume: invalid settings: {e}", err=True)
        raise typer.Exit(2) from e
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", "streams"], child_env(given))
