"""The consumers push to the Feast store a ``feature_store.yaml`` names (as production does with Redis)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ingest_helpers import Running, payload, publish
from nats.js import JetStreamContext

from contracts.local_state import LocalState
from feature_repo.config import apply_definitions, open_store_from_yaml

pytestmark = pytest.mark.integration

YAML = """\
project: tipsml
provider: local
registry:
  registry_type: file
  path: ${TIPSML_TEST_FEAST_DIR}/registry.db
online_store:
  type: feature_repo.online_store.BatchedSqliteOnlineStore
  path: ${TIPSML_TEST_FEAST_DIR}/elsewhere.db
offline_store:
  type: file
entity_key_serialization_version: 3
"""


async def test_consumer_pushes_to_the_configured_store_not_the_local_default(
    jetstream: JetStreamContext, start_consumer: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    feast_dir = tmp_path / "configured"
    feast_dir.mkdir()
    monkeypatch.setenv("TIPSML_TEST_FEAST_DIR", str(feast_dir))  # the file's ${VAR}s, as secrets would be
    config = feast_dir / "feature_store.yaml"
    config.write_text(YAML)
    apply_definitions(open_store_from_yaml(config))  # production applies at release, not in the consumer

    r: Running = await start_consumer(online_push=True, feast_config=config)
    await publish(jetstream, payload("app_opened", 1, user_id="carol"))
    await r.wait_for(lambda: r.count("acked") == 1)
    store = open_store_from_yaml(config)

    def active_days() -> object:
        got = store.get_online_features(
            features=["user_activity:user_active_days_30d"], entity_rows=[{"user_id": "carol"}]
        ).to_dict()
        return got["user_active_days_30d"][0]

    await r.wait_for(lambda: active_days() == 1)
    assert (feast_dir / "elsewhere.db").exists()
    assert not (LocalState(r.settings.state_dir).feast_dir / "online.db").exists()
