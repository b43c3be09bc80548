"""The write path of one batch: offline event log, state database (tasks, activity, rewards), online store.

Order, so that a crash anywhere loses nothing and duplicates nothing:

1. drop events whose ``event_id`` was already applied;
2. write the event-log Parquet files as fsynced temporary files;
3. one SQLite transaction: event ids, task state, app-open counts, reward log, and the batch record
   (its files and the keys whose features changed) — the commit point;
4. rename the Parquet files to their final names;
5. push fresh feature values to the online store and mark the batch pushed.

Only then does the consumer ack. :meth:`BatchWriter.recover` finishes steps 4-5 of a batch interrupted by a
crash; the events of a batch interrupted before step 3 are redelivered and written again.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from streams import event_log
from streams.errors import RecoveryError, WriteError
from streams.event_log import LoggedEvent
from streams.online import batch_as_of, feature_frames, push_frames
from streams.settings import ConsumerSettings
from streams.state_store import StateStore

if TYPE_CHECKING:
    from feast import FeatureStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one batch did."""

    applied: int
    duplicates: int
    pushed_rows: int
    write_seconds: float
    push_seconds: float


class BatchWriter:
    """Makes batches durable; synchronous, one batch at a time (callers run it in a worker thread)."""

    def __init__(self, settings: ConsumerSettings, feature_store: FeatureStore | None) -> None:
        state = settings.state
        self.event_log_dir = state.event_log_dir.resolve()
        self.event_log_dir.mkdir(parents=True, exist_ok=True)
        self.state = StateStore(state.state_db, synchronous=settings.sqlite_synchronous)
        self.feature_store = feature_store

    def close(self) -> None:
        """Close the state database."""
        self.state.close()

    def recover(self) -> None:
        """Finish batches a crash interrupted (publish their files, redo their online push)."""
        try:
            published, deleted = event_log.recover(self.event_log_dir, self.state.committed_batches())
            pending = self.state.unpushed()
            for batch_id, affected in pending:
                if self.feature_store is not None:
                    push_frames(self.feature_store, feature_frames(self.state, affected, batch_as_of(None)))
                self.state.mark_pushed([batch_id])
        except Exception as e:
            raise RecoveryError(f"could not finish interrupted batches in {self.event_log_dir}: {e}") from e
        if published or deleted or pending:
            log.info(
                "recovered: %d event-log files published, %d discarded, %d batches re-pushed",
                published,
                deleted,
                len(pending),
            )

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
                return WriteResult(0, len(batch), 0, time.perf_counter() - started, 0.0)
            batch_id = uuid.uuid4().hex
            tmp = event_log.write_tmp(self.event_log_dir, batch_id, fresh)
            affected = self.state.apply(batch_id, [le.event for le in fresh], [str(p) for p in tmp])
            event_log.publish(tmp)
        except Exception as e:
            raise WriteError(f"batch of {len(batch)} events not written: {type(e).__name__}: {e}") from e
        written = time.perf_counter()
        pushed = 0
        if self.feature_store is not None:
            try:
                as_of = batch_as_of(max(le.event.occurred_at for le in fresh))
                pushed = push_frames(self.feature_store, feature_frames(self.state, affected, as_of))
            except Exception:
                # The batch is durable; recovery (next start) redoes the push. Don't redeliver for this.
                log.exception("online push failed for batch %s; it is retried at the next start", batch_id)
                return WriteResult(len(fresh), len(batch) - len(fresh), 0, written - started, 0.0)
        self.state.mark_pushed([batch_id])
        return WriteResult(
            len(fresh), len(batch) - len(fresh), pushed, written - started, time.perf_counter() - written
        )
