"""Build the Feast ``RepoConfig`` for the local default, open the store, and apply the definitions.

Local default, under one state root (``.tipsml/`` unless told otherwise):

* registry: ``<feast_dir>/registry.db`` (file registry);
* online store: SQLite at ``<feast_dir>/online.db``, written in batches
  (:class:`feature_repo.online_store.BatchedSqliteOnlineStore`: Feast's SQLite store, one ``executemany``
  per write instead of one statement per value; reads are Feast's own);
* offline store: ``file`` (Parquet tables under ``<feature_tables_dir>``, read through the file sources).

``repo_path`` is the state root, so the file sources' relative paths resolve into it. Production uses
``feature_store.production.yaml`` beside this file (Redis online store).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from feast import FeatureStore, RepoConfig
from feast.infra.offline_stores.dask import DaskOfflineStoreConfig
from feast.repo_config import RegistryConfig

from contracts.local_state import DEFAULT_STATE_DIR, LocalState
from feature_repo.online_store import BatchedSqliteOnlineStoreConfig

PROJECT: Final = "tipsml"
REGISTRY_CACHE_TTL_SECONDS: Final = 60


def repo_config(
    state_root: Path = DEFAULT_STATE_DIR, *, registry_cache_ttl_seconds: int = REGISTRY_CACHE_TTL_SECONDS
) -> RepoConfig:
    """The local-default Feast config for a state root (directories are created)."""
    state = LocalState(state_root.resolve())
    state.feast_dir.mkdir(parents=True, exist_ok=True)
    state.feature_tables_dir.mkdir(parents=True, exist_ok=True)
    return RepoConfig(
        project=PROJECT,
        provider="local",
        registry=RegistryConfig(
            registry_type="file",
            path=str(state.feast_dir / "registry.db"),
            cache_ttl_seconds=registry_cache_ttl_seconds,
        ),
        online_store=BatchedSqliteOnlineStoreConfig(path=str(state.feast_dir / "online.db")),
        offline_store=DaskOfflineStoreConfig(type="file"),
        entity_key_serialization_version=3,
        repo_path=state.root,
    )


def feature_table_path(state_root: Path, view_name: str) -> Path:
    """Parquet table a feature view's file source reads (what the training pipeline writes)."""
    return LocalState(state_root.resolve()).feature_tables_dir / f"{view_name}.parquet"


def open_store(state_root: Path = DEFAULT_STATE_DIR, **kwargs: Any) -> FeatureStore:
    """A ``FeatureStore`` on the local default (apply first: :func:`apply_definitions`)."""
    return FeatureStore(config=repo_config(state_root, **kwargs))


def open_store_from_yaml(feature_store_yaml: Path) -> FeatureStore:
    """The store a ``feature_store.yaml`` describes (production: ``feature_store.production.yaml``).

    Feast expands ``${VAR}`` from the environment, so secrets stay out of the file. Its registry must already
    hold the definitions (``feast apply`` with that file): many pods open one production registry, and
    applying belongs to the release, not to every process start.
    """
    path = feature_store_yaml.resolve()
    return FeatureStore(repo_path=str(path.parent), fs_yaml_file=path)


def open_configured_store(feast_config: Path | None, state_dir: Path, *, apply_local: bool) -> FeatureStore:
    """The store a process is configured for: ``feast_config`` (a ``feature_store.yaml``), else the local default.

    The local default lives under ``state_dir``. Only it is ever applied, and only when ``apply_local``: the
    writers (the consumers and their pusher) apply it because they may be the first to touch a fresh state
    directory; readers (the predictors) open what the writers or training applied. A production registry is
    applied at release time (:func:`open_store_from_yaml`).
    """
    if feast_config is not None:
        return open_store_from_yaml(feast_config)
    store = open_store(state_dir)
    if apply_local:
        apply_definitions(store)
    return store


def apply_definitions(store: FeatureStore) -> None:
    """Register every object of :mod:`feature_repo.definitions` (what ``feast apply`` does)."""
    from feature_repo.definitions import ALL_OBJECTS

    store.apply(ALL_OBJECTS)
