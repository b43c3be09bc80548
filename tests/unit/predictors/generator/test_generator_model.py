"""``TipGenerator``, the KServe shell: readiness follows the registry, the learner starts once, stop cancels it.

The service behind it is the real one :func:`predictors.generator.server.build_service` builds (offline LLM,
no feature store), so a predict here runs the whole request path.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from pathlib import Path

import pytest

from predictors.common.http_errors import status_for
from predictors.generator.errors import HTTP_STATUS, GeneratorNotReadyError
from predictors.generator.model import Background, TipGenerator
from predictors.generator.server import build_service
from predictors.generator.service import GenerationService
from predictors.generator.settings import GeneratorSettings


class CountingLearner:
    """A background job that records that it ran and then waits to be cancelled."""

    def __init__(self) -> None:
        self.started = 0
        self.cancelled = asyncio.Event()

    async def run(self) -> None:
        self.started += 1
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


def settings(tmp_path: Path, *, seed: bool = True) -> GeneratorSettings:
    return GeneratorSettings(
        prompts_dir=tmp_path / "prompts",
        seed_default_prompts=seed,
        experiment_file=None,
        reward_db=None,
        use_feature_store=False,
        state_dir=tmp_path,
    )


def generator(tmp_path: Path, learner: Background | None = None, *, seed: bool = True) -> TipGenerator:
    def make(service: GenerationService) -> Background | None:
        assert service.registry.versions()  # built and read before the learner is asked for
        return learner

    return TipGenerator("tip-generator", lambda: build_service(settings(tmp_path, seed=seed)), make)


async def test_not_ready_before_load_is_a_503(tmp_path: Path) -> None:
    model = generator(tmp_path)
    assert not await model.healthy()
    with pytest.raises(GeneratorNotReadyError) as caught:
        await model.predict({"instances": [{"user_id": "u1"}]})
    assert status_for(caught.value, HTTP_STATUS) == HTTPStatus.SERVICE_UNAVAILABLE


async def test_load_builds_once_and_serves(tmp_path: Path) -> None:
    model = generator(tmp_path)
    assert model.load() and model.ready and await model.healthy()
    service = model.service
    model.load()  # KServe may call load() again: the service stays
    assert model.service is service
    out = await model.predict({"instances": [{"user_id": "u1", "request_id": "r-1"}]})
    (prediction,) = out["predictions"]
    assert prediction["request_id"] == "r-1" and prediction["prompt_version"] == "v1" and prediction["text"]


async def test_an_empty_registry_is_not_healthy(tmp_path: Path) -> None:
    model = generator(tmp_path, seed=False)
    model.load()
    assert model.ready and not await model.healthy()


async def test_learner_starts_with_the_first_request_once_and_stop_cancels_it(tmp_path: Path) -> None:
    learner = CountingLearner()
    model = generator(tmp_path, learner)
    model.load()
    for _ in range(3):
        await model.predict({"instances": [{"user_id": "u1"}]})
    await asyncio.sleep(0)
    assert learner.started == 1
    model.stop()
    await asyncio.wait_for(learner.cancelled.wait(), timeout=5)
    assert not model.ready


async def test_no_learner_when_the_factory_declines(tmp_path: Path) -> None:
    model = generator(tmp_path, None)
    model.load()
    await model.predict({"instances": [{"user_id": "u1"}]})
    assert model._learner_task is None
    model.stop()
