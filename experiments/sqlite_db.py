"""SQLite helpers both state databases use: connection, transaction, timestamps, chunked ``IN`` lists.

No table's SQL lives here; the reward tables' is in :mod:`experiments.reward_log`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, TypeVar, overload

IN_CHUNK: Final = 500
"""Keys per ``IN (...)`` list: SQLite caps the parameters of one statement."""
_T = TypeVar("_T")

@overload
def to_ts(dt: datetime) -> float: ...
@overload
def to_ts(dt: None) -> None: ...
def to_ts(dt: datetime | None) -> float | None:
    """Stored form of a timestamp (epoch seconds), None kept."""
    return None if dt is None else dt.timestamp()


def from_ts(ts: float | None) -> datetime | None:
    """Inverse of :func:`to_ts` (UTC)."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC)


def chunked(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """``items`` in slices of at most :data:`IN_CHUNK`, one ``IN`` list each."""
    for i in range(0, len(items), IN_CHUNK):
        yield items[i : i + IN_CHUNK]


def marks(n: int) -> str:
    """``?,?,...``: the placeholders of an ``IN`` list of ``n`` keys."""
    return ",".join("?" * n)


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error) on a connection in autocommit mode."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def connect(path: Path, *, synchronous: str = "FULL") -> sqlite3.Connection:
    """Open (creating) the state database in WAL mode; usable from any one thread at a time."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=10.0, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=10000")
    return conn
