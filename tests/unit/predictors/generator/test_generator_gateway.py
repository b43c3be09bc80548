from pathlib import Path

import pytest
from pydantic import ValidationError

from contracts.crds import ModelConfig, PromptVersionSpec
from contracts.generator import GeneratorInstance
from contracts.prompt_context import PromptContext, sample_prompt_context
from predictors.generator.context import ContextAssembler, UserState
from predictors.generator.errors import (
    ExternalTextRefusedError,
    InvalidRequestError,
    LLMCallError,
    ProviderRefusedError,
)
from predictors.generator.gateway import LLMGateway, read_api_key, redact_titles
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
    base = "https://llm.example.com/v1"
    external = prompt(
        "ext", ModelConfig(model="openai/gpt-4o-mini", api_base=base, timeout_seconds=0.01, retries=0)
    )
    settings = GeneratorSettings(
        use_feature_store=False, external_text_policy="refuse", allowed_api_bases=(base,)
    )
    refuse = LLMGateway(settings, PromptSandbox(4000))
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


async def test_external_providers_only_at_an_allowed_api_base(tmp_path: Path) -> None:
    """Issue 19, defect 1: the platform's allow-list decides where a request may go, not the PromptVersion."""
    register_offline_provider(0)
    attacker = ModelConfig(model="openai/x", api_base="https://attacker.example", retries=0, timeout_seconds=0.01)
    off = LLMGateway(GeneratorSettings(use_feature_store=False, allow_external_user_text=True), PromptSandbox(4000))
    with pytest.raises(ProviderRefusedError, match="external LLM providers are off"):
        await off.generate(prompt("ext", attacker), sample_prompt_context(), "r")
    listed = GeneratorSettings(
        use_feature_store=False, allow_external_user_text=True, allowed_api_bases=("https://llm.example.com/v1",)
    )
    with pytest.raises(ProviderRefusedError, match="not one this deployment allows"):
        await LLMGateway(listed, PromptSandbox(4000)).generate(prompt("ext", attacker), sample_prompt_context(), "r")
    no_base = attacker.model_copy(update={"api_base": None})
    with pytest.raises(ProviderRefusedError):
        await LLMGateway(listed, PromptSandbox(4000)).generate(prompt("ext", no_base), sample_prompt_context(), "r")


@pytest.mark.parametrize("ref", ["x//etc/passwd", "../../f", "x/../../f", "s/..", "s/", "/abs/key"])
def test_api_key_reference_cannot_leave_the_secrets_folder(tmp_path: Path, ref: str) -> None:
    """Issue 19, defect 1: a reference is a mounted Secret's key, never a path to another file."""
    (tmp_path / "outside").write_text("stolen-token")
    secrets = tmp_path / "secrets"
    (secrets / "s").mkdir(parents=True)
    with pytest.raises(ProviderRefusedError):
        read_api_key(ref, secrets)
    with pytest.raises(ValidationError, match="apiKeySecret|api_key_secret"):
        ModelConfig(model="openai/x", api_key_secret=ref)


def test_api_key_symlink_out_of_the_secret_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside").write_text("stolen-token")
    secret = tmp_path / "secrets" / "s"
    secret.mkdir(parents=True)
    (secret / "key").write_text("sk-good\n")
    (secret / "link").symlink_to(tmp_path / "outside")
    assert read_api_key("s/key", tmp_path / "secrets") == "sk-good"
    with pytest.raises(ProviderRefusedError, match="outside"):
        read_api_key("s/link", tmp_path / "secrets")
