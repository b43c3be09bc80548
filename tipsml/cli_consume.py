"""``tipsml consume``: run the ingest consumers in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Annotated, Any

import typer


def consume(
    nats_url: Annotated[str | None, typer.Option(help="NATS URL (else TIPSML_NATS_URL).")] = None,
    state_dir: Annotated[Path | None, typer.Option(help="State root (else TIPSML_STATE_DIR).")] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Messages per fetch and write.")] = None,
    metrics_port: Annotated[int | None, typer.Option(help="Serve Prometheus /metrics on this port.")] = None,
    online_push: Annotated[bool, typer.Option(help="Push fresh features to the online store.")] = True,
    log_level: Annotated[str, typer.Option(help="Logging level.")] = "INFO",
) -> None:
    """Consume signals.> and feedback.>: validate, write, ack; dead-letter what stays invalid.

    Settings come from TIPSML_* environment variables (see streams/settings.py); options here override them.
    Stops gracefully on SIGTERM or Ctrl-C: the batch in hand is written and acked first.
    """
    from streams.app import run_until_signalled
    from streams.errors import IngestError
    from streams.settings import ConsumerSettings

    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    overrides: dict[str, Any] = {"online_push": online_push}
    for key, value in (("nats_url", nats_url), ("state_dir", state_dir), ("batch_size", batch_size),
                       ("metrics_port", metrics_port)):
        if value is not None:
            overrides[key] = value
    settings = ConsumerSettings(**overrides)
    try:
        asyncio.run(run_until_signalled(settings))
    except IngestError as e:
        typer.echo(f"consume: {e}", err=True)
        raise typer.Exit(1) from e
