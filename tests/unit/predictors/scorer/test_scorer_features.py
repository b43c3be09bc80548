"""Online features through Feast's ``tip_scoring`` service (real SQLite online store)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from feast import FeatureStore

from bench.scorer_world import ScorerWorld
from contracts.profile import ProfileFeatures
from feature_repo.config import open_store
from feature_repo.features import MODEL_FEATURES, scoring_inputs
from feature_repo.names import FEATURE_SERVICE, REQUEST_TIME_FIELD, TIP_STATS_VIEW
from predictors.scorer.errors import FeatureStoreUnavailableError
from predictors.scorer.feature_cache import TtlCache
from predictors.scorer.features import REQUEST_NAMES, CategoryCache, FeastFeatureSource
from predictors.scorer.model_store import load_model_dir


@pytest.fixture(scope="module")
def sources(world: ScorerWorld) -> tuple[FeastFeatureSource, FeastFeatureSource]:
    store = open_store(world.root)
    return (
        FeastFeatureSource(store, MODEL_FEATURES, transform="in_process"),
        FeastFeatureSource(store, MODEL_FEATURES, transform="feast"),
    )


@pytest.mark.parametrize(
    "profile",
    [
        None,
        ProfileFeatures(tenure_days=40, completion_rate_30d=0.9, notifications_enabled=True, locale="de-DE"),
    ],
)
@pytest.mark.parametrize("user", ["user-1", "never-seen"])
def test_in_process_transform_equals_feasts_on_demand_view(
    sources: tuple[FeastFeatureSource, FeastFeatureSource],
    world: ScorerWorld,
    user: str,
    profile: ProfileFeatures | None,
) -> None:
    """No skew: running scoring_inputs here gives exactly what Feast's on-demand view gives."""
    ours, feasts = sources
    tips = [*world.tips[:15], "tip-unknown"]
    a, b = ours.rows(user, tips, profile), feasts.rows(user, tips, profile)
    assert a.shape == (16, len(MODEL_FEATURES))
    assert np.isfinite(a).all()
    np.testing.assert_allclose(a, b)


def test_string_key_reads_equal_entity_key_reads(
    sources: tuple[FeastFeatureSource, FeastFeatureSource],
    world: ScorerWorld,
    open_stock_store: Callable[[Path], FeatureStore],
) -> None:
    """The local store takes keys as strings; Feast's own store (any other) gets ``EntityKey`` protos: same rows."""
    ours, _ = sources
    stock = FeastFeatureSource(open_stock_store(world.root), MODEL_FEATURES)
    ours.probe()
    stock.probe()
    assert ours._string_keys is not None and stock._string_keys is None
    tips = [*world.tips[3:18], "tip-unknown"]
    for user in ("user-3", "never-seen"):
        np.testing.assert_array_equal(ours.rows(user, tips, None, 1.9e9), stock.rows(user, tips, None, 1.9e9))


def test_unknown_user_gets_cold_start_rows_not_an_error(
    sources: tuple[FeastFeatureSource, FeastFeatureSource], world: ScorerWorld
) -> None:
    ours, _ = sources
    known, cold = ours.rows("user-1", world.tips[:5], None), ours.rows("never-seen", world.tips[:5], None)
    assert np.isfinite(cold).all()
    assert not np.array_equal(known, cold)
    # Same defaults for every unknown user: cold start does not depend on the id.
    assert np.array_equal(cold, ours.rows("also-never-seen", world.tips[:5], None))


def test_profile_features_are_merged(
    sources: tuple[FeastFeatureSource, FeastFeatureSource], world: ScorerWorld
) -> None:
    ours, _ = sources
    plain = ours.rows("user-1", world.tips[:3], None)
    sent = ours.rows("user-1", world.tips[:3], ProfileFeatures(completion_rate_30d=0.01, tenure_days=999))
    assert not np.array_equal(plain, sent)


def test_categories_are_read_once_and_unknown_tips_are_not_cached(world: ScorerWorld) -> None:
    cache = CategoryCache()
    source = FeastFeatureSource(open_store(world.root), MODEL_FEATURES, cache=cache)
    cats = source.categories([world.tips[0], "tip-unknown"])
    assert cats[0] and cats[1] == ""
    assert cache.get_many([world.tips[0], "tip-unknown"]) == {world.tips[0]: cats[0]}


