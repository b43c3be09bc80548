"""``tipsml/offline``: a LiteLLM ``CustomLLM`` provider that writes tips from the shipped corpus, offline.

It is a real LiteLLM provider, so the Router's timeouts, retries and fallbacks apply to it exactly as to a
remote model. Grounding: the gateway passes the (possibly redacted) PromptContext in the call's
``metadata``; the provider picks the focus task (or the most pressing open task, or the user's top category)
and a corpus tip for that category, filling in the task title when the prompt carried one. The choice is a
hash of the seed and the messages, so the same request gives the same tip and a different prompt version
usually gives a different one.

``tipsml/fail`` always fails with a 503, so fallback chains can be exercised without a network.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

import litellm
from litellm.llms.custom_llm import CustomLLM, CustomLLMError
from litellm.types.utils import ModelResponse, Usage

from contracts.enums import TaskCategory, TaskPriority
from contracts.prompt_context import PromptContext, TaskView
from predictors.generator.corpus import TipCorpus, load_corpus

PROVIDER: Final = "tipsml"
CONTEXT_METADATA_KEY: Final = "tipsml_context"
_PRIORITY_RANK: Final = {
    TaskPriority.URGENT: 0,
    TaskPriority.HIGH: 1,
    TaskPriority.MEDIUM: 2,
    TaskPriority.LOW: 3,
}


def most_pressing(tasks: list[TaskView]) -> TaskView | None:
    """Highest priority first, then the soonest (or most overdue) due date; undated tasks last."""
    if not tasks:
        return None
    return min(
        tasks, key=lambda t: (_PRIORITY_RANK[t.priority], t.due_in_hours is None, t.due_in_hours or 0.0)
    )


def write_tip(corpus: TipCorpus, context: PromptContext | None, key: bytes, max_words: int) -> str:
    """The tip for ``context``; ``key`` makes the choice deterministic."""
    digest = hashlib.sha256(key).digest()
    task = None
    if context is not None:
        task = context.focus_task or most_pressing(context.open_tasks)
    if task is not None:
        category = task.category
    elif context is not None and context.top_category is not None:
        category = context.top_category
    else:
        categories = list(TaskCategory)
        category = categories[digest[0] % len(categories)]
    title = task.title.strip() if task is not None else ""
    choices = corpus.choices(category, has_title=bool(title))
    tip = choices[int.from_bytes(digest[1:5], "big") % len(choices)]
    words = tip.render(title).split()
    return " ".join(words[:max_words])


class OfflineTipLLM(CustomLLM):
    """The offline provider; register with :func:`register_offline_provider`."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.seed = seed
        self.corpus = load_corpus()

    def _respond(
        self,
        model: str,
        messages: list[dict[str, Any]],
        model_response: ModelResponse,
        optional_params: dict[str, Any],
        litellm_params: dict[str, Any] | None,
    ) -> ModelResponse:
        if model.endswith("fail"):
            raise CustomLLMError(status_code=503, message="tipsml/fail always fails")  # type: ignore[no-untyped-call]
        metadata = (litellm_params or {}).get("metadata") or {}
        raw = metadata.get(CONTEXT_METADATA_KEY)
        context = PromptContext.model_validate(raw) if raw is not None else None
        key = json.dumps([self.seed, model, messages], sort_keys=True, default=str).encode()
        max_words = int(optional_params.get("max_tokens") or 120)
        text = write_tip(self.corpus, context, key, max_words)
        model_response.choices[0].message.content = text
        model_response.model = f"{PROVIDER}/{model}"
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in messages)
        completion_tokens = len(text.split())
        model_response.usage = Usage(  # type: ignore[attr-defined]
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        )
        return model_response

    def completion(
        self,
        model: str,
        messages: list[Any],
        api_base: str,
        custom_prompt_dict: dict[str, Any],
        model_response: ModelResponse,
        print_verbose: Any,
        encoding: Any,
        api_key: Any,
        logging_obj: Any,
        optional_params: dict[str, Any],
        acompletion: Any = None,
        litellm_params: Any = None,
        logger_fn: Any = None,
        headers: Any = None,
        timeout: Any = None,
        client: Any = None,
    ) -> ModelResponse:
        """Synchronous completion."""
        return self._respond(model, messages, model_response, optional_params, litellm_params)

    async def acompletion(
        self,
        model: str,
        messages: list[Any],
        api_base: str,
        custom_prompt_dict: dict[str, Any],
        model_response: ModelResponse,
        print_verbose: Any,
        encoding: Any,
        api_key: Any,
        logging_obj: Any,
        optional_params: dict[str, Any],
        acompletion: Any = None,
        litellm_params: Any = None,
        logger_fn: Any = None,
        headers: Any = None,
        timeout: Any = None,
        client: Any = None,
    ) -> ModelResponse:
        """Asynchronous completion: the same work, no I/O, so no thread hop."""
        return self._respond(model, messages, model_response, optional_params, litellm_params)


def register_offline_provider(seed: int = 0) -> OfflineTipLLM:
    """Make ``tipsml/...`` models resolve to the offline provider (idempotent; replaces an earlier one)."""
    handler = OfflineTipLLM(seed)
    others = [p for p in litellm.custom_provider_map if p.get("provider") != PROVIDER]
    litellm.custom_provider_map = [*others, {"provider": PROVIDER, "custom_handler": handler}]
    return handler
