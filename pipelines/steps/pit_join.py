"""Point-in-time join of the ``tip_scoring`` service's batch views in DuckDB, then Feast's own transforms.

Feast's local (Dask) offline store joins every entity row with every row of the same key before
filtering by time, which for 130k impressions x 300 tips is tens of millions of rows and over 12 GB.
This does the same join as one ``ASOF LEFT JOIN`` per view (latest row at or before the entity's
timestamp, none if older than the view's TTL), with the views, keys, sources and TTLs read from the
Feast registry, then applies the service's on-demand views with ``OnDemandFeatureView.transform_arrow``,
the call Feast's retrieval job makes. A test holds it equal to ``get_historical_features``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from pipelines.errors import FeatureStoreError

ROW = "__row"


def _source_path(store: Any, view: Any) -> Path:
    path = Path(view.batch_source.path)
    return path if path.is_absolute() else Path(store.config.repo_path) / path


def asof_historical_features(store: Any, service_name: str, entity_df: pd.DataFrame, timestamp: str) -> pd.DataFrame:
    """``get_historical_features(entity_df, features=<service>)`` semantics, computed in DuckDB."""
    import duckdb
    import pyarrow as pa

    service = store.get_feature_service(service_name)
    odfvs = []
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone='UTC'")
        con.execute("SET enable_progress_bar=false")
        frame = entity_df.reset_index(drop=True).assign(**{ROW: range(len(entity_df))})
        con.register("entities", frame)
        current = "entities"
        for i, projection in enumerate(service.feature_view_projections):
            try:
                view = store.get_feature_view(projection.name)
            except Exception:  # noqa: BLE001 - not a batch view: an on-demand one
                odfvs.append(store.get_on_demand_feature_view(projection.name))
                continue
            keys = [c.name for c in view.entity_columns]
            ts = view.batch_source.timestamp_field
            names = [f.name for f in projection.features]
            ttl = int(view.ttl.total_seconds()) if view.ttl else 0
            fresh = f"f.__ts >= e.{timestamp} - INTERVAL {ttl} SECOND" if ttl else "TRUE"
            picked = ", ".join(f"CASE WHEN {fresh} THEN f.{n} END AS {n}" for n in names)
            on = " AND ".join(f"e.{k} = f.{k}" for k in keys)
            source = _source_path(store, view)
            con.execute(
                f"CREATE TEMP TABLE j{i} AS SELECT e.*, {picked} FROM {current} e "
                f"ASOF LEFT JOIN (SELECT {', '.join(keys)}, {ts} AS __ts, {', '.join(names)} "
                f"FROM read_parquet('{source}')) f ON {on} AND e.{timestamp} >= f.__ts"
            )
            current = f"j{i}"
        table = con.sql(f"SELECT * EXCLUDE ({ROW}) FROM {current} ORDER BY {ROW}").arrow()
    except duckdb.Error as e:
        raise FeatureStoreError(f"point-in-time join for {service_name} failed: {e}") from e
    finally:
        con.close()
    if isinstance(table, pa.RecordBatchReader):
        table = table.read_all()
    for odfv in odfvs:
        transformed = odfv.transform_arrow(table, False)
        for name in transformed.column_names:
            if not name.startswith("__index") and name not in table.column_names:
                table = table.append_column(name, transformed[name])
    out: pd.DataFrame = table.to_pandas()
    return out
