"""The reward log: every shown tip keyed by ``(request_id, tip_id)``, with the reaction it got.

One SQLite file (WAL, so the consumer writes while bandits, the canary gate and reports read) holds it; on
the local stack that is ``LocalState().state_db``, shared with the consumers' task state. The API is
synchronous: async callers wrap it with ``asyncio.to_thread``.

Write rules, chosen so that redelivery and out-of-order arrival cannot change the result:

* ``tip_shown`` upserts the row; its model version, prompt version and propensity are authoritative.
* ``tip_reaction`` attaches to the row (creating a placeholder if the reaction arrives first); the latest
  reaction by ``reacted_at`` wins.
* Each event id is applied once (``reward_events``), however often it is delivered.
* Each row is tallied (:class:`RewardTally`, the consumers' Prometheus counters) at most once as shown, when
  its ``tip_shown`` first arrives, and at most once as positive, when it first holds both its ``tip_shown`` and
  a positive reaction (in either order); the ``shown_counted`` / ``positive_counted`` flags remember it.

Readers only see rows whose ``tip_shown`` has arrived: a reaction without its impression has no propensity
and cannot be attributed.

Every query of the reward tables lives here, the consumers' feature reads included (:func:`shown_since`,
:func:`tip_counts`, :func:`affinity_counts`), so what counts as a positive reaction is decided once, from
:attr:`contracts.enums.Reaction.is_positive`. The SQLite helpers both state databases use are in
:mod:`experiments.sqlite_db`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final, Literal

from contracts.enums import Reaction
from contracts.events import TipReaction, TipShown
from contracts.rewards import RewardAggregate, RewardRecord
from experiments.config import NEW_USER_DAYS, UNKNOWN_SEGMENT, SegmentBy
from experiments.sqlite_db import chunked, connect, from_ts, marks, to_ts, transaction

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS reward_log (
    request_id     TEXT NOT NULL,
    tip_id         TEXT NOT NULL,
    user_id        TEXT NOT NULL,
    category       TEXT,
    model_version  TEXT,
    prompt_version TEXT,
    propensity     REAL,
    shown_at       REAL,
    reaction       TEXT,
    reacted_at     REAL,
    profile_features TEXT,
    platform       TEXT,
    shown_counted  INTEGER,
    positive_counted INTEGER,
    PRIMARY KEY (request_id, tip_id)
);
CREATE INDEX IF NOT EXISTS reward_log_shown_at ON reward_log (shown_at);
CREATE INDEX IF NOT EXISTS reward_log_user ON reward_log (user_id, shown_at);
CREATE INDEX IF NOT EXISTS reward_log_tip ON reward_log (tip_id);
CREATE TABLE IF NOT EXISTS reward_events (event_id TEXT PRIMARY KEY) WITHOUT ROWID;
"""

_UPSERT_SHOWN: Final = """
INSERT INTO reward_log (request_id, tip_id, user_id, category, model_version, prompt_version, propensity,
                        shown_at, profile_features, platform)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (request_id, tip_id) DO UPDATE SET
    user_id = excluded.user_id, category = excluded.category, model_version = excluded.model_version,
    prompt_version = excluded.prompt_version, propensity = excluded.propensity, shown_at = excluded.shown_at,
    profile_features = excluded.profile_features, platform = excluded.platform
"""

_UPSERT_REACTION: Final = """
INSERT INTO reward_log (request_id, tip_id, user_id, model_version, prompt_version, reaction, reacted_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (request_id, tip_id) DO UPDATE SET
    reaction = excluded.reaction, reacted_at = excluded.reacted_at
WHERE reward_log.reacted_at IS NULL OR excluded.reacted_at >= reward_log.reacted_at
"""

