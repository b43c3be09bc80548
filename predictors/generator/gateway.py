"""The LiteLLM gateway: one Router per prompt version, built from its ModelConfig.

Timeouts, retries and fallbacks are LiteLLM's own (a Router with the version's model first and its
``fallbacks`` after it). The default model ``tipsml/offline`` is the in-process provider of
:mod:`predictors.generator.offline_llm`; any other LiteLLM model string (``openai/...``,
``hosted_vllm/...``) is a config change, with its API key read from a mounted Secret, never from the spec.

Privacy: a model is *local* when its string starts with one of ``settings.local_model_prefixes``. If any
model in a version's chain is external and ``allow_external_user_text`` is off, task titles are replaced by
their category before the template renders (``redact``) or the request is refused (``refuse``); the
grounding metadata the offline provider reads is only attached when every model in the chain is local.

Where a request may go is the platform's choice, not a PromptVersion author's: an external model is called
only at an ``apiBase`` listed exactly in ``settings.allowed_api_bases`` (empty, the default: no external
provider at all), and its API key is read only from a file inside ``settings.secrets_dir`` named by a
``<secret-name>/<key>`` reference. Otherwise anyone who may create a PromptVersion could make the generator
send any file the Pod can read, as a Bearer token, to a server of their choosing.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litellm.router import Router

from contracts.crds import SECRET_KEY_REF_PATTERN, ModelConfig
from contracts.generator import Usage
from contracts.prompt_context import PromptContext, TaskView
from predictors.generator.errors import ExternalTextRefusedError, LLMCallError, ProviderRefusedError
from predictors.generator.offline_llm import CONTEXT_METADATA_KEY
from predictors.generator.registry import LoadedPrompt
from predictors.generator.sandbox import PromptSandbox
from predictors.generator.settings import GeneratorSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Generation:
    """What the model wrote, which model wrote it, and what it cost."""

    text: str
    model: str
    usage: Usage


def redact_titles(context: PromptContext) -> PromptContext:
    """The context with every task title replaced by its category: no user text left in it."""

    def scrub(task: TaskView) -> TaskView:
        return task.model_copy(update={"title": f"{task.category.value} task"})

    return context.model_copy(
        update={
            "open_tasks": [scrub(t) for t in context.open_tasks],
            "recent_completed": [scrub(t) for t in context.recent_completed],
            "focus_task": scrub(context.focus_task) if context.focus_task else None,
        }
    )


def secret_path(secret_ref: str, secrets_dir: Path) -> Path:
    """``<secrets_dir>/<name>/<key>`` for ``name/key``, resolved; anything that leaves ``secrets_dir`` is refused.

    The contract's pattern already refuses such references; this check holds even for a registry file that
    bypassed the API server, and against symlinks planted inside the folder.
    """
    if re.fullmatch(SECRET_KEY_REF_PATTERN, secret_ref) is None:
        raise ProviderRefusedError("model.apiKeySecret must be <secret-name>/<key>")
    name, _, key = secret_ref.partition("/")
    root = secrets_dir.resolve()
    path = (root / name / key).resolve()
    if not path.is_relative_to(root / name):
        raise ProviderRefusedError("model.apiKeySecret resolves outside the mounted secrets")
    return path


def read_api_key(secret_ref: str | None, secrets_dir: Path) -> str | None:
    """The API key at ``<secrets_dir>/<name>/<key>`` for ``secret_ref`` = ``name/key``; None if unset."""
    if not secret_ref:
        return None
    path = secret_path(secret_ref, secrets_dir)
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        log.warning("api key secret %s not mounted; falling back to the provider's environment", secret_ref)
        return None


class LLMGateway:
    """Renders a prompt version's messages and calls its model chain."""

    def __init__(self, settings: GeneratorSettings, sandbox: PromptSandbox) -> None:
        self.settings = settings
        self.sandbox = sandbox
        self._routers: dict[str, Router] = {}

    def is_local(self, model: str) -> bool:
        """Whether ``model`` runs inside the cluster (user text may reach it)."""
        return model.startswith(self.settings.local_model_prefixes)

    def chain(self, config: ModelConfig) -> list[str]:
        """The models tried, in order."""
        return [config.model, *config.fallbacks]

    def check_providers(self, config: ModelConfig) -> None:
        """Refuse a version whose external models would be called outside the platform's allow-list."""
        if all(self.is_local(m) for m in self.chain(config)):
            return
        allowed = self.settings.allowed_api_bases
        if not allowed:
            raise ProviderRefusedError("external LLM providers are off in this deployment (no allowed apiBase)")
        if config.api_base not in allowed:
            raise ProviderRefusedError("model.apiBase is not one this deployment allows")

    def router(self, prompt: LoadedPrompt) -> Router:
        """The version's Router, built once per content hash (a new hash is a new version's content)."""
        router = self._routers.get(prompt.content_hash)
        if router is None:
            router = self._build_router(prompt)
            self._routers[prompt.content_hash] = router
        return router

    def _build_router(self, prompt: LoadedPrompt) -> Router:
        cfg = prompt.spec.model
        api_key = read_api_key(cfg.api_key_secret, self.settings.secrets_dir)
        names = [prompt.spec.version] + [
            f"{prompt.spec.version}--fallback-{i}" for i in range(len(cfg.fallbacks))
        ]
        model_list: list[dict[str, Any]] = []
        for name, model in zip(names, self.chain(cfg), strict=True):
            params: dict[str, Any] = {"model": model, "timeout": cfg.timeout_seconds}
            if cfg.api_base and not self.is_local(model):
                params["api_base"] = cfg.api_base
            if api_key and not self.is_local(model):
                params["api_key"] = api_key
            model_list.append({"model_name": name, "litellm_params": params})
        fallbacks = [{names[0]: names[1:]}] if len(names) > 1 else []
        router: Router = Router(
            model_list=model_list,
            num_retries=cfg.retries,
            retry_after=0,
            timeout=cfg.timeout_seconds,
            fallbacks=fallbacks,
        )
        return router

    async def generate(self, prompt: LoadedPrompt, context: PromptContext, request_id: str) -> Generation:
        """Render and call; the text is cut to the version's ``max_output_chars``."""
        spec = prompt.spec
        self.check_providers(spec.model)
        chain = self.chain(spec.model)
        all_local = all(self.is_local(m) for m in chain)
        if not all_local and not self.settings.allow_external_user_text:
            if self.settings.external_text_policy == "refuse":
                raise ExternalTextRefusedError(
                    f"prompt_version {spec.version!r} uses an external model and user text may not leave"
                )
            context = redact_titles(context)
        messages: list[Any] = []
        if spec.system:
            messages.append({"role": "system", "content": self.sandbox.render(spec.system, context)})
        messages.append({"role": "user", "content": self.sandbox.render(spec.template, context)})
        extra: dict[str, Any] = {}
        if all_local:
            extra["metadata"] = {CONTEXT_METADATA_KEY: context.model_dump(mode="json")}
        try:
            response: Any = await self.router(prompt).acompletion(
                model=spec.version,
                messages=messages,
                temperature=spec.model.temperature,
                max_tokens=spec.model.max_tokens,
                **extra,
            )
        except Exception as e:  # every provider error type LiteLLM can raise ends here
            log.warning(
                "llm call failed request_id=%s version=%s error=%s",
                request_id,
                spec.version,
                type(e).__name__,
            )
            raise LLMCallError(f"every model of prompt_version {spec.version!r} failed") from e
        text = str(response.choices[0].message.content or "").strip()[: spec.max_output_chars]
        raw_usage = getattr(response, "usage", None)
        usage = Usage(
            prompt_tokens=int(getattr(raw_usage, "prompt_tokens", 0) or 0),
            completion_tokens=int(getattr(raw_usage, "completion_tokens", 0) or 0),
            total_tokens=int(getattr(raw_usage, "total_tokens", 0) or 0),
        )
        return Generation(text=text, model=str(response.model or spec.model.model), usage=usage)
