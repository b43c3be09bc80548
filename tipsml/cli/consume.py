"""``tipsml consume``: run the ingest consumers in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer


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

    env = dict(os.environ)
    for key, value in (
        ("NATS_URL", nats_url),
        ("STATE_DIR", state_dir),
        ("BATCH_SIZE", batch_size),
        ("METRICS_PORT", metrics_port),
        ("LOG_LEVEL", log_level),
    ):
        if value is not None:
            env[f"TIPSML_{key}"] = str(value)
    if online_push is not None:
        env["TIPSML_ONLINE_PUSH"] = "true" if online_push else "false"
    os.environ.update(env)
    try:
        ConsumerSettings()  # fail here, with the field named, rather than in the consumer process
    except ValidationError as e:
        typer.echo(f"consume: invalid settings: {e}", err=True)
        raise typer.Exit(2) from e
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", "streams"], env)