_COLUMNS: Final = (
    "request_id, user_id, tip_id, category, model_version, prompt_version, propensity, shown_at,"
    " reaction, reacted_at"
)
POSITIVE_REACTIONS: Final = tuple(r.value for r in Reaction if r.is_positive)
_POSITIVE_SQL: Final = "reaction IN ({})".format(", ".join(f"'{r}'" for r in POSITIVE_REACTIONS))
"""True for a positive reaction, in SQL (values of our own enum, so quoting them inline is safe)."""
Bucket = Literal["prompt_version", "model_version"]


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the reward tables if missing, and add columns newer than an existing table (idempotent).

    Rows from before the tally flags count as tallied already: only what happens from now on is counted.
    """
    conn.executescript(SCHEMA)
    have = {r[1] for r in conn.execute("PRAGMA table_info(reward_log)")}
    for column in ("profile_features", "platform"):
        if column not in have:
            conn.execute(f"ALTER TABLE reward_log ADD COLUMN {column} TEXT")
    for column, already in (("shown_counted", "shown_at IS NOT NULL"),
                            ("positive_counted", f"shown_at IS NOT NULL AND {_POSITIVE_SQL}")):
        if column not in have:
            conn.execute(f"ALTER TABLE reward_log ADD COLUMN {column} INTEGER")
            conn.execute(f"UPDATE reward_log SET {column} = 1 WHERE {already}")


VersionKey = tuple[str, str]
"""(model_version, prompt_version); a tip no prompt wrote has the prompt version ``""`` (no label value)."""


@dataclass
class RewardTally:
    """Impressions and positive reactions newly joined by one write, per (model version, prompt version)."""

    shown: Counter[VersionKey] = field(default_factory=Counter)
    positive: Counter[VersionKey] = field(default_factory=Counter)


_TALLY_SHOWN: Final = (
    "UPDATE reward_log SET shown_counted = 1 WHERE request_id = ? AND tip_id = ?"
    " AND shown_at IS NOT NULL AND shown_counted IS NULL RETURNING model_version, prompt_version"
)
_TALLY_POSITIVE: Final = (
    "UPDATE reward_log SET positive_counted = 1 WHERE request_id = ? AND tip_id = ?"
    f" AND shown_at IS NOT NULL AND {_POSITIVE_SQL} AND positive_counted IS NULL"
    " RETURNING model_version, prompt_version"
)


def _tally(conn: sqlite3.Connection, keys: Iterable[tuple[str, str]], tally: RewardTally) -> None:
    """Mark and count the rows of ``keys`` that became shown, or joined-positive, with this write."""
    for key in keys:
        for sql, counter in ((_TALLY_SHOWN, tally.shown), (_TALLY_POSITIVE, tally.positive)):
            for model_version, prompt_version in conn.execute(sql, key).fetchall():
                counter[(model_version or "", prompt_version or "")] += 1


def _snapshot_text(ev: TipShown) -> str | None:
    """The impression's ``profile_features`` snapshot as compact JSON (None when the event had none)."""
    if ev.profile_features is None:
        return None
    return json.dumps(ev.profile_features.snapshot(), sort_keys=True, separators=(",", ":"))


def profile_snapshot(conn: sqlite3.Connection, request_id: str, tip_id: str) -> str | None:
    """The ``profile_features`` kept with one impression (JSON text), or None."""
    row = conn.execute(
        "SELECT profile_features FROM reward_log WHERE request_id = ? AND tip_id = ?", (request_id, tip_id)
    ).fetchone()
    return None if row is None else row[0]


def new_event_ids(conn: sqlite3.Connection, table: str, event_ids: Sequence[str]) -> set[str]:
    """Which of ``event_ids`` are not yet in ``table`` (a one-column ``event_id`` table)."""
    seen: set[str] = set()
    for chunk in chunked(event_ids):
        rows = conn.execute(f"SELECT event_id FROM {table} WHERE event_id IN ({marks(len(chunk))})", chunk)
        seen.update(r[0] for r in rows)
    return set(event_ids) - seen


def write_events(
    conn: sqlite3.Connection, events: Iterable[TipShown | TipReaction], tally: RewardTally | None = None
) -> int:
    """Apply reward events inside the caller's transaction; returns how many were new.

    The consumer calls this within the same transaction as its other state writes, so a batch is applied
    entirely or not at all; the rows it joined are added to ``tally`` (when given) in that transaction too.
    """
    unique: dict[str, TipShown | TipReaction] = {}
    for ev in events:
        unique.setdefault(ev.event_id, ev)
    if not unique:
        return 0
    fresh = new_event_ids(conn, "reward_events", list(unique))
    todo = [ev for eid, ev in unique.items() if eid in fresh]
    conn.executemany("INSERT INTO reward_events (event_id) VALUES (?)", [(ev.event_id,) for ev in todo])
    conn.executemany(_UPSERT_SHOWN, [
        (ev.request_id, ev.tip_id, ev.user_id, ev.category.value, ev.model_version, ev.prompt_version,
         ev.propensity, to_ts(ev.occurred_at), _snapshot_text(ev), ev.platform.value if ev.platform else None)
        for ev in todo if isinstance(ev, TipShown)
    ])
    conn.executemany(_UPSERT_REACTION, [
        (ev.request_id, ev.tip_id, ev.user_id, ev.model_version, ev.prompt_version, ev.reaction.value,
         to_ts(ev.occurred_at))
        for ev in todo if isinstance(ev, TipReaction)
    ])
    _tally(conn, dict.fromkeys((ev.request_id, ev.tip_id) for ev in todo), tally or RewardTally())
    return len(todo)


