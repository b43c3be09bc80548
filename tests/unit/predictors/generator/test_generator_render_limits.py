"""A render over the request-time limit falls back to the default version or is a 422, counted; never a 500.

Issue 19, defect 7.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest

from predictors.common.http_errors import status_for
from predictors.generator.context import ContextAssembler
from predictors.generator.errors import HTTP_STATUS, PromptTooLargeError
from predictors.generator.gateway import LLMGateway
from predictors.generator.metrics import RENDER_OVERFLOW
from predictors.generator.offline_llm import register_offline_provider
from predictors.generator.registry import PromptRegistry
from predictors.generator.sandbox import PromptSandbox
from predictors.generator.selection import ExperimentSource, Selector
from predictors.generator.service import GenerationService
from predictors.generator.settings import GeneratorSettings
from tests.unit.predictors.generator.test_generator_gateway import OneUser

LONG = "{{ weekday }} " + "x" * 700


def _service(directory: Path) -> GenerationService:
    register_offline_provider(0)
    registry = PromptRegistry(directory, PromptSandbox(4000), reload_interval=0.0)
    gateway = LLMGateway(GeneratorSettings(use_feature_store=False, max_prompt_chars=600), PromptSandbox(600))
    return GenerationService(
        registry, Selector(registry, ExperimentSource(None, 1.0), None), ContextAssembler(OneUser(), 1.0), gateway
    )


def _count(version: str, outcome: str) -> float:
    value: Any = RENDER_OVERFLOW.labels(version, outcome)._value.get()
    return float(value)


async def test_overflow_falls_back_to_the_default_version(tmp_path: Path, publish: Callable[..., Path]) -> None:
    publish(tmp_path, "short", "Tip on {{ weekday }}", default=True)
    publish(tmp_path, "long", LONG)
    before = _count("long", "fallback")
    out = await _service(tmp_path).predict({"instances": [{"user_id": "u1", "prompt_version": "long"}]})
    (prediction,) = out["predictions"]
    assert prediction["prompt_version"] == "short" and prediction["selection"]["source"] == "default"
    assert _count("long", "fallback") == before + 1


async def test_overflow_without_a_usable_default_is_a_422(tmp_path: Path, publish: Callable[..., Path]) -> None:
    publish(tmp_path, "long", LONG, default=True)
    before = _count("long", "refused")
    with pytest.raises(PromptTooLargeError, match="'long' cannot render") as caught:
        await _service(tmp_path).predict({"instances": [{"user_id": "u1"}]})
    assert status_for(caught.value, HTTP_STATUS) == HTTPStatus.UNPROCESSABLE_ENTITY
    assert _count("long", "refused") == before + 1
