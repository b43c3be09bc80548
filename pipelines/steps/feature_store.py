"""Feast side of the pipeline: publish batch tables, retrieve point-in-time training features, materialize.

Training and serving both read the ``tip_scoring`` feature service, so the model's inputs come out of the
same on-demand transform (``feature_repo.features.scoring.scoring_inputs``) in both places.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Final

import pandas as pd

from contracts.profile import PROFILE_FEATURES, ProfileFeatures
from feature_repo.names import FEATURE_SERVICE, REQUEST_TIME_FIELD
from pipelines.errors import FeatureStoreError
from pipelines.steps.feature_tables import TIMESTAMP, FeatureTables
from pipelines.steps.pit_join import asof_historical_features

ENTITY_COLUMNS: Final = ("user_id", "tip_id", "category")
PROFILE_NAMES: Final = tuple(f.name for f in PROFILE_FEATURES)


def open_store(state_root: Path) -> Any:
    """The project's Feast store on ``state_root`` with every definition applied."""
    from feature_repo.config import apply_definitions
    from feature_repo.config import open_store as _open

    try:
        store = _open(state_root)
        apply_definitions(store)
    except Exception as e:  # noqa: BLE001 - Feast raises many unrelated types; all mean the same here
        raise FeatureStoreError(f"cannot open the feature store under {state_root}: {e}") from e
    return store


def write_tables(tables: FeatureTables, state_root: Path) -> dict[str, Path]:
    """Write each batch view's table where its Feast file source reads it."""
    from feature_repo.config import feature_table_path

    paths = {}
    for view, frame in tables.views().items():
        path = feature_table_path(state_root, view)
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(path, index=False)
        paths[view] = path
    return paths


def profile_values(snapshot: object) -> dict[str, Any]:
    """An impression's ``profile_features`` snapshot (JSON text, or None) as the values serving used.

    Parsed by the same contract model the scorer validates requests with, so a name either side does not
    know is dropped alike; an impression without a snapshot gets None everywhere, and ``scoring_inputs``
    then falls back to our own feature values, as serving does for any profile feature left out.
    """
    if not isinstance(snapshot, str) or not snapshot:
        return dict.fromkeys(PROFILE_NAMES)
    return ProfileFeatures.model_validate_json(snapshot).model_dump()


def request_columns(frame: pd.DataFrame) -> dict[str, Any]:
    """The request data of historical rows: each impression's profile snapshot and its time.

    ``frame`` has ``event_timestamp`` and, when the log carried them, ``profile_features`` snapshots.
    """
    n = len(frame)
    dtypes = {"float": "float64", "int": "float64", "bool": "object", "string": "object"}
    snapshots = frame["profile_features"] if "profile_features" in frame.columns else pd.Series([None] * n)
    parsed = [profile_values(v) for v in snapshots.tolist()]
    columns: dict[str, Any] = {
        f.name: pd.Series([p[f.name] for p in parsed], dtype=dtypes[f.dtype]) for f in PROFILE_FEATURES
    }
    if TIMESTAMP in frame.columns:
        since_epoch = pd.to_datetime(frame[TIMESTAMP], utc=True) - pd.Timestamp(0, tz="UTC")
        columns[REQUEST_TIME_FIELD] = since_epoch.dt.total_seconds().astype("float64").reset_index(drop=True)
    else:
        columns[REQUEST_TIME_FIELD] = pd.Series([None] * n, dtype="float64")
    return columns


def historical_features(store: Any, entities: pd.DataFrame, engine: str = "duckdb") -> pd.DataFrame:
    """Point-in-time correct features of ``tip_scoring`` for each entity row at its ``event_timestamp``.

    Extra columns of ``entities`` (request id, label, slices) ride along unchanged. ``engine="feast"`` is
    ``get_historical_features`` on the configured offline store; ``"duckdb"`` (the default) is the same
    join in DuckDB (:mod:`pipelines.steps.pit_join`), which the local Dask store cannot do at scale.
    """
    frame = entities.reset_index(drop=True)
    request = pd.DataFrame(request_columns(frame))
    entity_df = pd.concat([frame.drop(columns=[c for c in request if c in frame.columns]), request], axis=1)
    if engine not in ("duckdb", "feast"):
        raise FeatureStoreError(f"unknown historical engine {engine!r}: use 'duckdb' or 'feast'")
    if engine == "duckdb":
        return asof_historical_features(store, FEATURE_SERVICE, entity_df, TIMESTAMP)
    try:
        service = store.get_feature_service(FEATURE_SERVICE)
        out: pd.DataFrame = store.get_historical_features(entity_df=entity_df, features=service).to_df()
    except Exception as e:  # noqa: BLE001
        raise FeatureStoreError(f"historical retrieval of {FEATURE_SERVICE} failed: {e}") from e
    return out


def materialize(store: Any, start: datetime, end: datetime, views: list[str]) -> None:
    """Load the latest value of every entity up to ``end`` into the online store."""
    try:
        store.materialize(start_date=start, end_date=end, feature_views=views)
    except Exception as e:  # noqa: BLE001
        raise FeatureStoreError(f"materialize failed: {e}") from e


def online_features(store: Any, rows: list[dict[str, Any]]) -> pd.DataFrame:
    """What serving reads for (user, tip, category) rows: the skew check's other side.

    A row's ``profile_features`` (snapshot text) and ``event_timestamp`` become the request data, as the
    recommender's call would carry them.
    """
    request = request_columns(pd.DataFrame(rows))
    entity_rows = [
        {
            **{k: r[k] for k in ENTITY_COLUMNS},
            **{k: (None if pd.isna(v.iloc[i]) else v.iloc[i]) for k, v in request.items()},
        }
        for i, r in enumerate(rows)
    ]
    try:
        service = store.get_feature_service(FEATURE_SERVICE)
        out: pd.DataFrame = store.get_online_features(features=service, entity_rows=entity_rows).to_df()
    except Exception as e:  # noqa: BLE001
        raise FeatureStoreError(f"online retrieval of {FEATURE_SERVICE} failed: {e}") from e
    return out


__all__ = ["TIMESTAMP", "historical_features", "materialize", "online_features", "open_store", "write_tables"]
