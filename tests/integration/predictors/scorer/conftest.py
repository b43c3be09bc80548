"""Fixtures for the tip scorer over HTTP: a synthetic world and the real ``kserve.ModelServer`` process."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bench.scorer_world import ScorerProcess, ScorerWorld, build_world, spawn_scorer


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> ScorerWorld:
    """Feast features online and a LightGBM champion in MLflow (sqlite), built once per session."""
    return build_world(tmp_path_factory.mktemp("scorer-world"), n_users=20, n_tips=60)


@pytest.fixture
def world_copy(world: ScorerWorld, tmp_path: Path) -> ScorerWorld:
    """A private copy of the world that a test may break or inspect."""
    root = tmp_path / "state"
    shutil.copytree(world.root, root)
    return ScorerWorld(
        root=root,
        tracking_uri=f"sqlite:///{(root / 'mlflow.db').resolve()}",
        model_dir=root / "mnt-models",
        version=world.version,
        users=world.users,
        tips=world.tips,
    )


@pytest.fixture(scope="module")
def alias_server(world: ScorerWorld, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScorerProcess]:
    """One server for a module's read-only tests; the model comes by MLflow alias (the default URI)."""
    server = spawn_scorer(world, tmp_path_factory.mktemp("alias-server"))
    yield server
    server.stop()


@pytest.fixture
def start_scorer(tmp_path: Path) -> Iterator[Callable[..., ScorerProcess]]:
    """Start more servers with other settings; each is stopped after the test."""
    started: list[ScorerProcess] = []

    def start(world: ScorerWorld, *, wait_ready: bool = True, **settings: str) -> ScorerProcess:
        server = spawn_scorer(world, tmp_path / "servers", wait_ready=wait_ready, **settings)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
