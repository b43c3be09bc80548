"""Online features through Feast's ``tip_scoring`` service (real SQLite online store)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from bench.scorer_world import ScorerWorld
from contracts.profile import ProfileFeatures
from feature_repo.config import open_store
from feature_repo.features import MODEL_FEATURES
from predictors.scorer.errors import FeatureStoreUnavailableError
from predictors.scorer.features import CategoryCache, FeastFeatureSource


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
