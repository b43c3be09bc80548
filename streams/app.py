"""Wire the consumer process together: feature store, writer, metrics, signals; run until told to stop."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING

from contracts.runtime import apply_offline_switches
from streams.consumer import Consumer
from streams.errors import IngestError, PusherError
from streams.metrics import IngestMetrics
from streams.pusher import OnlinePusher
from streams.settings import ConsumerSettings
from streams.writer import BatchWriter

if TYPE_CHECKING:
    from feast import FeatureStore

log = logging.getLogger(__name__)


def open_feature_store(settings: ConsumerSettings) -> FeatureStore:
    """The store the consumers push to: ``feast_config`` when set, else the local default (applied)."""
    apply_offline_switches()
    from feature_repo.config import open_configured_store

    return open_configured_store(settings.feast_config, settings.state_dir, apply_local=True)


async def run(settings: ConsumerSettings, stop: asyncio.Event, metrics: IngestMetrics | None = None) -> None:
    """Run both consumers (and the online pusher) until ``stop`` is set (SIGTERM in the entry point)."""
    metrics = metrics or IngestMetrics()
    pusher = None
    if settings.online_push:
        pusher = OnlinePusher(
            settings.state_dir, feast_config=settings.feast_config, synchronous=settings.sqlite_synchronous
        )
        pusher.start()
    writer = BatchWriter(settings, on_commit=pusher.notify if pusher else None)
    try:
        if pusher is not None and not await asyncio.to_thread(pusher.wait_ready, settings.pusher_start_timeout_seconds):
            raise PusherError("the online pusher did not start (see its log above)")
        if settings.metrics_port is not None:
            metrics.serve(settings.metrics_port, settings.metrics_host)
        await Consumer(settings, writer, metrics, pusher.counters if pusher else None).run(stop)
    finally:
        if pusher is not None:
            await asyncio.to_thread(pusher.stop)
        writer.close()


async def run_until_signalled(settings: ConsumerSettings) -> None:
    """Run until SIGTERM or SIGINT, then drain gracefully (finish the batch in hand, ack, close)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("consuming from %s (state under %s)", settings.nats_url, settings.state_dir)
    await run(settings, stop)
    log.info("stopped")


def main() -> None:
    """Process entry point (``python -m streams``): settings from ``TIPSML_*`` env only."""
    apply_offline_switches()
    settings = ConsumerSettings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("feast").setLevel(logging.WARNING)
    try:
        asyncio.run(run_until_signalled(settings))
    except IngestError as e:
        logging.getLogger("streams").error("%s", e)
        raise SystemExit(1) from e
