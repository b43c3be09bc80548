"""The local embedded stack: nats-server with JetStream, streams, MLflow and Feast state under ``.tipsml/``.

``up`` is idempotent (a live recorded process is left alone), ``down`` stops exactly the recorded PIDs.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse

import nats
import nats.errors
from nats.js.errors import NotFoundError

from contracts.streams import STREAM_SUBJECTS
from streams.errors import StreamSetupError
from streams.topology import StreamLimits, ensure_streams
from tipsml.errors import NatsUnreachableError, StackNotRunningError, StreamsRefusedError
from tipsml.stack.nats_server import nats_server_command
from tipsml.stack.processes import (
    ProcessRecord,
    ensure_port_free,
    free_port,
    list_records,
    pid_alive,
    port_open,
    read_record,
    spawn,
    stop_record,
)
from tipsml.stack.settings import StackSettings

NATS = "nats-server"
CONSUMERS = "consumers"

Step = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class StreamCount:
    """Messages and bytes held by one stream, and per-subject counts."""

    stream: str
    messages: int
    bytes: int
    subjects: dict[str, int]


def _say(_: str) -> None:
    return None


def start_nats(settings: StackSettings, say: Step = _say) -> ProcessRecord | None:
    """Start nats-server unless a recorded one is alive or an external URL is configured."""
    if settings.nats_url:
        say(f"using external NATS at {settings.nats_url}")
        return None
    state = settings.state
    existing = read_record(state.pids_dir, NATS)
    if existing and pid_alive(existing.pid) and port_open(existing.port, settings.host):
        say(f"nats-server already running (pid {existing.pid}, port {existing.port})")
        return existing
    ensure_port_free(settings.nats_port, "nats-server (setting TIPSML_NATS_PORT)", settings.host)
    state.nats_dir.mkdir(parents=True, exist_ok=True)
    record = spawn(
        NATS, nats_server_command(settings.nats_port, state.nats_dir.resolve(), settings.host),
        settings.nats_port, state.pids_dir, state.logs_dir / "nats-server.log",
    )
    say(f"nats-server started (pid {record.pid}, {settings.effective_nats_url}, store {state.nats_dir})")
    return record


async def _ensure_streams(url: str, timeout: float, limits: StreamLimits) -> list[str]:
    """Create the streams, or fail within ``timeout`` with one line.

    One attempt per server, no reconnects (nats-py's ``max_reconnect_attempts=0`` means unlimited on the first
    connect) and no error callback (its default logs a traceback per attempt).
    """
    try:
        return await asyncio.wait_for(_connect_and_ensure(url, timeout, limits), timeout)
    except StreamSetupError as e:
        raise StreamsRefusedError(str(e)) from e
    except (OSError, TimeoutError, nats.errors.Error) as e:
        raise NatsUnreachableError(
            f"NATS at {url} did not answer within {timeout:g} s ({type(e).__name__}); check that it runs and"
            " TIPSML_NATS_URL (TIPSML_NATS_CONNECT_TIMEOUT_SECONDS sets the wait)"
        ) from e


async def _connect_and_ensure(url: str, timeout: float, limits: StreamLimits) -> list[str]:
    nc = await nats.connect(
        servers=url.split(","), connect_timeout=min(2.0, timeout), allow_reconnect=False, error_cb=_quiet
    )
    try:
        return await ensure_streams(nc.jetstream(), limits)
    finally:
        await nc.close()


def prepare_dirs(settings: StackSettings) -> None:
    """Create the local state folders every component expects."""
    state = settings.state
    for d in (state.root, state.pids_dir, state.logs_dir, state.event_log_dir, state.feast_dir,
              state.feature_tables_dir, state.mlflow_artifacts, state.prompts_dir, state.reports_dir):
        d.mkdir(parents=True, exist_ok=True)


def prepare_mlflow(settings: StackSettings) -> str:
    """Create (or migrate) the sqlite tracking + registry database; returns its URI."""
    import mlflow

    uri = settings.state.mlflow_uri
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    client.search_registered_models(max_results=1)
    return uri


def prepare_feast(settings: StackSettings) -> str:
    """Apply the feature repo to the local store (what ``feast apply`` does); returns the registry path."""
    from feature_repo.config import apply_definitions, open_store

    store = open_store(settings.state_dir)
    apply_definitions(store)
    return str(settings.state.feast_dir)


def start_consumers(settings: StackSettings, say: Step = _say) -> ProcessRecord | None:
    """Start ``python -m streams`` (both consumers) unless a recorded one is alive."""
    state = settings.state
    existing = read_record(state.pids_dir, CONSUMERS)
    if existing and pid_alive(existing.pid):
        say(f"consumers already running (pid {existing.pid}, metrics :{existing.port})")
        return existing
    port = free_port(settings.host)
    env = {
        "TIPSML_NATS_URL": settings.effective_nats_url,
        "TIPSML_STATE_DIR": str(state.root.resolve()),
        "TIPSML_METRICS_PORT": str(port),
        "TIPSML_METRICS_HOST": settings.host,
        "TIPSML_STREAM_MAX_BYTES": str(int(settings.stream_max_bytes)),
        "TIPSML_STREAM_MAX_AGE_HOURS": repr(settings.stream_max_age_hours),
    }
    record = spawn(CONSUMERS, [sys.executable, "-m", "streams"], port, state.pids_dir,
                   state.logs_dir / "consumers.log", env=env, ready_timeout=120.0)
    say(f"consumers started (pid {record.pid}, metrics http://{settings.host}:{port}/metrics)")
    return record


def up(settings: StackSettings, say: Step = _say) -> None:
    """Bring the local stack up; safe to run again."""
    prepare_dirs(settings)
    start_nats(settings, say)
    names = asyncio.run(
        _ensure_streams(settings.effective_nats_url, settings.nats_connect_timeout_seconds, settings.stream_limits)
    )
    say(f"streams ready: {', '.join(names)}")
    say(f"mlflow ready: {prepare_mlflow(settings)}")
    say(f"feast repo applied: {prepare_feast(settings)}")
    if settings.start_consumers:
        start_consumers(settings, say)


def down(settings: StackSettings, say: Step = _say) -> int:
    """Stop every process ``up`` recorded; returns how many were stopped."""
    records = list_records(settings.state.pids_dir)
    for rec in reversed(records):
        stop_record(settings.state.pids_dir, rec)
        say(f"stopped {rec.name} (pid {rec.pid})")
    return len(records)


def process_status(settings: StackSettings) -> list[tuple[ProcessRecord, bool]]:
    """Each recorded process and whether it is alive."""
    return [(r, pid_alive(r.pid)) for r in list_records(settings.state.pids_dir)]


async def _quiet(_: Exception) -> None:
    return None


async def _stream_counts(url: str) -> list[StreamCount]:
    parsed = urlparse(url)
    if not port_open(parsed.port or 4222, parsed.hostname or "127.0.0.1"):
        raise StackNotRunningError(f"cannot reach NATS at {url}: run `tipsml up` first")
    nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False, error_cb=_quiet)
    try:
        js = nc.jetstream()
        out = []
        for name in STREAM_SUBJECTS:
            try:
                info = await js.stream_info(name, subjects_filter=">")
            except NotFoundError:
                continue
            subjects = dict(sorted((info.state.subjects or {}).items()))
            out.append(StreamCount(name, info.state.messages, info.state.bytes, subjects))
        return out
    finally:
        await nc.drain()


def stream_counts(settings: StackSettings) -> list[StreamCount]:
    """Messages per stream and per subject."""
    return asyncio.run(_stream_counts(settings.effective_nats_url))