def categories_of(conn: sqlite3.Connection, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """(user_id, category) of the rows with these ``(request_id, tip_id)`` keys whose category is known."""
    out: set[tuple[str, str]] = set()
    for rid, tid in keys:
        row = conn.execute(
            "SELECT user_id, category FROM reward_log WHERE request_id = ? AND tip_id = ?", (rid, tid)
        ).fetchone()
        if row is not None and row[1] is not None:
            out.add((row[0], row[1]))
    return out


def shown_since(
    conn: sqlite3.Connection, users: Iterable[str], since: datetime
) -> Iterator[tuple[str, str, str, datetime, bool]]:
    """(user_id, tip_id, category, shown_at, positive) of every tip shown to ``users`` from ``since`` on."""
    for chunk in chunked(sorted(users)):
        for r in conn.execute(
            f"SELECT user_id, tip_id, category, shown_at, {_POSITIVE_SQL} FROM reward_log"
            f" WHERE user_id IN ({marks(len(chunk))}) AND shown_at >= ?",
            [*chunk, to_ts(since)],
        ):
            shown_at = from_ts(r[3])
            assert shown_at is not None
            yield r[0], r[1], r[2], shown_at, bool(r[4])


def tip_counts(conn: sqlite3.Connection, tips: Iterable[str]) -> dict[str, tuple[int, int, str | None]]:
    """(impressions, positives, category) per tip, all time."""
    out: dict[str, tuple[int, int, str | None]] = {}
    for chunk in chunked(sorted(tips)):
        for r in conn.execute(
            f"SELECT tip_id, COUNT(*), SUM({_POSITIVE_SQL}), MAX(category) FROM reward_log"
            f" WHERE tip_id IN ({marks(len(chunk))}) AND shown_at IS NOT NULL GROUP BY tip_id",
            chunk,
        ):
            out[r[0]] = (r[1], r[2] or 0, r[3])
    return out


def affinity_counts(
    conn: sqlite3.Connection, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, int]]:
    """(impressions, positives) per (user_id, category), all time."""
    wanted = set(pairs)
    out: dict[tuple[str, str], tuple[int, int]] = {}
    for chunk in chunked(sorted({u for u, _ in wanted})):
        for r in conn.execute(
            f"SELECT user_id, category, COUNT(*), SUM({_POSITIVE_SQL}) FROM reward_log"
            f" WHERE user_id IN ({marks(len(chunk))}) AND shown_at IS NOT NULL GROUP BY user_id, category",
            chunk,
        ):
            if (r[0], r[1]) in wanted:
                out[(r[0], r[1])] = (r[2], r[3] or 0)
    return out


def _shown_filter(
    since: datetime | None, until: datetime | None, model_version: str | None, prompt_version: str | None
) -> tuple[str, list[object]]:
    """``WHERE`` clause and arguments for shown tips in ``[since, until)``, optionally of one version each."""
    where = ["shown_at IS NOT NULL"]
    args: list[object] = []
    for op, bound in ((">=", since), ("<", until)):
        if bound is not None:
            where.append(f"shown_at {op} ?")
            args.append(to_ts(bound))
    for column, version in (("model_version", model_version), ("prompt_version", prompt_version)):
        if version is not None:
            where.append(f"{column} = ?")
            args.append(version)
    return " AND ".join(where), args


