"""The local default's online store: Feast's SQLite store with batched writes.

Feast's :class:`~feast.infra.online_stores.sqlite.SqliteOnlineStore` writes one UPSERT statement per feature
per row from Python; at streaming rates (thousands of keys a second, 2 to 7 features each) that interpreter
work is the largest cost of the online push. :class:`BatchedSqliteOnlineStore` writes the very same rows
(same table, columns, serialized entity keys and values, timestamps) with one ``executemany`` per call, in
one transaction. Everything else — reads, ``feast apply`` (table creation), teardown — is the stock store,
so ``get_online_features`` cannot tell the two apart (``tests/integration/feature_repo`` proves it).

Stores that use the stock writer's optional columns (vector search, ``enable_openai_compatible_store``)
fall back to it. Production uses Redis (``feature_store.production.yaml``) and is not affected.

Selected by ``online_store: type: feature_repo.online_store.BatchedSqliteOnlineStore`` (Feast imports
``<class>Config`` from the same module); :func:`feature_repo.config.repo_config` does this for the local
default.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal

from feast import FeatureView
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.infra.online_stores.helpers import compute_table_id
from feast.infra.online_stores.sqlite import SqliteOnlineStore, SqliteOnlineStoreConfig
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.repo_config import RepoConfig
from feast.utils import to_naive_utc

STORE_TYPE = "feature_repo.online_store.BatchedSqliteOnlineStore"

_TEXT_KINDS = frozenset({"int64_val", "int32_val", "double_val", "float_val"})


class BatchedSqliteOnlineStoreConfig(SqliteOnlineStoreConfig):
    """Same settings as Feast's SQLite online store; only the type selector differs."""

    type: Literal["feature_repo.online_store.BatchedSqliteOnlineStore"] = STORE_TYPE  # type: ignore[assignment]


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def value_text(val: ValueProto) -> str | None:
    """The ``value_text`` column Feast's SQLite writer fills (text of scalars, None otherwise)."""
    kind = val.WhichOneof("val")
    if kind == "string_val":
        return str(val.string_val)
    if kind in _TEXT_KINDS:
        return str(getattr(val, kind))
    if kind == "bool_val":
        return str(val.bool_val)
    return None


class BatchedSqliteOnlineStore(SqliteOnlineStore):
    """Feast's SQLite online store whose ``online_write_batch`` is one ``executemany`` in one transaction."""

    def online_write_batch(
        self,
        config: RepoConfig,
        table: FeatureView,
        data: Sequence[tuple[EntityKeyProto, dict[str, ValueProto], datetime, datetime | None]],
        progress: Callable[[int], Any] | None,
    ) -> None:
        """Upsert every (entity, feature) value of ``data`` exactly as the stock store does."""
        store_config = config.online_store
        if store_config.vector_enabled or getattr(store_config, "enable_openai_compatible_store", False):
            super().online_write_batch(config, table, list(data), progress)
            return
        name = _quote(compute_table_id(config.project, table, config.registry.enable_online_feature_view_versioning))
        sql = (
            f"INSERT INTO {name} (entity_key, feature_name, value, value_text, event_ts, created_ts)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(entity_key, feature_name) DO UPDATE SET"
            " value = excluded.value, value_text = excluded.value_text, event_ts = excluded.event_ts,"
            " created_ts = excluded.created_ts"
        )
        version = config.entity_key_serialization_version
        naive: dict[datetime, datetime] = {}  # a round shares one or two timestamps: convert each once
        rows: list[tuple[bytes, str, bytes, str | None, datetime, datetime | None]] = []
        for entity_key, values, ts, created in data:
            key = serialize_entity_key(entity_key, entity_key_serialization_version=version)
            event_ts = naive.get(ts) or naive.setdefault(ts, to_naive_utc(ts))
            created_ts = None
            if created is not None:
                created_ts = naive.get(created) or naive.setdefault(created, to_naive_utc(created))
            for feature, val in values.items():
                rows.append((key, feature, val.SerializeToString(), value_text(val), event_ts, created_ts))
        conn = self._get_conn(config)
        with conn:
            conn.executemany(sql, rows)
        if progress:
            progress(len(data))
