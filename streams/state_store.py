"""The consumers' SQLite state: applied event ids, task state, app-open counts, the reward log, batches.

One file (``LocalState.state_db``, WAL) and one transaction per batch, so a batch is applied entirely or not
at all. Task state is folded with :func:`feature_repo.features.tasks.apply_task_event`, the very rule the batch
replay uses. The ``batches`` table makes the Parquet event log and the online push exactly-once across
crashes (see :mod:`streams.writer`). ``ingested_events`` records when each id was applied, so ids older than
the retention can be forgotten (:meth:`StateStore.prune_applied_ids`). The reward tables in the same file are
read and written only through :mod:`experiments.reward_log`, which also lends its SQLite helpers here.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final

from contracts.enums import TaskCategory, TaskPriority, TaskStatus
from contracts.events import AppOpened, EventBase, TaskCompleted, TaskSynced, TipReaction, TipShown
from experiments import reward_log
from experiments.reward_log import RewardTally, new_event_ids, write_events
from experiments.sqlite_db import chunked, connect, from_ts, marks, to_ts, transaction
from feature_repo.features.records import OpenCount, ShownTip, TaskRecord, local_hour, utc_day
from feature_repo.features.tasks import apply_task_event

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS ingested_events (event_id TEXT PRIMARY KEY, applied_at REAL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY, files TEXT NOT NULL, affected TEXT NOT NULL, as_of REAL NOT NULL,
    pushed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS batches_unpushed ON batches (pushed) WHERE pushed = 0;
CREATE TABLE IF NOT EXISTS tasks (
    user_id TEXT NOT NULL, task_id TEXT NOT NULL, category TEXT NOT NULL, status TEXT NOT NULL,
    priority TEXT NOT NULL, first_seen_at REAL NOT NULL, updated_at REAL NOT NULL, completed_at REAL,
    title TEXT, due_at REAL, synced_at REAL,
    PRIMARY KEY (user_id, task_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS open_counts (
    user_id TEXT NOT NULL, day TEXT NOT NULL, local_hour INTEGER NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (user_id, day, local_hour)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS push_clock (id INTEGER PRIMARY KEY CHECK (id = 0), stamp_us INTEGER NOT NULL);
"""
_APPLIED_AT_INDEX: Final = (
    "CREATE INDEX IF NOT EXISTS ingested_events_applied_at ON ingested_events (applied_at)"
)
_PRUNE_CHUNK: Final = 50_000
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


