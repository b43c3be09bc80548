"""Online features for scoring, read from Feast's online store as the ``tip_scoring`` service defines them.

The model inputs are the service's ``scoring_inputs`` on-demand view, computed column-wise by
:func:`feature_repo.features.scoring.scoring_inputs_columns` (through ``scoring_inputs_batch`` inside Feast)
from the service's plain feature views (user activity, tip stats, user x category affinity, keyed by the
tip's category) and the request's ``profile_features``.

* ``transform="in_process"`` (default): read each of the service's feature views once, for its unique
  keys only (1 user, the candidate tips, the user x their categories), through the online store's
  ``online_read`` (Feast's provider interface), lay the values out as one column per input (a user's own
  row repeated, not looked up per candidate), then call that very function here. On the local default's
  store (:class:`feature_repo.online_store.BatchedSqliteOnlineStore`) the keys go in as plain strings
  (``read_string_keys``), without an ``EntityKey`` proto per key. Tip stats come first
  because they carry the category that keys the affinity read. Feast's ``get_online_features`` does the
  same reads but builds a per-row protobuf response, and its on-demand path converts every value to
  protobuf and back: for 20 candidates that costs a multiple (bench/scorer_load.py prints it).
* ``transform="feast"``: ``get_online_features`` with the feature service, Feast running the on-demand
  view. A test asserts both give identical rows for known and unknown users, with and without profile
  features, so the fast path cannot drift from Feast's.

Tip stats may come from a short-lived in-memory copy (``tip_stats_cache``, at most ``tip_stats_ttl_s``
old, see :mod:`predictors.scorer.feature_cache`); user and user x category rows are always read.

Cold start: an unknown user or tip has no rows, so its values are null and ``scoring_inputs`` fills the
defaults documented in :mod:`feature_repo.features` (completion rate 0.5, like rate and affinity the
population prior 0.2, preferred hour -1, counts 0). The request's ``profile_features`` win where sent.

Any exception from the store is a ``FeatureStoreUnavailableError`` (503): inputs were validated before,
so a failure here is the store's, and scoring with made-up features would be silently wrong.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol, runtime_checkable

import numpy as np
from feast.protos.feast.types.EntityKey_pb2 import EntityKey
from feast.protos.feast.types.Value_pb2 import Value

from contracts.profile import PROFILE_FEATURES, ProfileFeatures
from feature_repo.names import FEATURE_SERVICE, REQUEST_TIME_FIELD, TIP_STATS_VIEW
from predictors.scorer.errors import FeatureStoreUnavailableError
from predictors.scorer.feature_cache import TtlCache
from predictors.scorer.model_store import Matrix

CATEGORY_VIEW: Final = TIP_STATS_VIEW
CATEGORY_FEATURE: Final = "tip_category"
CATEGORY_REF: Final = f"{CATEGORY_VIEW}:{CATEGORY_FEATURE}"
PROBE_ENTITY: Final = {"tip_id": "__readiness_probe__"}
REQUEST_NAMES: Final = (*(f.name for f in PROFILE_FEATURES), REQUEST_TIME_FIELD)
"""The on-demand view's request data: the recommender's profile features and the request time."""

Transform = Literal["in_process", "feast"]


@runtime_checkable
class StringKeyReads(Protocol):
    """An online store that reads keys given as strings (``BatchedSqliteOnlineStore``)."""

    def read_string_keys(
        self, config: Any, table: Any, join_keys: Sequence[str], keys: Sequence[Sequence[str]]
    ) -> list[dict[str, Any] | None]:
        """Per key, its features' ``Value`` protos, or None when it has no row."""
        ...


@dataclass(frozen=True, slots=True)
class _View:
    """A plain feature view of the service, with what a read of it needs, looked up once."""

    view: Any
    join_keys: tuple[str, ...]
    features: list[str]
    tip_stats: bool
    """The view that carries the category (read first, optionally through the short-lived cache)."""


