"""Demo stages up to the features: stack up, simulated events into JetStream, consumers caught up."""

from __future__ import annotations

import asyncio
import time
import urllib.request

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from contracts.streams import STREAM_SUBJECTS
from tipsml.demo.state import DemoRun
from tipsml.errors import TipsmlError

DURABLE_PREFIX = "tipsml-ingest"
"""The consumers' default durable prefix (``streams.settings.ConsumerSettings.durable_prefix``)."""


class ConsumersBehindError(TipsmlError):
    """The consumers did not catch up with the streams in time."""


def stage_up(run: DemoRun) -> None:
    """Start the local stack (idempotent)."""
    from tipsml.stack import local as stack

    stack.up(run.settings, say=lambda m: run.console.print(f"  [green]✓[/green] {m}"))


def stage_simulate_and_publish(run: DemoRun) -> None:
    """Simulate users and publish every event to JetStream; keep the oracle for later stages."""
    from tipsml.simulate import simulate
    from tipsml.simulate.publish import publish_events

    o = run.options
    sim = simulate(users=o.users, days=o.days, seed=o.seed)
    run.sim = sim
    events = sim.events
    run.console.print(f"  simulated {len(events):,} events for {o.users:,} users over {o.days} days (seed {o.seed})")
    truth = run.settings.state.simulation_dir / "truth.parquet"
    truth.parent.mkdir(parents=True, exist_ok=True)
    sim.truth().to_parquet(truth, index=False)
    run.truth_path = truth.resolve()
    with Progress(TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=run.console) as progress:
        task = progress.add_task("publishing", total=len(events))
        report = asyncio.run(publish_events(events, run.settings.effective_nats_url,
                                            progress=lambda n: progress.advance(task, n)))
    run.published = sum(report.stored.values())
    run.console.print(f"  stored {run.published:,} new, {sum(report.duplicate.values()):,} duplicates dropped")


def stage_stream_counts(run: DemoRun) -> None:
    """Show what landed in JetStream, per subject."""
    from tipsml.report.streams import stream_table
    from tipsml.stack import local as stack

    run.console.print(stream_table(stack.stream_counts(run.settings)))


async def _pending(url: str) -> dict[str, int]:
    import nats

    nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False)
    try:
        js = nc.jetstream()
        out = {}
        for stream in STREAM_SUBJECTS:
            if stream == "DEADLETTER":
                continue
            info = await js.consumer_info(stream, f"{DURABLE_PREFIX}-{stream.lower()}")
            out[stream] = int(info.num_pending) + int(info.num_ack_pending)
        return out
    finally:
        await nc.drain()


def consumer_counters(port: int, host: str) -> dict[str, float]:
    """Sum the consumers' Prometheus counters (written, duplicates, dead-lettered, acked) over labels."""
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as resp:  # noqa: S310 - loopback
        text = resp.read().decode()
    sums: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name_labels, _, value = line.rpartition(" ")
        name = name_labels.split("{", 1)[0]
        if name.endswith("_total"):
            sums[name] = sums.get(name, 0.0) + float(value)
    return sums


def wait_for_consumers(run: DemoRun, timeout: float = 300.0) -> dict[str, float]:
    """Block until both durable consumers have nothing pending or unacked; returns their counters."""
    from tipsml.stack.local import CONSUMERS
    from tipsml.stack.processes import read_record

    record = read_record(run.settings.state.pids_dir, CONSUMERS)
    if record is None:
        raise ConsumersBehindError("the consumers are not running (TIPSML_START_CONSUMERS=false?)")
    url = run.settings.effective_nats_url
    first = sum(asyncio.run(_pending(url)).values())
    deadline = time.monotonic() + timeout
    with Progress(TextColumn("  {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=run.console) as progress:
        task = progress.add_task("consumers writing", total=max(first, 1))
        while True:
            left = sum(asyncio.run(_pending(url)).values())
            progress.update(task, completed=max(first - left, 0) if first else 1)
            if left == 0:
                break
            if time.monotonic() > deadline:
                raise ConsumersBehindError(f"{left} messages still pending after {timeout:.0f}s; see {record.log}")
            time.sleep(0.5)
    return consumer_counters(record.port, run.settings.host)


def stage_consume(run: DemoRun) -> None:
    """Wait for the consumers (event log, reward log, Feast online store), then print their counters."""
    c = wait_for_consumers(run)
    run.console.print(
        f"  consumers (totals since they started): {c.get('tipsml_ingest_written_total', 0):,.0f} written, "
        f"{c.get('tipsml_ingest_duplicates_total', 0):,.0f} duplicates skipped, "
        f"{c.get('tipsml_ingest_deadlettered_total', 0):,.0f} dead-lettered, "
        f"{c.get('tipsml_ingest_online_rows_total', 0):,.0f} feature rows pushed online"
    )
    run.console.print(f"  offline event log (Parquet): {run.settings.state.event_log_dir}")