class RewardLog:
    """The reward log in one SQLite file; thread-safe (one connection behind a lock)."""

    def __init__(self, path: Path, *, synchronous: str = "FULL") -> None:
        self.path = path
        self._conn = connect(path, synchronous=synchronous)
        self._lock = threading.Lock()
        with self._lock:
            ensure_schema(self._conn)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> RewardLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, transaction(self._conn) as conn:
            yield conn

    def record(self, events: Iterable[TipShown | TipReaction]) -> int:
        """Apply ``tip_shown`` / ``tip_reaction`` events in one transaction; returns how many were new."""
        with self._transaction() as conn:
            return write_events(conn, events)

    def rewards_since(
        self,
        since: datetime,
        *,
        until: datetime | None = None,
        model_version: str | None = None,
        prompt_version: str | None = None,
        limit: int | None = None,
    ) -> list[RewardRecord]:
        """Shown tips with ``since <= shown_at < until``, oldest first, optionally for one version."""
        where, args = _shown_filter(since, until, model_version, prompt_version)
        sql = f"SELECT {_COLUMNS} FROM reward_log WHERE {where} ORDER BY shown_at, request_id, tip_id"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [
            RewardRecord(
                request_id=r[0], user_id=r[1], tip_id=r[2], category=r[3], model_version=r[4],
                prompt_version=r[5], propensity=r[6], shown_at=from_ts(r[7]), reaction=r[8], reacted_at=from_ts(r[9]),
            )
            for r in rows
        ]

    def aggregate(
        self,
        by: Bucket,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        model_version: str | None = None,
        prompt_version: str | None = None,
    ) -> list[RewardAggregate]:
        """Shown / positive / rate per ``prompt_version`` or ``model_version``, sorted by key (None first)."""
        if by not in ("prompt_version", "model_version"):
            raise ValueError(f"cannot bucket rewards by {by!r}")
        where, args = _shown_filter(since, until, model_version, prompt_version)
        sql = (
            f"SELECT {by}, COUNT(*), SUM({_POSITIVE_SQL}), SUM(reaction IS NOT NULL),"
            f" MIN(shown_at), MAX(shown_at) FROM reward_log WHERE {where}"
            f" GROUP BY {by} ORDER BY {by}"
        )
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [
            RewardAggregate(key=r[0], shown=r[1], positive=r[2] or 0, reacted=r[3] or 0,
                            first_shown_at=from_ts(r[4]), last_shown_at=from_ts(r[5]))
            for r in rows
        ]

    def by_prompt_version(
        self, *, since: datetime | None = None, until: datetime | None = None,
        model_version: str | None = None,
    ) -> list[RewardAggregate]:
        """Aggregates per prompt version (key None = catalogue tips), optionally within one model version."""
        return self.aggregate("prompt_version", since=since, until=until, model_version=model_version)

    def by_segment_and_prompt_version(
        self, segment_by: SegmentBy, *, since: datetime | None = None
    ) -> dict[str, list[RewardAggregate]]:
        """Aggregates per prompt version within each segment (:func:`experiments.config.segment_of`'s rule)."""
        tenure = "CAST(json_extract(profile_features, '$.tenure_days') AS INTEGER)"
        segment = {
            SegmentBy.PLATFORM: f"COALESCE(platform, '{UNKNOWN_SEGMENT}')",
            SegmentBy.TENURE: f"CASE WHEN {tenure} IS NULL THEN '{UNKNOWN_SEGMENT}'"
            f" WHEN {tenure} < {NEW_USER_DAYS} THEN 'new' ELSE 'tenured' END",
        }[segment_by]
        where, args = _shown_filter(since, None, None, None)
        sql = (
            f"SELECT {segment}, prompt_version, COUNT(*), SUM({_POSITIVE_SQL}), SUM(reaction IS NOT NULL),"
            f" MIN(shown_at), MAX(shown_at) FROM reward_log WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2"
        )
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        out: dict[str, list[RewardAggregate]] = {}
        for r in rows:
            out.setdefault(r[0], []).append(
                RewardAggregate(key=r[1], shown=r[2], positive=r[3] or 0, reacted=r[4] or 0,
                                first_shown_at=from_ts(r[5]), last_shown_at=from_ts(r[6]))
            )
        return out

    def by_model_version(
        self, *, since: datetime | None = None, until: datetime | None = None,
        prompt_version: str | None = None,
    ) -> list[RewardAggregate]:
        """Aggregates per model version, optionally within one prompt version."""
        return self.aggregate("model_version", since=since, until=until, prompt_version=prompt_version)
