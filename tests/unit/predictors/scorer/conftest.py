"""A synthetic world (real Feast SQLite store, real MLflow sqlite registry) for the scorer unit tests."""

from __future__ import annotations

import pytest

from bench.scorer_world import ScorerWorld, build_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> ScorerWorld:
    """Built once: 10 users, 40 tips, a LightGBM champion trained over MODEL_FEATURES."""
    return build_world(tmp_path_factory.mktemp("scorer-unit-world"), n_users=10, n_tips=40)