class CategoryCache:
    """Bounded LRU of tip id → category; only known categories are kept (a new tip may get one later)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._data: OrderedDict[str, str] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def get_many(self, tip_ids: Sequence[str]) -> dict[str, str]:
        """Known categories of ``tip_ids``."""
        with self._lock:
            found = {t: self._data[t] for t in tip_ids if t in self._data}
            for t in found:
                self._data.move_to_end(t)
        return found

    def put_many(self, values: dict[str, str]) -> None:
        """Remember non-empty categories, evicting the least recently used beyond capacity."""
        with self._lock:
            for t, c in values.items():
                if c:
                    self._data[t] = c
            while len(self._data) > self._capacity:
                self._data.popitem(last=False)


class FeastFeatureSource:
    """Model rows for (user, candidates) from a Feast ``FeatureStore``."""

    def __init__(
        self,
        store: Any,
        model_features: Sequence[str],
        *,
        transform: Transform = "in_process",
        cache: CategoryCache | None = None,
        tip_stats_cache: TtlCache[tuple[str, ...], dict[str, object]] | None = None,
    ) -> None:
        from feature_repo.features.scoring import scoring_inputs_columns

        self._store = store
        self._features = tuple(model_features)
        self._transform = transform
        self._columns = scoring_inputs_columns
        self._cache = cache or CategoryCache()
        self._tip_stats = tip_stats_cache
        self._service: Any = None
        self._views: list[_View] = []
        self._online_store: Any = None
        self._string_keys: StringKeyReads | None = None

    @property
    def local(self) -> bool:
        """True when the online store is an SQLite file read in this process: a read is CPU, not a wait."""
        from feast.infra.online_stores.sqlite import SqliteOnlineStoreConfig

        return isinstance(self._store.config.online_store, SqliteOnlineStoreConfig)

    def _resolve(self) -> tuple[Any, list[_View]]:
        """The feature service and its plain views with their join keys and features (registry, once).

        Lazy, so a process started while the store is down comes up not-ready and recovers by itself.
        """
        if self._service is None:
            try:
                service = self._store.get_feature_service(FEATURE_SERVICE)
                odfvs = {v.name for v in self._store.list_on_demand_feature_views()}
                views = []
                for p in service.feature_view_projections:
                    if p.name in odfvs:
                        continue
                    view = self._store.get_feature_view(p.name)
                    join_keys = tuple(c.name for c in view.entity_columns)
                    views.append(_View(view, join_keys, [f.name for f in p.features], view.name == CATEGORY_VIEW))
                # Feast has no public accessor for the provider whose online_read get_online_features uses.
                provider = self._store._get_provider()
                store = getattr(provider, "online_store", None)
                self._string_keys = store if isinstance(store, StringKeyReads) else None
            except Exception as e:  # noqa: BLE001 - any registry failure means the store is unusable
                raise FeatureStoreUnavailableError(f"cannot read the feature registry: {type(e).__name__}: {e}") from e
            # Tip stats first: they carry the category that keys the affinity view.
            views.sort(key=lambda v: not v.tip_stats)
            self._views = views
            self._online_store = provider
            self._service = service
        return self._service, self._views

    def _read(self, features: Any, entity_rows: list[dict[str, Any]]) -> Any:
        try:
            return self._store.get_online_features(features=features, entity_rows=entity_rows).proto
        except Exception as e:  # noqa: BLE001 - see module docstring
            raise FeatureStoreUnavailableError(f"online feature read failed: {type(e).__name__}: {e}") from e

    def probe(self) -> None:
        """One point read of a tip that does not exist: proves the registry and online store answer."""
        self._resolve()
        self._read([CATEGORY_REF], [dict(PROBE_ENTITY)])

    def categories(self, tip_ids: Sequence[str]) -> list[str]:
        """Category of each tip ("" when the tip has no stats yet)."""
        known = self._cache.get_many(tip_ids)
        missing = [t for t in tip_ids if t not in known]
        if missing:
            proto = self._read([CATEGORY_REF], [{"tip_id": t} for t in missing])
            idx = list(proto.metadata.feature_names.val).index("tip_category")
            fetched = {t: v.string_val for t, v in zip(missing, proto.results[idx].values, strict=True)}
            self._cache.put_many(fetched)
            known.update(fetched)
        return [known.get(t, "") for t in tip_ids]

    def rows(
        self, user_id: str, tip_ids: Sequence[str], profile: ProfileFeatures | None, at: float | None = None
    ) -> Matrix:
        """One row per tip, columns in ``model_features`` order; ``at`` is the request time (default: now)."""
        service, views = self._resolve()
        sent: dict[str, Any] = profile.model_dump() if profile is not None else {}
        sent[REQUEST_TIME_FIELD] = time.time() if at is None else at
        n = len(tip_ids)
        if self._transform == "feast":
            return self._rows_by_feast(service, user_id, tip_ids, sent)
        columns: dict[str, Sequence[object]] = {}
        keys: dict[str, Sequence[str]] = {"user_id": [user_id] * n, "tip_id": tip_ids}
        for v in views:
            per_row = list(zip(*(keys[k] for k in v.join_keys), strict=True))
            unique = list(dict.fromkeys(per_row))
            by_key = self._values(v, unique)
            if len(unique) == 1:  # a user's own row: the same values for every candidate
                one = by_key[unique[0]]
                for f in v.features:
                    columns[f] = [one.get(f)] * n
            else:
                found = [by_key[k] for k in per_row]
                for f in v.features:
                    columns[f] = [values.get(f) for values in found]
            if v.tip_stats:
                keys["category"] = [c if isinstance(c, str) else "" for c in columns[CATEGORY_FEATURE]]
        for name in REQUEST_NAMES:
            columns[name] = [sent.get(name)] * n
        inputs = self._columns(columns)
        out = np.empty((n, len(self._features)), dtype=np.float64)
        for j, f in enumerate(self._features):
            out[:, j] = inputs[f]
        return out

    def _values(self, v: _View, keys: list[tuple[str, ...]]) -> dict[tuple[str, ...], dict[str, object]]:
        """Values per key: tip stats through the short-lived cache when one is set, other views fresh."""
        cache = self._tip_stats if v.tip_stats else None
        if cache is None:
            return dict(zip(keys, self._online_read(v, keys), strict=True))
        found, missing = cache.get_many(keys)
        if missing:
            fresh = list(zip(missing, self._online_read(v, missing), strict=True))
            cache.put_many(fresh)
            found.update(fresh)
        return found

    def _online_read(self, v: _View, keys: list[tuple[str, ...]]) -> list[dict[str, object]]:
        """Values of the view's features for each key ({} for a key without a row), straight from the store."""
        try:
            if self._string_keys is not None:
                found = self._string_keys.read_string_keys(self._store.config, v.view, v.join_keys, keys)
            else:
                join_keys = list(v.join_keys)
                protos = [
                    EntityKey(join_keys=join_keys, entity_values=[Value(string_val=s) for s in key]) for key in keys
                ]
                read = self._online_store.online_read(
                    config=self._store.config, table=v.view, entity_keys=protos, requested_features=v.features
                )
                found = [values for _, values in read]
        except Exception as e:  # noqa: BLE001 - see module docstring
            raise FeatureStoreUnavailableError(f"online feature read failed: {type(e).__name__}: {e}") from e
        return [{f: _python(x) for f, x in values.items()} if values else {} for values in found]

    def _rows_by_feast(self, service: Any, user_id: str, tip_ids: Sequence[str], sent: dict[str, Any]) -> Matrix:
        n = len(tip_ids)
        cats = self.categories(tip_ids)
        base = {name: sent.get(name) for name in REQUEST_NAMES}
        entity_rows = [
            {"user_id": user_id, "tip_id": t, "category": c, **base} for t, c in zip(tip_ids, cats, strict=True)
        ]
        proto = self._read(service, entity_rows)
        names = list(proto.metadata.feature_names.val)
        cols = [
            [v.double_val if v.WhichOneof("val") else np.nan for v in proto.results[names.index(f)].values]
            for f in self._features
        ]
        return np.array(cols, dtype=np.float64).T.reshape(n, len(self._features))


def _python(value: Any) -> object:
    """A Feast ``Value`` proto as a Python scalar (None when null); our views hold scalars only."""
    kind = value.WhichOneof("val")
    if kind is None or kind == "null_val":
        return None
    return getattr(value, kind)
