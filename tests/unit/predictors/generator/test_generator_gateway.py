from pathlib import Path

import pytest

from contracts.crds import ModelConfig, PromptVersionSpec
from contracts.generator import GeneratorInstance
from contracts.prompt_context import PromptContext, sample_prompt_context
from predictors.generator.context import ContextAssembler, UserState
from predictors.generator.errors import ExternalTextRefusedError, InvalidRequestError, LLMCallError
from predictors.generator.gateway import LLMGateway, redact_titles
from predictors.generator.offline_llm import register_offline_provider
from predictors.generator.registry import LoadedPrompt, PromptRegistry
from predictors.generator.sandbox import PromptSandbox
from predictors.generator.selection import ExperimentSource, Selector
from predictors.generator.service import GenerationService, parse_request
from predictors.generator.settings import GeneratorSettings


def prompt(version: str, model: ModelConfig, template: str = "{{ focus_task.title }}") -> LoadedPrompt:
    return LoadedPrompt(PromptVersionSpec(version=version, template=template, model=model), version[0] * 64)


@pytest.fixture
def gateway() -> LLMGateway:
    register_offline_provider(0)
    return LLMGateway(GeneratorSettings(use_feature_store=False), PromptSandbox(4000))


async def test_offline_provider_is_grounded_and_deterministic(
    gateway: LLMGateway, registry: PromptRegistry
) -> None:
    v1 = registry.get("v1")
    assert v1 is not None
    ctx = sample_prompt_context()
    first = await gateway.generate(v1, ctx, "r1")
    again = await gateway.generate(v1, ctx, "r1")
    assert first == again
    assert first.model == "tipsml/offline" and first.usage.total_tokens > 0
    assert 0 < len(first.text) <= v1.spec.max_output_chars
    texts = set()
    for hour in range(24):
        texts.add((await gateway.generate(v1, ctx.model_copy(update={"local_hour": hour}), "r")).text)
    assert any("Send the quarterly report" in t for t in texts)


async def test_fallback_chain_serves_when_the_primary_fails(gateway: LLMGateway) -> None:
    p = prompt("fb", ModelConfig(model="tipsml/fail", fallbacks=["tipsml/offline"], retries=0))
    out = await gateway.generate(p, sample_prompt_context(), "r1")
    assert out.model == "tipsml/offline" and out.text


async def test_every_model_failing_is_an_llm_error(gateway: LLMGateway) -> None:
    with pytest.raises(LLMCallError):
        await gateway.generate(
            prompt("bad", ModelConfig(model="tipsml/fail", retries=0)), sample_prompt_context(), "r"
        )


async def test_external_models_get_redacted_titles_or_are_refused(tmp_path: Path) -> None:
    register_offline_provider(0)
    external = prompt("ext", ModelConfig(model="openai/gpt-4o-mini", timeout_seconds=0.01, retries=0))
    refuse = LLMGateway(
        GeneratorSettings(use_feature_store=False, external_text_policy="refuse"), PromptSandbox(4000)
    )
    with pytest.raises(ExternalTextRefusedError):
        await refuse.generate(external, sample_prompt_context(), "r")
    redacted = redact_titles(sample_prompt_context())
    assert redacted.focus_task is not None and redacted.focus_task.title == "work task"
    assert all(t.title.endswith(" task") for t in [*redacted.open_tasks, *redacted.recent_completed])


def test_bad_bodies_name_the_field() -> None:
    with pytest.raises(InvalidRequestError, match="instances"):
        parse_request({"instances": []})
    with pytest.raises(InvalidRequestError, match="prompt_version"):
        parse_request({"instances": [{"user_id": "u1", "prompt_version": "Not Valid!"}]})
    with pytest.raises(InvalidRequestError):
        parse_request(b"{not json")


class OneUser:
    def read(self, user_id: str) -> UserState:
        ctx = sample_prompt_context()
        return UserState(
            open_tasks=list(ctx.open_tasks), recent_completed=list(ctx.recent_completed), completion_rate=0.5
        )


class Broken:
    def read(self, user_id: str) -> UserState:
        raise RuntimeError("store down")


async def test_context_assembler_focus_task_and_degradation() -> None:
    ctx: PromptContext = await ContextAssembler(OneUser(), 1.0).assemble(
        GeneratorInstance(user_id="u1", task_id="t-2")
    )
    assert ctx.focus_task is not None and ctx.focus_task.task_id == "t-2"
    assert ctx.completion_rate == 0.5 and ctx.top_category is not None
    empty = await ContextAssembler(Broken(), 1.0).assemble(GeneratorInstance(user_id="u1", task_id="t-2"))
    assert empty.open_tasks == [] and empty.focus_task is None


async def test_service_end_to_end(registry: PromptRegistry, gateway: LLMGateway) -> None:
    service = GenerationService(
        registry,
        Selector(registry, ExperimentSource(None, 1.0), None),
        ContextAssembler(OneUser(), 1.0),
        gateway,
    )
    out = await service.predict(
        {"instances": [{"user_id": "u1", "request_id": "req-1"}, {"user_id": "u2", "prompt_version": "v2"}]}
    )
    first, second = out["predictions"]
    assert first["request_id"] == "req-1" and first["prompt_version"] == "v1"
    assert first["selection"]["source"] == "default"
    assert second["prompt_version"] == "v2" and second["selection"]["source"] == "request"
