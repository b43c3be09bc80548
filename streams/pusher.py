"""The online pusher: a child process that pushes the feature values of committed batches to the online store.

It takes every committed batch not yet pushed, unions their keys (a user touched by ten batches is pushed
once), computes the values (:func:`streams.online.feature_rows`), pushes them with Feast and marks the
batches pushed. It runs off the ack path and in its own process (its own interpreter lock): the online
store's write speed then bounds how fresh values are under load, not how fast events are acknowledged, and
the two share the machine's cores instead of one core.

The consumer starts fetching only once the pusher is ready (:meth:`OnlinePusher.wait_ready`): importing Feast
costs ~7 s of CPU, and overlapping it with a backlog would have both processes fight for a small machine's
cores while events wait in JetStream anyway.

Crash safety comes from the state database: a batch stays ``pushed = 0`` until its values are written, so a
push interrupted by a crash (of either process) is redone by the next pusher. The child exits when its parent
disappears (even after ``kill -9``).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import signal
import time
import warnings
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from pathlib import Path

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25
MAX_BATCHES_PER_ROUND = 500
MIN_ROUND_SECONDS = 0.1
MAX_ROUND_SECONDS = 0.4
ROUND_SPACING = 3.0
"""Rounds start at most every ``ROUND_SPACING`` x the last round's duration, within [MIN, MAX]_ROUND_SECONDS.