@dataclass
class Affected:
    """Entity keys whose feature values a batch changed."""

    users: set[str] = field(default_factory=set)
    task_users: set[str] = field(default_factory=set)
    tips: set[str] = field(default_factory=set)
    user_categories: set[tuple[str, str]] = field(default_factory=set)
    user_tips: set[tuple[str, str]] = field(default_factory=set)
    """(user, tip) pairs shown in the batch: their repeat-exposure values changed."""

    def to_json(self) -> str:
        """Serialize (stored with the batch so an interrupted push can be redone)."""
        return json.dumps(
            {
                "users": sorted(self.users),
                "task_users": sorted(self.task_users),
                "tips": sorted(self.tips),
                "user_categories": sorted(self.user_categories),
                "user_tips": sorted(self.user_tips),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Affected:
        """Inverse of :meth:`to_json`."""
        d = json.loads(text)
        return cls(
            set(d["users"]),
            set(d["task_users"]),
            set(d["tips"]),
            {(u, c) for u, c in d["user_categories"]},
            {(u, t) for u, t in d.get("user_tips", [])},  # absent in batches stored before the field existed
        )


class StateStore:
    """SQLite state of the consumers; used from one writer thread at a time."""

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        self.conn = connect(path, synchronous=synchronous)
        self.conn.executescript(SCHEMA)
        self._add_applied_at()
        reward_log.ensure_schema(self.conn)

    def _add_applied_at(self) -> None:
        """Give databases from before pruning an ``applied_at`` column (old ids count as applied now)."""
        columns = {r[1] for r in self.conn.execute("PRAGMA table_info(ingested_events)")}
        if "applied_at" not in columns:
            with self.transaction() as conn:
                conn.execute("ALTER TABLE ingested_events ADD COLUMN applied_at REAL")
                conn.execute("UPDATE ingested_events SET applied_at = ?", (time.time(),))
        self.conn.execute(_APPLIED_AT_INDEX)

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error)."""
        with transaction(self.conn) as conn:
            yield conn

    def unseen(self, events: Sequence[EventBase]) -> list[EventBase]:
        """Events whose id was never applied, first occurrence within the batch only."""
        unique: dict[str, EventBase] = {}
        for ev in events:
            unique.setdefault(ev.event_id, ev)
        fresh = new_event_ids(self.conn, "ingested_events", list(unique))
        return [ev for eid, ev in unique.items() if eid in fresh]

    def apply(self, batch_id: str, events: Sequence[EventBase], files: Sequence[str], as_of: datetime,
              tally: RewardTally | None = None) -> Affected:
        """Apply new events and record the batch, in one transaction; returns the keys to push.

        ``as_of`` is the batch clock the online values are computed at (see :func:`streams.online.batch_as_of`);
        impressions and positive reactions the batch joined are added to ``tally``.
        """
        affected = Affected()
        with self.transaction() as conn:
            now = time.time()
            conn.executemany(
                "INSERT INTO ingested_events (event_id, applied_at) VALUES (?, ?)", [(e.event_id, now) for e in events]
            )
            task_events = [e for e in events if isinstance(e, TaskSynced | TaskCompleted)]
            self._apply_tasks(conn, task_events)
            opens: Counter[tuple[str, str, int]] = Counter(
                (e.user_id, utc_day(e.occurred_at).isoformat(), local_hour(e))
                for e in events
                if isinstance(e, AppOpened)
            )
            conn.executemany(
                "INSERT INTO open_counts (user_id, day, local_hour, n) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (user_id, day, local_hour) DO UPDATE SET n = n + excluded.n",
                [(u, d, h, n) for (u, d, h), n in opens.items()],
            )
            tip_events = [e for e in events if isinstance(e, TipShown | TipReaction)]
            write_events(conn, tip_events, tally)
            for e in events:
                affected.users.add(e.user_id)
            for te in task_events:
                affected.task_users.add(te.user_id)
                if isinstance(te, TaskCompleted) or te.status is TaskStatus.DONE:
                    affected.user_categories.add((te.user_id, te.category.value))
            affected.tips.update(e.tip_id for e in tip_events)
            affected.user_categories.update(
                (e.user_id, e.category.value) for e in tip_events if isinstance(e, TipShown)
            )
            affected.user_tips.update((e.user_id, e.tip_id) for e in tip_events if isinstance(e, TipShown))
            reactions = [(e.request_id, e.tip_id) for e in tip_events if isinstance(e, TipReaction)]
            affected.user_categories.update(reward_log.categories_of(conn, reactions))
            conn.execute(
                "INSERT INTO batches (batch_id, files, affected, as_of) VALUES (?, ?, ?, ?)",
                (batch_id, json.dumps(list(files)), affected.to_json(), as_of.timestamp()),
            )
        return affected

    def _apply_tasks(self, conn: sqlite3.Connection, events: Sequence[TaskSynced | TaskCompleted]) -> None:
        if not events:
            return
        keys = sorted({(e.user_id, e.task_id) for e in events})
        current: dict[tuple[str, str], TaskRecord] = {}
        for chunk in chunked(keys):
            pairs = ",".join("(?, ?)" for _ in chunk)
            source = (  # a join, so each key is a primary-key lookup (a row-value IN would scan the table)
                f"(VALUES {pairs}) AS k CROSS JOIN tasks AS t ON t.user_id = k.column1 AND t.task_id = k.column2"
            )
            flat = [v for key in chunk for v in key]
            for user_id, rec in self._task_rows(conn, source, flat):
                current[(user_id, rec.task_id)] = rec
        changed: dict[tuple[str, str], TaskRecord] = {}
        for ev in sorted(events, key=lambda e: e.occurred_at):
            key = (ev.user_id, ev.task_id)
            new = apply_task_event(current.get(key), ev)
            if new is not None:
                current[key] = changed[key] = new
        conn.executemany(
            "INSERT OR REPLACE INTO tasks (user_id, task_id, category, status, priority, first_seen_at,"
            " updated_at, completed_at, title, due_at, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    u,
                    r.task_id,
                    r.category.value,
                    r.status.value,
                    r.priority.value,
                    to_ts(r.first_seen_at),
                    to_ts(r.updated_at),
                    to_ts(r.completed_at),
                    r.title,
                    to_ts(r.due_at),
                    to_ts(r.synced_at),
                )
                for (u, _), r in changed.items()
            ],
        )

    # --- readers (feature inputs) ---------------------------------------------------------------------------

    @staticmethod
    def _task_rows(conn: sqlite3.Connection, source: str, params: Sequence[object]) -> Iterator[tuple[str, TaskRecord]]:
        for r in conn.execute(
            "SELECT t.user_id, t.task_id, t.category, t.status, t.priority, t.first_seen_at, t.updated_at,"
            f" t.completed_at, t.title, t.due_at, t.synced_at FROM {source}",
            params,
        ):
            first, updated = from_ts(r[5]), from_ts(r[6])
            assert first is not None and updated is not None
            yield r[0], TaskRecord(
                task_id=r[1],
                category=TaskCategory(r[2]),
                status=TaskStatus(r[3]),
                priority=TaskPriority(r[4]),
                first_seen_at=first,
                updated_at=updated,
                completed_at=from_ts(r[7]),
                title=r[8],
                due_at=from_ts(r[9]),
                synced_at=from_ts(r[10]),
            )

    def _load_tasks(self, conn: sqlite3.Connection, users: Iterable[str]) -> dict[str, list[TaskRecord]]:
        out: dict[str, list[TaskRecord]] = defaultdict(list)
        for chunk in chunked(sorted(users)):
            source = f"tasks AS t WHERE t.user_id IN ({marks(len(chunk))})"
            for user_id, rec in self._task_rows(conn, source, chunk):
                out[user_id].append(rec)
        return out

    def tasks(self, users: Iterable[str]) -> dict[str, list[TaskRecord]]:
        """Task records per user."""
        return self._load_tasks(self.conn, users)

    def opens(self, users: Iterable[str], since: date) -> dict[str, list[OpenCount]]:
        """App-open counts per user from ``since`` on."""
        out: dict[str, list[OpenCount]] = defaultdict(list)
        for chunk in chunked(sorted(users)):
            for r in self.conn.execute(
                f"SELECT user_id, day, local_hour, n FROM open_counts WHERE user_id IN ({marks(len(chunk))})"
                " AND day >= ?",
                [*chunk, since.isoformat()],
            ):
                out[r[0]].append(OpenCount(date.fromisoformat(r[1]), r[2], r[3]))
        return out

    def shown(self, users: Iterable[str], since: datetime) -> dict[str, list[ShownTip]]:
        """Shown tips per user from ``since`` on (impressions only, reactions folded in)."""
        out: dict[str, list[ShownTip]] = defaultdict(list)
        for user_id, tip_id, category, shown_at, positive in reward_log.shown_since(self.conn, users, since):
            out[user_id].append(ShownTip(tip_id, TaskCategory(category), shown_at, positive))
        return out

    def tip_counts(self, tips: Iterable[str]) -> dict[str, tuple[int, int, str | None]]:
        """(impressions, positives, category) per tip, all time."""
        return reward_log.tip_counts(self.conn, tips)

    def affinity_counts(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, int]]:
        """(impressions, positives) per (user, category), all time."""
        return reward_log.affinity_counts(self.conn, pairs)

    # --- batches (exactly-once bookkeeping) -----------------------------------------------------------------

    def committed_batches(self) -> dict[str, list[str]]:
        """Batch id -> event-log files of every committed batch."""
        return {r[0]: json.loads(r[1]) for r in self.conn.execute("SELECT batch_id, files FROM batches")}

    def unpushed(self, limit: int = 1000) -> list[tuple[str, Affected, datetime]]:
        """Committed batches whose feature values are not yet in the online store, oldest first."""
        rows = self.conn.execute(
            "SELECT batch_id, affected, as_of FROM batches WHERE pushed = 0 ORDER BY rowid LIMIT ?", (limit,)
        ).fetchall()
        return [(r[0], Affected.from_json(r[1]), datetime.fromtimestamp(r[2], UTC)) for r in rows]

    def count_unpushed(self) -> int:
        """How many committed batches wait for the online push."""
        return int(self.conn.execute("SELECT COUNT(*) FROM batches WHERE pushed = 0").fetchone()[0])

    def mark_pushed(self, batch_ids: Sequence[str]) -> None:
        """Record that these batches' feature values reached the online store."""
        with self.transaction() as conn:
            conn.executemany(
                "UPDATE batches SET pushed = 1, affected = '' WHERE batch_id = ?", [(b,) for b in batch_ids]
            )

    def next_push_stamp(self, as_of: datetime) -> datetime:
        """The event time to stamp the next online push with, recorded before the push is written.

        ``as_of``, unless an earlier push was stamped at or after it: then one microsecond after that one.
        The Redis online store keeps a row only if its event time is newer than the stored one, and the two
        streams are consumed independently, so a round can carry an earlier event time than one already
        pushed (one stream lagging the other, or a replay). Its values include everything consumed so far,
        and without a strictly increasing stamp Redis would drop them and keep the older ones. Recorded
        first, so a push redone after a crash is stamped after anything the interrupted one wrote.
        """
        with self.transaction() as conn:
            row = conn.execute("SELECT stamp_us FROM push_clock WHERE id = 0").fetchone()
            wanted = (as_of - _EPOCH) // _MICROSECOND
            stamp_us = wanted if row is None or wanted > row[0] else row[0] + 1
            conn.execute("INSERT OR REPLACE INTO push_clock (id, stamp_us) VALUES (0, ?)", (stamp_us,))
        return _EPOCH + stamp_us * _MICROSECOND

    def prune_applied_ids(self, before: datetime) -> int:
        """Forget the ids of events applied before ``before``; returns how many (deleted in chunks).

        Each chunk is its own short transaction, so a large first prune never holds up a batch for long.
        """
        total = 0
        while True:
            with self.transaction() as conn:
                n = conn.execute(
                    "DELETE FROM ingested_events WHERE event_id IN"
                    " (SELECT event_id FROM ingested_events WHERE applied_at < ? LIMIT ?)",
                    (before.timestamp(), _PRUNE_CHUNK),
                ).rowcount
            total += n
            if n < _PRUNE_CHUNK:
                return total

    def count_ingested(self) -> int:
        """How many distinct events were applied."""
        return int(self.conn.execute("SELECT COUNT(*) FROM ingested_events").fetchone()[0])
