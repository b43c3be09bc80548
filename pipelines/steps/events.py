"""Read the offline event log into one time-ordered frame, with DuckDB.

Accepted layouts: the ingestion log (Parquet files partitioned by date under a directory, the envelope as
columns and the original JSON in ``payload``, whose fields are extracted here) or the simulator's
``events.jsonl`` (a file, or a directory holding one). Every event type shares one wide frame:
the envelope plus each type's fields, NULL where a type lacks them. Duplicates of an ``event_id`` keep
their first occurrence, as the consumers apply them once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pandas as pd

from pipelines.errors import NoDataError

COLUMNS: Final[dict[str, str]] = {
    "event_id": "VARCHAR",
    "type": "VARCHAR",
    "occurred_at": "TIMESTAMPTZ",
    "user_id": "VARCHAR",
    "task_id": "VARCHAR",
    "status": "VARCHAR",
    "priority": "VARCHAR",
    "category": "VARCHAR",
    "due_at": "TIMESTAMPTZ",
    "on_time": "BOOLEAN",
    "platform": "VARCHAR",
    "tz_offset_minutes": "INTEGER",
    "request_id": "VARCHAR",
    "tip_id": "VARCHAR",
    "reaction": "VARCHAR",
    "model_version": "VARCHAR",
    "prompt_version": "VARCHAR",
    "propensity": "DOUBLE",
    "position": "INTEGER",
    "profile_features": "VARCHAR",
}
"""What training reads. Titles are deliberately absent: personal data the model has no use for.
``profile_features`` (a ``tip_shown``'s snapshot of the recommender's values) stays JSON text."""


def _source_sql(path: Path) -> tuple[str, set[str]]:
    """A DuckDB table expression over the log, and the columns it has."""
    import duckdb

    if path.is_file() and path.suffix in (".jsonl", ".json", ".gz"):
        cols = ", ".join(f"'{k}': '{v}'" for k, v in COLUMNS.items())
        return f"read_json('{path}', format='newline_delimited', columns={{{cols}}})", set(COLUMNS)
    if path.is_dir():
        jsonl = sorted(path.glob("*.jsonl")) + sorted(path.glob("*.jsonl.gz"))
        if jsonl and not any(path.rglob("*.parquet")):
            return _source_sql(jsonl[0])
        if any(path.rglob("*.parquet")):
            expr = f"read_parquet('{path}/**/*.parquet', hive_partitioning=true, union_by_name=true)"
            have = {str(r[0]) for r in duckdb.execute(f"DESCRIBE SELECT * FROM {expr}").fetchall()}
            return expr, have
    raise NoDataError(f"no event log at {path} (expected Parquet files or events.jsonl)")


def _column(name: str, sql_type: str, have: set[str]) -> str:
    if name in have:
        return f"CAST({name} AS {sql_type})"
    if "payload" in have:
        return f"CAST(json_extract_string(payload, '$.{name}') AS {sql_type})"
    return f"CAST(NULL AS {sql_type})"


def load_events(path: str | Path, types: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Every event (or those of ``types``) ordered by time, one column per field in :data:`COLUMNS`."""
    import duckdb

    source, have = _source_sql(Path(path))
    select = ", ".join(f"{_column(k, v, have)} AS {k}" for k, v in COLUMNS.items())
    where = ""
    if types:
        where = "WHERE type IN (" + ", ".join(f"'{t}'" for t in types) + ")"
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone='UTC'")
        con.execute("SET enable_progress_bar=false")
        frame: pd.DataFrame = con.sql(
            f"SELECT {select} FROM {source} {where} "
            "QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY occurred_at) = 1 "
            "ORDER BY occurred_at, event_id"
        ).df()
    finally:
        con.close()
    if frame.empty:
        raise NoDataError(f"event log at {path} holds no events")
    frame["occurred_at"] = pd.to_datetime(frame["occurred_at"], utc=True)
    frame["due_at"] = pd.to_datetime(frame["due_at"], utc=True)
    return frame