Each round coalesces the batches committed since the last one, so a busy key is pushed once per round, not
once per batch. The longer rounds get (more load), the more batches the next one gathers: while the pusher
keeps up it takes at most about a third of a core and a committed value waits at most ``MAX_ROUND_SECONDS``
plus one round. When the machine is saturated (a backlog drains as fast as the consumer can ack), rounds grow
with the backlog, up to ``MAX_BATCHES_PER_ROUND`` batches: that coalescing is what keeps the push from
costing more per event than the consumer, at the price of values lagging the acks by seconds until the
backlog is gone (``bench/ingest_throughput.py`` prints that lag). An event after a quiet spell is pushed at
once.
"""


RETRY_BASE_SECONDS = 0.1
RETRY_MAX_SECONDS = 5.0
"""A failed push is retried after ``RETRY_BASE_SECONDS`` x 2^failures, at most ``RETRY_MAX_SECONDS``: a brief
online-store hiccup costs a fraction of a second, an outage does not spin a core."""


def retry_delay(failures: int) -> float:
    """Pause before the next push after ``failures`` failed rounds in a row."""
    return min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2.0**failures)


def round_interval(last_round_seconds: float) -> float:
    """Minimum time between the starts of two rounds, given how long the last one took."""
    return min(MAX_ROUND_SECONDS, max(MIN_ROUND_SECONDS, ROUND_SPACING * last_round_seconds))


@dataclass
class PushCounters:
    """Shared counters the parent turns into Prometheus metrics."""

    rows: Synchronized[int]
    batches: Synchronized[int]
    rounds: Synchronized[int]
    seconds: Synchronized[float]
    failures: Synchronized[int]


def _main(
    state_root: str,
    feast_config: str | None,
    synchronous: str,
    wake: Event,
    stopping: Event,
    ready: Event,
    parent: int,
    counters: PushCounters,
) -> None:
    from contracts.runtime import apply_offline_switches

    apply_offline_switches()
    # Signals go to the whole process group (Ctrl-C, `tipsml down`): the parent coordinates the shutdown, the
    # child finishes its round and leaves when told (or when the parent is gone).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s online-pusher: %(message)s")
    logging.getLogger("feast").setLevel(logging.WARNING)  # it logs every registry refresh at INFO
    warnings.filterwarnings("ignore", message="On demand feature view is an experimental feature")
    from feature_repo.config import open_configured_store
    from streams.online import OnlineWriter
    from streams.state_store import StateStore

    root = Path(state_root)
    store = open_configured_store(None if feast_config is None else Path(feast_config), root, apply_local=True)
    writer = OnlineWriter(store)
    state = StateStore(root / "state.db", synchronous=synchronous)
    ready.set()
    failures = 0
    last_round = 0.0
    interval = MIN_ROUND_SECONDS
    try:
        while True:
            wake.wait(POLL_SECONDS)
            wake.clear()
            if os.getppid() != parent:
                return
            final = stopping.is_set()  # read before the rounds, so a batch committed before stop() is pushed
            if not final:
                time.sleep(max(0.0, interval - (time.monotonic() - last_round)))
            while True:
                last_round = time.monotonic()
                more, ok = push_round(state, writer, counters)
                interval = round_interval(time.monotonic() - last_round)
                failures = 0 if ok else failures + 1
                if not ok:
                    time.sleep(retry_delay(failures))
                if not more or (stopping.is_set() and not ok):
                    break
            if final:
                return
    finally:
        state.close()


def push_round(state: object, writer: object, counters: PushCounters | None = None) -> tuple[bool, bool]:
    """Push one coalesced round; (maybe more to push, succeeded)."""
    from streams.online import OnlineWriter, batch_as_of, feature_rows
    from streams.state_store import Affected, StateStore

    assert isinstance(state, StateStore)
    pending = state.unpushed(MAX_BATCHES_PER_ROUND)
    if not pending:
        return False, True
    merged = Affected()
    for _, affected, _ in pending:
        merged.users |= affected.users
        merged.task_users |= affected.task_users
        merged.tips |= affected.tips
        merged.user_categories |= affected.user_categories
    as_of = state.next_push_stamp(batch_as_of(max(a for _, _, a in pending)))
    started = time.perf_counter()
    try:
        assert isinstance(writer, OnlineWriter)
        rows = writer.write(feature_rows(state, merged, as_of), as_of)
    except Exception:
        log.exception("online push of %d batches failed; retrying", len(pending))
        if counters is not None:
            with counters.failures.get_lock():
                counters.failures.value += 1
        return True, False
    state.mark_pushed([b for b, _, _ in pending])
    if counters is not None:
        for value, delta in ((counters.rows, rows), (counters.batches, len(pending)), (counters.rounds, 1)):
            with value.get_lock():
                value.value += delta
        with counters.seconds.get_lock():
            counters.seconds.value += time.perf_counter() - started
    return len(pending) == MAX_BATCHES_PER_ROUND, True


class OnlinePusher:
    """Starts, wakes and stops the pusher process."""

    def __init__(self, state_root: Path, *, feast_config: Path | None = None, synchronous: str = "FULL") -> None:
        ctx = mp.get_context("spawn")
        self._wake = ctx.Event()
        self._stopping = ctx.Event()
        self._ready = ctx.Event()
        self.counters = PushCounters(
            ctx.Value("q", 0), ctx.Value("q", 0), ctx.Value("q", 0), ctx.Value("d", 0.0), ctx.Value("q", 0)
        )
        self._proc = ctx.Process(
            target=_main,
            name="online-pusher",
            daemon=True,
            args=(
                str(state_root.resolve()),
                None if feast_config is None else str(feast_config.resolve()),
                synchronous,
                self._wake,
                self._stopping,
                self._ready,
                os.getpid(),
                self.counters,
            ),
        )

    def start(self) -> None:
        """Start the process (it first pushes whatever a previous run left unpushed)."""
        self._proc.start()

    def wait_ready(self, timeout: float) -> bool:
        """Block until the process has opened the online store; False if it died or ``timeout`` passed."""
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.2):
            if not self._proc.is_alive() or time.monotonic() > deadline:
                return False
        return True

    def notify(self) -> None:
        """A batch was committed: push soon."""
        self._wake.set()

    def stop(self, timeout: float = 120.0) -> None:
        """Push what is committed, then stop (killed after ``timeout``; the next run pushes the rest)."""
        self._stopping.set()
        self._wake.set()
        self._proc.join(timeout)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join(5)
