"""The local default's online store: Feast's SQLite store with batched writes and a leaner read.

Feast's :class:`~feast.infra.online_stores.sqlite.SqliteOnlineStore` writes one UPSERT statement per feature
per row from Python; at streaming rates (thousands of keys a second, 2 to 7 features each) that interpreter
work is the largest cost of the online push. :class:`BatchedSqliteOnlineStore` writes the very same rows
(same table, columns, serialized entity keys and values, timestamps) with one ``executemany`` per call, in
one transaction.

``online_read`` returns what the stock read returns (same values, same timestamps, ``(None, None)`` for a key
without rows) with less interpreter work per key: the tip scorer reads about 30 keys of four views per
request, and the stock read spent over half its time building the keys' bytes and converting every row's
timestamp (bench/scorer_load.py ``--profile``). Here a key whose values are all strings (every entity of
this project) is its join keys' cached header plus its values' bytes (:func:`string_key_bytes`, equal to
Feast's ``serialize_entity_key``, which other keys still go through), and only the timestamp a key returns
is converted. ``read_string_keys`` reads keys given as plain strings (no ``EntityKey`` protos built to be
taken apart again) and is what the scorer calls on this store.

Everything else — ``feast apply`` (table creation), teardown — is the stock store, so
``get_online_features`` cannot tell the two apart (``tests/integration/feature_repo`` proves it).

Stores that use the stock writer's optional columns (vector search, ``enable_openai_compatible_store``)
fall back to it. Production uses Redis (``feature_store.production.yaml``) and is not affected.

Selected by ``online_store: type: feature_repo.online_store.BatchedSqliteOnlineStore`` (Feast imports
``<class>Config`` from the same module); :func:`feature_repo.config.repo_config` does this for the local
default.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal

from feast import FeatureView
from feast.infra.key_encoding_utils import serialize_entity_key
from feast.infra.online_stores.helpers import compute_table_id
from feast.infra.online_stores.sqlite import SqliteOnlineStore, SqliteOnlineStoreConfig
from feast.protos.feast.types.EntityKey_pb2 import EntityKey as EntityKeyProto
from feast.protos.feast.types.Value_pb2 import Value as ValueProto
from feast.protos.feast.types.Value_pb2 import ValueType
from feast.repo_config import RepoConfig
from feast.utils import to_naive_utc

STORE_TYPE = "feature_repo.online_store.BatchedSqliteOnlineStore"

_TEXT_KINDS = frozenset({"int64_val", "int32_val", "double_val", "float_val"})
_SERIALIZATION_VERSION = 3
"""The entity-key layout :func:`entity_key_bytes` writes; other versions go through Feast's serializer."""
_STRING = struct.pack("<I", ValueType.STRING)


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


@dataclass(frozen=True, slots=True)
class KeyLayout:
    """How version 3 lays out an entity key of some join keys: a fixed header, then the values by sorted name."""

    header: bytes
    """The join-key count, then each name (sorted) as type + length + UTF-8."""
    order: tuple[int, ...]
    """Positions of the values, in the sorted names' order."""


@lru_cache(maxsize=64)
def key_layout(join_keys: tuple[str, ...]) -> KeyLayout:
    """The layout of ``join_keys`` (in the order the caller gives their values)."""
    order = tuple(sorted(range(len(join_keys)), key=join_keys.__getitem__))
    parts = [struct.pack("<I", len(join_keys))]
    for i in order:
        encoded = join_keys[i].encode("utf8")
        parts += [_STRING, struct.pack("<I", len(encoded)), encoded]
    return KeyLayout(b"".join(parts), order)


def string_key_bytes(layout: KeyLayout, values: Sequence[str]) -> bytes:
    """Feast's ``serialize_entity_key`` (version 3) of an entity key whose values are all strings."""
    parts = [layout.header]
    for i in layout.order:
        encoded = values[i].encode("utf8")
        parts += [_STRING, struct.pack("<I", len(encoded)), encoded]
    return b"".join(parts)


