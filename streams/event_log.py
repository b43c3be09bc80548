"""The offline event log: every valid event, as Parquet partitioned by UTC date, for training to read.

Layout: ``<event_log_dir>/date=YYYY-MM-DD/part-<batch_id>.parquet`` (Hive partitioning; readers such as
``pyarrow.dataset`` or DuckDB skip the dot-files of unfinished batches). Columns: ``event_id``, ``type``,
``user_id``, ``occurred_at`` (timestamp, UTC), ``subject``, ``stream_seq``, ``ingested_at`` and ``payload``
(the original JSON, so new optional fields survive until a model reads them; parse it with
``contracts.events.parse_event``).

Exactly once across crashes: a batch is written to ``.part-<batch_id>.parquet.tmp`` and fsynced, the state
database commits the batch, then the file is renamed. At start-up :func:`recover` renames the temporary
files of committed batches and deletes the others (their events are redelivered and written again).
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.parquet as pq

from contracts.events import EventBase

SCHEMA: Final = pa.schema(
    [
        ("event_id", pa.string()),
        ("type", pa.string()),
        ("user_id", pa.string()),
        ("occurred_at", pa.timestamp("us", tz="UTC")),
        ("subject", pa.string()),
        ("stream_seq", pa.int64()),
        ("ingested_at", pa.timestamp("us", tz="UTC")),
        ("payload", pa.string()),
    ]
)
TMP_PREFIX: Final = ".part-"
TMP_SUFFIX: Final = ".parquet.tmp"


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """A validated event with where it came from and its original bytes."""

    event: EventBase
    subject: str
    stream_seq: int
    raw: bytes


def final_name(tmp: Path) -> Path:
    """``.part-<id>.parquet.tmp`` -> ``part-<id>.parquet``."""
    return tmp.with_name(tmp.name[1 : -len(".tmp")])


def write_tmp(root: Path, batch_id: str, events: Sequence[LoggedEvent]) -> list[Path]:
    """Write one temporary, fsynced Parquet file per date partition; returns their paths."""
    by_day: dict[str, list[LoggedEvent]] = defaultdict(list)
    for le in events:
        by_day[le.event.occurred_at.astimezone(UTC).date().isoformat()].append(le)
    now = datetime.now(UTC)
    paths: list[Path] = []
    try:
        _write_days(root, batch_id, by_day, now, paths)
    except BaseException:
        discard(paths)
        raise
    return paths


def _write_days(
    root: Path, batch_id: str, by_day: Mapping[str, Sequence[LoggedEvent]], now: datetime, paths: list[Path]
) -> None:
    for day, rows in sorted(by_day.items()):
        part = root / f"date={day}"
        part.mkdir(parents=True, exist_ok=True)
        table = pa.table(
            {
                "event_id": [r.event.event_id for r in rows],
                "type": [str(getattr(r.event, "type")) for r in rows],  # noqa: B009 - every event has a type
                "user_id": [r.event.user_id for r in rows],
                "occurred_at": [r.event.occurred_at for r in rows],
                "subject": [r.subject for r in rows],
                "stream_seq": [r.stream_seq for r in rows],
                "ingested_at": [now] * len(rows),
                "payload": [r.raw.decode() for r in rows],
            },
            schema=SCHEMA,
        )
        path = part / f"{TMP_PREFIX}{batch_id}{TMP_SUFFIX}"
        paths.append(path)
        with open(path, "wb") as f:
            pq.write_table(table, f, compression="zstd")
            f.flush()
            os.fsync(f.fileno())


def publish(paths: Sequence[Path]) -> None:
    """Rename temporary files to their final names (atomic per file) and sync the directories."""
    for tmp in paths:
        if tmp.exists():
            os.replace(tmp, final_name(tmp))
    for d in {p.parent for p in paths}:
        fd = os.open(d, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def discard(paths: Sequence[Path]) -> None:
    """Delete the temporary files of a batch that was not committed (its events are retried)."""
    for tmp in paths:
        tmp.unlink(missing_ok=True)


def recover(root: Path, committed: Mapping[str, Sequence[str]]) -> tuple[int, int]:
    """Finish interrupted batches: publish files of committed ones, delete the rest; (published, deleted)."""
    committed_files = {f for files in committed.values() for f in files}
    published = deleted = 0
    for tmp in root.glob(f"date=*/{TMP_PREFIX}*{TMP_SUFFIX}"):
        if str(tmp) in committed_files:
            publish([tmp])
            published += 1
        else:
            tmp.unlink()
            deleted += 1
    return published, deleted


def read_event_log(root: Path) -> pa.Table:
    """The whole log as one table (tests, small tools); training should read partitions lazily."""
    files = sorted(root.glob("date=*/part-*.parquet"))
    if not files:
        return SCHEMA.empty_table()
    return pa.concat_tables([pq.read_table(f, schema=SCHEMA) for f in files])