def test_category_cache_evicts_least_recently_used() -> None:
    cache = CategoryCache(capacity=2)
    cache.put_many({"a": "work", "b": "home"})
    cache.get_many(["a"])
    cache.put_many({"c": "health", "d": ""})
    assert cache.get_many(["a", "b", "c", "d"]) == {"a": "work", "c": "health"}


def test_unreachable_online_store_raises_feature_store_unavailable(
    world: ScorerWorld, tmp_path: Path
) -> None:
    root = tmp_path / "state"
    shutil.copytree(world.root / "feast", root / "feast")
    online = root / "feast" / "online.db"
    online.unlink()
    online.mkdir()  # SQLite cannot open a directory
    source = FeastFeatureSource(open_store(root), MODEL_FEATURES)
    with pytest.raises(FeatureStoreUnavailableError, match="online feature read failed"):
        source.probe()
    with pytest.raises(FeatureStoreUnavailableError):
        source.rows("user-1", world.tips[:2], None)


def test_missing_registry_raises_feature_store_unavailable(tmp_path: Path) -> None:
    source = FeastFeatureSource(open_store(tmp_path / "empty"), MODEL_FEATURES)
    with pytest.raises(FeatureStoreUnavailableError, match="feature registry"):
        source.probe()


def _old_path_rows(store: Any, user: str, tips: list[str], profile: ProfileFeatures | None, at: float) -> np.ndarray:
    """The serving path before column-wise inputs: Feast's values per row, ``scoring_inputs`` one row at a time."""
    service = store.get_feature_service(FEATURE_SERVICE)
    odfvs = {v.name for v in store.list_on_demand_feature_views()}
    refs = [f"{p.name}:{f.name}" for p in service.feature_view_projections if p.name not in odfvs for f in p.features]
    cats = store.get_online_features(
        features=[f"{TIP_STATS_VIEW}:tip_category"], entity_rows=[{"tip_id": t} for t in tips]
    )
    categories = [c or "" for c in cats.to_dict()["tip_category"]]
    entity_rows = [{"user_id": user, "tip_id": t, "category": c} for t, c in zip(tips, categories, strict=True)]
    values = store.get_online_features(features=refs, entity_rows=entity_rows).to_dict()
    sent = {**(profile.model_dump() if profile is not None else {}), REQUEST_TIME_FIELD: at}
    rows = []
    for i in range(len(tips)):
        row = {name: column[i] for name, column in values.items()}
        row.update({name: sent.get(name) for name in REQUEST_NAMES})
        inputs = scoring_inputs(row)
        rows.append([inputs[f] for f in MODEL_FEATURES])
    return np.array(rows, dtype=np.float64)


@pytest.mark.parametrize(
    "profile",
    [None, ProfileFeatures(tenure_days=400, completion_rate_30d=0.2, notifications_enabled=False, streak_days=3)],
)
@pytest.mark.parametrize("user", ["user-2", "never-seen"])
def test_new_path_scores_equal_the_old_paths_to_1e_9(
    world: ScorerWorld,
    user: str,
    profile: ProfileFeatures | None,
    open_stock_store: Callable[[Path], FeatureStore],
) -> None:
    """Same inputs, same scores: column-wise inputs from the project's store with the tip-stats copy vs Feast's
    own SQLite reader's rows + scoring_inputs per row."""
    store = open_store(world.root)
    model = load_model_dir(world.model_dir, MODEL_FEATURES)
    source = FeastFeatureSource(store, MODEL_FEATURES, tip_stats_cache=TtlCache(1.0, 1000))
    tips = [*world.tips[5:25], "tip-unknown"]
    at = 1.9e9
    source.rows(user, tips[:7], profile, at)  # fills the tip-stats copy: the new path reads some tips from it
    new = model.score(source.rows(user, tips, profile, at))
    old = model.score(_old_path_rows(open_stock_store(world.root), user, tips, profile, at))
    assert len(set(new.tolist())) > 1
    np.testing.assert_allclose(new, old, rtol=0, atol=1e-9)