def entity_key_bytes(entity_key: EntityKeyProto, version: int) -> bytes:
    """Feast's ``serialize_entity_key``: through the cached layout when every value is a string."""
    values = entity_key.entity_values
    if version != _SERIALIZATION_VERSION or not all(v.WhichOneof("val") == "string_val" for v in values):
        return serialize_entity_key(entity_key, entity_key_serialization_version=version)
    return string_key_bytes(key_layout(tuple(entity_key.join_keys)), [v.string_val for v in values])


class BatchedSqliteOnlineStore(SqliteOnlineStore):
    """Feast's SQLite online store: one ``executemany`` per write, and reads with less work per key."""

    def online_read(
        self,
        config: RepoConfig,
        table: FeatureView,
        entity_keys: list[EntityKeyProto],
        requested_features: list[str] | None = None,
    ) -> list[tuple[datetime | None, dict[str, ValueProto] | None]]:
        """The stock read's answer: per key, the last row's timestamp (UTC) and every feature's value."""
        if _stock_only(config):
            return super().online_read(config, table, entity_keys, requested_features)
        version = config.entity_key_serialization_version
        keys = [entity_key_bytes(k, version) for k in entity_keys]
        values, stamps = self._read(config, table, keys)
        out: list[tuple[datetime | None, dict[str, ValueProto] | None]] = []
        for key in keys:
            found = values.get(key)
            out.append((None, None) if found is None else (_utc(stamps[key]), found))
        return out

    def read_string_keys(
        self, config: RepoConfig, table: FeatureView, join_keys: Sequence[str], keys: Sequence[Sequence[str]]
    ) -> list[dict[str, ValueProto] | None]:
        """``online_read``'s values (no timestamps) for keys given as strings in ``join_keys`` order.

        What a caller that already holds its keys as strings (the tip scorer) reads without building an
        ``EntityKey`` proto per key for the store to take apart again.
        """
        if _stock_only(config) or config.entity_key_serialization_version != _SERIALIZATION_VERSION:
            protos = [
                EntityKeyProto(join_keys=list(join_keys), entity_values=[ValueProto(string_val=s) for s in key])
                for key in keys
            ]
            return [values for _, values in self.online_read(config, table, protos)]
        layout = key_layout(tuple(join_keys))
        blobs = [string_key_bytes(layout, key) for key in keys]
        values, _ = self._read(config, table, blobs)
        return [values.get(blob) for blob in blobs]

    def _read(
        self, config: RepoConfig, table: FeatureView, keys: list[bytes]
    ) -> tuple[dict[bytes, dict[str, ValueProto]], dict[bytes, object]]:
        """Per stored key of ``keys``: its features' values, and its last row's raw stamp (as the stock read keeps)."""
        values: dict[bytes, dict[str, ValueProto]] = {}
        stamps: dict[bytes, object] = {}
        if not keys:
            return values, stamps
        name = _quote(compute_table_id(config.project, table, config.registry.enable_online_feature_view_versioning))
        # "event_ts + 0" has no declared type, so the connection's converter does not turn every row's stamp
        # into a datetime; online_read converts the one a key returns, as the stock converter would.
        sql = (
            f"SELECT entity_key, feature_name, value, event_ts + 0 FROM {name}"
            f" WHERE entity_key IN ({','.join('?' * len(keys))}) ORDER BY entity_key"
        )
        for key, feature, value, stamp in self._get_conn(config).execute(sql, keys).fetchall():
            values.setdefault(key, {})[feature] = ValueProto.FromString(value)
            stamps[key] = stamp
        return values, stamps

    def online_write_batch(
        self,
        config: RepoConfig,
        table: FeatureView,
        data: Sequence[tuple[EntityKeyProto, dict[str, ValueProto], datetime, datetime | None]],
        progress: Callable[[int], Any] | None,
    ) -> None:
        """Upsert every (entity, feature) value of ``data`` exactly as the stock store does."""
        if _stock_only(config):
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


def _utc(stamp: object) -> datetime:
    """What the stock read makes of a stored stamp: Feast's epoch converter, then UTC attached."""
    return datetime.fromtimestamp(int(str(stamp))).replace(tzinfo=UTC)


def _stock_only(config: RepoConfig) -> bool:
    """Whether the store uses the stock store's optional columns, which only the stock code handles."""
    store_config = config.online_store
    return bool(store_config.vector_enabled or getattr(store_config, "enable_openai_compatible_store", False))
