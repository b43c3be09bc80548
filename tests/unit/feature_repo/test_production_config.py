"""The production ``feature_store.yaml`` loads: Feast's Redis online store and the PostgreSQL registry driver are
installed (without the ``redis`` and ``postgres`` extras it failed with ``FeastExtrasDependencyImportError``).

Only loading is checked here; no Redis or PostgreSQL server runs in unit tests.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from feast.repo_config import RepoConfig
from sqlalchemy import create_engine

PRODUCTION = Path(__file__).resolve().parents[3] / "feature_repo" / "feature_store.production.yaml"


def test_production_config_and_its_drivers_load() -> None:
    raw = yaml.safe_load(PRODUCTION.read_text())
    config = RepoConfig(repo_path=PRODUCTION.parent, **raw)
    store_class = type(config.online_store).__module__
    assert store_class.startswith("feast.infra.online_stores.redis"), store_class

    from feast.infra.online_stores.redis import RedisOnlineStore

    RedisOnlineStore()
    engine = create_engine("postgresql+psycopg://feast:secret@postgres.example:5432/feast")
    assert engine.dialect.driver == "psycopg"
