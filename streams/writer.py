"""The durable write path of one batch: offline event log and state database (tasks, activity, rewards).

Order, so that a crash anywhere loses nothing and duplicates nothing:

1. drop events whose ``event_id`` was already applied;
2. write the event-log Parquet files as fsynced temporary files;
3. one SQLite transaction: event ids, task state, app-open counts, reward log, and the batch record
   (its files and the keys whose features changed) — the commit point;
4. rename the Parquet files to their final names.

Then the consumer acks, and :class:`streams.pusher.OnlinePusher` (another process) pushes the fresh feature
values of every committed batch to the online store, coalescing keys across batches, and marks them pushed.
After a commit, at most hourly, applied event ids older than ``applied_ids_retention_hours`` are forgotten
(see :class:`streams.settings.ConsumerSettings` for why that horizon is safe).
:meth:`BatchWriter.recover` finishes step 4 of a batch interrupted by a crash; the events of a batch
interrupted before step 3 are redelivered and written again; unpushed batches are pushed after a restart.
"""

from __future__ import annotations

import logging
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from experiments.reward_log import RewardTally
from streams import event_log
from streams.errors import RecoveryError, WriteError
from streams.event_log import LoggedEvent
from streams.online import batch_as_of
from streams.settings import ConsumerSettings
from streams.state_store import StateStore

log = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one batch did."""

    applied: int
    duplicates: int
    write_seconds: float
    rewards: RewardTally = field(default_factory=RewardTally)
    """Impressions and positive reactions this batch joined, counted once however often they arrive."""


class BatchWriter:
    """Makes batches durable; synchronous, one batch at a time (callers run it in a worker thread)."""

    def __init__(self, settings: ConsumerSettings, on_commit: Callable[[], None] | None = None) -> None:
        state = settings.state
        self.event_log_dir = state.event_log_dir.resolve()
        self.event_log_dir.mkdir(parents=True, exist_ok=True)
        self.state = StateStore(state.state_db, synchronous=settings.sqlite_synchronous)
        self.on_commit = on_commit
        self.applied_ids_retention = timedelta(hours=settings.applied_ids_retention_hours)
        self.next_prune = 0.0  # monotonic; the first batch prunes what a long-running store accumulated

    def prune(self) -> int:
        """Forget applied event ids older than the retention (see ``ConsumerSettings``); at most hourly."""
        if time.monotonic() < self.next_prune:
            return 0
        self.next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
        n = self.state.prune_applied_ids(datetime.now(UTC) - self.applied_ids_retention)
        if n:
            log.info("forgot %d applied event ids older than %s", n, self.applied_ids_retention)
        return n

    def close(self) -> None:
        """Close the state database."""
        self.state.close()

    def recover(self) -> None:
        """Finish batches a crash interrupted (publish their event-log files, discard uncommitted ones)."""
        try:
            published, deleted = event_log.recover(self.event_log_dir, self.state.committed_batches())
        except Exception as e:
            raise RecoveryError(f"could not finish interrupted batches in {self.event_log_dir}: {e}") from e
        if published or deleted:
            log.info("recovered: %d event-log files published, %d discarded", published, deleted)

    def write(self, batch: Sequence[LoggedEvent]) -> WriteResult:
        """Make a batch of valid events durable; raises :class:`WriteError` (nothing to ack) on failure."""
        started = time.perf_counter()
        try:
            fresh_ids = {e.event_id for e in self.state.unseen([le.event for le in batch])}
            fresh: list[LoggedEvent] = []
            for le in batch:
                if le.event.event_id in fresh_ids:
                    fresh.append(le)
                    fresh_ids.discard(le.event.event_id)
            if not fresh:
                return WriteResult(0, len(batch), time.perf_counter() - started)
            batch_id = uuid.uuid4().hex
            tally = RewardTally()
            tmp: list[Path] = []
            try:
                tmp = event_log.write_tmp(self.event_log_dir, batch_id, fresh)
                as_of = batch_as_of(max(le.event.occurred_at for le in fresh))
                self.state.apply(batch_id, [le.event for le in fresh], [str(p) for p in tmp], as_of, tally)
            except BaseException:  # not committed: its files would only wait for the next start-up's recovery
                event_log.discard(tmp)
                raise
            event_log.publish(tmp)
        except Exception as e:
            raise WriteError(f"batch of {len(batch)} events not written: {type(e).__name__}: {e}") from e
        if self.on_commit is not None:
            self.on_commit()
        try:
            self.prune()
        except sqlite3.Error as e:  # the batch is durable; pruning is retried with the next one
            self.next_prune = 0.0
            log.warning("pruning applied event ids failed: %s", e)
        return WriteResult(len(fresh), len(batch) - len(fresh), time.perf_counter() - started, tally)
