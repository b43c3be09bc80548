"""The KServe model in-process: ranking, readiness that follows the feature store, start-up failures."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.scorer_world import ScorerWorld
from contracts.scorer import ScorerResponse
from predictors.scorer import __main__ as entry
from predictors.scorer.errors import FeatureStoreUnavailableError, InvalidRequestError, ScorerNotReadyError
from predictors.scorer.model import TipScorer
from predictors.scorer.server import build_service, metrics_role
from predictors.scorer.settings import Role, ScorerSettings


def _settings(root: Path, **kw: object) -> ScorerSettings:
    return ScorerSettings(
        state_dir=root, model_uri=str(root / "mnt-models"), feature_probe_interval_s=0.05, **kw
    )


def _scorer(settings: ScorerSettings) -> TipScorer:
    scorer = TipScorer("tip-scorer", settings, lambda: build_service(settings))
    scorer.load()
    return scorer


async def test_predict_ranks_highest_first(world: ScorerWorld) -> None:
    scorer = _scorer(_settings(world.root))
    assert await scorer.healthy()
    body = {"instances": [{"user_id": world.users[0], "candidates": world.tips[:8], "request_id": "r-9"}]}
    out = ScorerResponse.model_validate(await scorer.predict(body))
    pred = out.predictions[0]
    assert pred.request_id == "r-9" and pred.model_version == world.version
    assert [s.score for s in pred.scores] == sorted((s.score for s in pred.scores), reverse=True)
    with pytest.raises(InvalidRequestError, match=r"instances\.0\.candidates"):
        await scorer.predict({"instances": [{"user_id": "u", "candidates": []}]})


async def test_not_loaded_is_not_ready(world: ScorerWorld) -> None:
    settings = _settings(world.root)
    scorer = TipScorer("tip-scorer", settings, lambda: build_service(settings))
    assert not await scorer.healthy()
    with pytest.raises(ScorerNotReadyError):
        await scorer.predict({"instances": []})


async def test_readiness_follows_the_feature_store(world: ScorerWorld, tmp_path: Path) -> None:
    import asyncio

    root = tmp_path / "state"
    shutil.copytree(world.root, root)
    online = root / "feast" / "online.db"
    online.rename(root / "online.saved")
    online.mkdir()
    scorer = _scorer(_settings(root))
    assert scorer.ready and not await scorer.healthy()
    with pytest.raises(FeatureStoreUnavailableError):
        await scorer.predict({"instances": [{"user_id": "u", "candidates": ["t"]}]})
    online.rmdir()
    (root / "online.saved").rename(online)
    await asyncio.sleep(0.1)
    assert await scorer.healthy()
    scorer.load()  # KServe calls load() again when healthy() was false: a no-op, the model stays
    assert scorer.service is not None and scorer.service.store_ok


def test_metrics_role_label() -> None:
    assert metrics_role(ScorerSettings()) == "champion"
    assert metrics_role(ScorerSettings(role=Role.SHADOW)) == "shadow"
    assert metrics_role(ScorerSettings(metrics_role="canary")) == "canary"


def test_settings_come_from_tipsml_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIPSML_ROLE", "shadow")
    monkeypatch.setenv("TIPSML_MAX_CANDIDATES", "20")
    s = ScorerSettings()
    assert s.role is Role.SHADOW and s.max_candidates == 20
    monkeypatch.setenv("TIPSML_ROLE", "primary")
    with pytest.raises(ValueError, match="role"):
        ScorerSettings()


def test_start_up_failure_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TIPSML_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("TIPSML_MODEL_URI", str(tmp_path / "nothing"))
    assert entry.main() == 1
    err = capsys.readouterr().err
    assert err.startswith("tip-scorer: ") and "not an MLflow model directory" in err


async def test_unknown_profile_names_are_counted_and_warned_about_once_not_refused(
    world: ScorerWorld, caplog: pytest.LogCaptureFixture
) -> None:
    """A newer recommender's extra profile feature scores normally; a known name of the wrong type is a 400."""
    import logging

    scorer = _scorer(_settings(world.root))
    assert scorer.service is not None
    counter = scorer.service.metrics.unknown_profile
    before = counter._value.get()  # prometheus_client has no public reader for one child
    profile = {"tenure_days": 30, "mood_score": 0.7, "locale_v2": "en"}
    body = {"instances": [{"user_id": world.users[0], "candidates": world.tips[:3], "profile_features": profile}]}
    with caplog.at_level(logging.WARNING, logger="predictors.scorer.service"):
        for _ in range(3):
            out = ScorerResponse.model_validate(await scorer.predict(body))
            assert len(out.predictions[0].scores) == 3
    assert counter._value.get() - before == 3 * 2
    warnings = [r for r in caplog.records if "profile_features" in r.getMessage()]
    assert len(warnings) == 1 and "locale_v2, mood_score" in warnings[0].getMessage()
    assert "0.7" not in warnings[0].getMessage()  # names only, never values
    bad = {"instances": [{"user_id": "u", "candidates": ["t"], "profile_features": {"tenure_days": "30"}}]}
    with pytest.raises(InvalidRequestError, match=r"instances\.0\.profile_features\.tenure_days"):
        await scorer.predict(bad)
