"""The short-lived tip-stats copy: bounded, expiring, and never staler than its TTL (real Feast SQLite store)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.scorer_world import ScorerWorld
from feature_repo.config import open_store
from feature_repo.features import MODEL_FEATURES
from predictors.scorer.feature_cache import TtlCache
from predictors.scorer.features import FeastFeatureSource
from predictors.scorer.service import runs_in_loop


class Clock:
    """A hand-moved monotonic clock."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_after_ttl() -> None:
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(1.0, 10, clock)
    cache.put_many([("a", 1), ("b", 2)])
    assert cache.get_many(["a", "b", "c"]) == ({"a": 1, "b": 2}, ["c"])
    clock.now += 0.99
    assert cache.get_many(["a"]) == ({"a": 1}, [])
    clock.now += 0.02
    assert cache.get_many(["a", "b"]) == ({}, ["a", "b"])


def test_capacity_bounds_the_cache_oldest_first() -> None:
    clock = Clock()
    cache: TtlCache[str, int] = TtlCache(5.0, 2, clock)
    cache.put_many([("a", 1), ("b", 2)])
    cache.put_many([("a", 10)])  # refreshed: now the newest
    cache.put_many([("c", 3)])
    assert len(cache) == 2
    assert cache.get_many(["a", "b", "c"]) == ({"a": 10, "c": 3}, ["b"])


@pytest.mark.parametrize(("ttl", "capacity"), [(0.0, 10), (-1.0, 10), (1.0, 0)])
def test_rejects_meaningless_bounds(ttl: float, capacity: int) -> None:
    with pytest.raises(ValueError, match="ttl_s"):
        TtlCache(ttl, capacity)


def _write_tip_stats(root: Path, tip: str, impressions: int, positives: int, category: str) -> None:
    open_store(root).write_to_online_store(
        "tip_stats",
        pd.DataFrame(
            {
                "tip_id": [tip],
                "tip_impressions": [impressions],
                "tip_positives": [positives],
                "tip_like_rate_smoothed": [(positives + 2.0) / (impressions + 10.0)],
                "tip_category": [category],
                "event_timestamp": [datetime.now(UTC)],
            }
        ),
    )


def test_cached_rows_equal_fresh_rows_and_are_at_most_ttl_stale(world: ScorerWorld, tmp_path: Path) -> None:
    root = tmp_path / "state"
    shutil.copytree(world.root, root)
    clock = Clock()
    cache: TtlCache[tuple[str, ...], dict[str, object]] = TtlCache(1.0, 1000, clock)
    store = open_store(root)
    cached = FeastFeatureSource(store, MODEL_FEATURES, tip_stats_cache=cache)
    fresh = FeastFeatureSource(store, MODEL_FEATURES)
    tips = [*world.tips[:6], "tip-brand-new"]
    np.testing.assert_array_equal(cached.rows("user-1", tips, None), fresh.rows("user-1", tips, None))
    assert len(cache) == len(tips)  # the unknown tip is remembered as "no row" too

    _write_tip_stats(root, world.tips[0], 400, 300, "health")
    _write_tip_stats(root, "tip-brand-new", 50, 40, "work")
    before = fresh.rows("user-1", tips, None)
    clock.now += 0.5
    stale = cached.rows("user-1", tips, None)
    assert not np.array_equal(stale, before), "within the TTL the copy still serves the old tip stats"
    clock.now += 0.6
    np.testing.assert_array_equal(cached.rows("user-1", tips, None), before)


def test_user_rows_are_never_cached(world: ScorerWorld, tmp_path: Path) -> None:
    root = tmp_path / "state"
    shutil.copytree(world.root, root)
    cache: TtlCache[tuple[str, ...], dict[str, object]] = TtlCache(60.0, 1000, Clock())
    source = FeastFeatureSource(open_store(root), MODEL_FEATURES, tip_stats_cache=cache)
    tips = world.tips[:3]
    a = source.rows("user-1", tips, None)
    b = source.rows("user-2", tips, None)
    assert not np.array_equal(a, b)
    assert all(len(key) == 1 and key[0] in tips for key in cache.get_many([(t,) for t in tips])[0])


def test_sqlite_store_runs_on_the_loop_unless_told_otherwise(world: ScorerWorld) -> None:
    source = FeastFeatureSource(open_store(world.root), MODEL_FEATURES)
    assert source.local
    assert runs_in_loop("auto", source) and runs_in_loop("loop", source)
    assert not runs_in_loop("executor", source)
