"""Online features for scoring, read from Feast through the ``tip_scoring`` feature service.

Per request: each candidate's category (``tip_stats:tip_category``; cached, a tip never changes category)
keys the user x category affinity; then one ``get_online_features`` call reads user activity, tip stats
and affinity for every (user, tip, category) row. The model inputs are the ``scoring_inputs`` on-demand
view of the same service, computed by :func:`feature_repo.features.scoring_inputs_batch`:

* ``transform="in_process"`` (default): read the service's feature views through Feast, then call that
  very function here. Feast's own on-demand path converts every value to protobuf and back and costs
  about three times as much for 20 candidates (measured; see bench/scorer_load.py).
* ``transform="feast"``: let Feast run the on-demand view. A test asserts both give identical rows.

Cold start: an unknown user or tip has no rows, so Feast returns nulls and ``scoring_inputs`` fills the
defaults documented in :mod:`feature_repo.features` (completion rate 0.5, like rate and affinity the
population prior 0.2, preferred hour -1, counts 0). The request's ``profile_features`` win where sent.

Any exception from the store is a ``FeatureStoreUnavailableError`` (503): inputs were validated before,
so a failure here is the store's, and scoring with made-up features would be silently wrong.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Final, Literal

import numpy as np

from contracts.profile import PROFILE_FEATURES, ProfileFeatures
from predictors.scorer.errors import FeatureStoreUnavailableError
from predictors.scorer.model_store import Matrix

FEATURE_SERVICE: Final = "tip_scoring"
CATEGORY_REF: Final = "tip_stats:tip_category"
PROBE_ENTITY: Final = {"tip_id": "__readiness_probe__"}
PROFILE_NAMES: Final = tuple(f.name for f in PROFILE_FEATURES)

Transform = Literal["in_process", "feast"]


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
    ) -> None:
        from feature_repo.features import scoring_inputs_batch

        self._store = store
        self._features = tuple(model_features)
        self._transform = transform
        self._batch = scoring_inputs_batch
        self._cache = cache or CategoryCache()
        self._service: Any = None
        self._view_refs: list[str] = []

    def _resolve(self) -> tuple[Any, list[str]]:
        """The feature service and its plain views' refs, read from the registry on first use.

        Lazy, so a process started while the store is down comes up not-ready and recovers by itself.
        """
        if self._service is None:
            try:
                service = self._store.get_feature_service(FEATURE_SERVICE)
                odfvs = {v.name for v in self._store.list_on_demand_feature_views()}
            except Exception as e:  # noqa: BLE001 - any registry failure means the store is unusable
                raise FeatureStoreUnavailableError(
                    f"cannot read the feature registry: {type(e).__name__}: {e}"
                ) from e
            self._view_refs = [
                f"{p.name_to_use()}:{f.name}"
                for p in service.feature_view_projections
                if p.name not in odfvs
                for f in p.features
            ]
            self._service = service
        return self._service, self._view_refs

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

    def rows(self, user_id: str, tip_ids: Sequence[str], profile: ProfileFeatures | None) -> Matrix:
        """One row per tip, columns in ``model_features`` order."""
        service, view_refs = self._resolve()
        cats = self.categories(tip_ids)
        sent = profile.model_dump() if profile is not None else {}
        n = len(tip_ids)
        if self._transform == "feast":
            base = {name: sent.get(name) for name in PROFILE_NAMES}
            proto = self._read(
                service,
                [
                    {"user_id": user_id, "tip_id": t, "category": c, **base}
                    for t, c in zip(tip_ids, cats, strict=True)
                ],
            )
            names = list(proto.metadata.feature_names.val)
            cols = [
                [
                    v.double_val if v.WhichOneof("val") else np.nan
                    for v in proto.results[names.index(f)].values
                ]
                for f in self._features
            ]
            return np.array(cols, dtype=np.float64).T.reshape(n, len(self._features))
        proto = self._read(
            view_refs,
            [{"user_id": user_id, "tip_id": t, "category": c} for t, c in zip(tip_ids, cats, strict=True)],
        )
        columns: dict[str, list[object]] = {
            name: [_python(v) for v in result.values]
            for name, result in zip(proto.metadata.feature_names.val, proto.results, strict=True)
        }
        for name in PROFILE_NAMES:
            columns[name] = [sent.get(name)] * n
        inputs = self._batch(columns)
        return np.array([inputs[f] for f in self._features], dtype=np.float64).T.reshape(
            n, len(self._features)
        )


def _python(value: Any) -> object:
    """A Feast ``Value`` proto as a Python scalar (None when null); our views hold scalars only."""
    kind = value.WhichOneof("val")
    if kind is None or kind == "null_val":
        return None
    return getattr(value, kind)
