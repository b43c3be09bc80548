"""The generation service: validate → select a prompt version → assemble context → call the model.

Plain async code with no KServe in it, so unit tests drive it directly and the KServe model stays thin.
A version that cannot render a request's context within the size limit falls back to the default version
(counted), and is a 422 when the default cannot either: never a 500.
Exposure of an experiment arm is logged with ids only (request, user, experiment, arm, propensity); the
recommender's ``tip_shown`` event then carries ``prompt_version`` and ``propensity`` into the reward log.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from contracts.generator import GeneratorInstance, GeneratorPrediction, GeneratorRequest, SelectionSource
from contracts.prompt_context import PromptContext
from predictors.common.requests import parse_body
from predictors.generator.context import ContextAssembler
from predictors.generator.errors import InvalidRequestError, PromptTooLargeError, TemplateRenderError
from predictors.generator.gateway import Generation, LLMGateway
from predictors.generator.metrics import RENDER_OVERFLOW
from predictors.generator.registry import PromptRegistry
from predictors.generator.selection import Selected, Selector

log = logging.getLogger(__name__)
EXPOSURE_LOGGER = "tipsml.exposure"
exposure_log = logging.getLogger(EXPOSURE_LOGGER)


def keep_exposure_log() -> None:
    """Log every exposure whatever the server's level: it is the record rewards are bucketed by, not noise.

    The server runs at WARNING in a cluster; the exposure lines (request, arm, propensity) are INFO, so without
    this they were dropped with the chatter.
    """
    exposure_log.setLevel(logging.INFO)


def parse_request(payload: Any) -> GeneratorRequest:
    """The V1 body as a :class:`GeneratorRequest`; a bad body is a 400 naming the field."""
    return parse_body(GeneratorRequest, payload, InvalidRequestError)


class GenerationService:
    """Everything one ``:predict`` call does."""

    def __init__(
        self, registry: PromptRegistry, selector: Selector, assembler: ContextAssembler, gateway: LLMGateway
    ) -> None:
        self.registry = registry
        self.selector = selector
        self.assembler = assembler
        self.gateway = gateway

    async def generate(self, instance: GeneratorInstance) -> GeneratorPrediction:
        """One tip for one instance."""
        request_id = instance.request_id or uuid.uuid4().hex
        platform = instance.platform.value if instance.platform is not None else None
        selected = self.selector.select(instance.user_id, instance.prompt_version, platform, instance.profile_features)
        if selected.selection.source is SelectionSource.EXPERIMENT:
            s = selected.selection
            exposure_log.info(
                "exposure request_id=%s user_id=%s experiment=%s arm=%s propensity=%.4f",
                request_id,
                instance.user_id,
                s.experiment,
                s.arm,
                s.propensity,
            )
        context = await self.assembler.assemble(instance)
        try:
            generation = await self.gateway.generate(selected.prompt, context, request_id)
        except TemplateRenderError as e:
            selected, generation = await self._fallback(selected, context, request_id, e)
        return GeneratorPrediction(
            request_id=request_id,
            text=generation.text,
            prompt_version=selected.prompt.spec.version,
            model=generation.model,
            selection=selected.selection,
            usage=generation.usage,
        )

    async def _fallback(
        self, failed: Selected, context: PromptContext, request_id: str, error: TemplateRenderError
    ) -> tuple[Selected, Generation]:
        """Serve with the default version when the chosen one cannot render this context; else a 422.

        Published versions were checked against the worst-case context, so this happens only when this
        replica's ``max_prompt_chars`` is below the contract's limit: the user still gets a tip, and the
        counter shows which version overflowed.
        """
        version = failed.prompt.spec.version
        log.warning("render failed request_id=%s version=%s", request_id, version)  # no text: it may hold titles
        fallback = self.selector.default()
        if fallback.prompt.spec.version != version:
            try:
                generation = await self.gateway.generate(fallback.prompt, context, request_id)
            except TemplateRenderError:
                pass
            else:
                RENDER_OVERFLOW.labels(version, "fallback").inc()
                return fallback, generation
        RENDER_OVERFLOW.labels(version, "refused").inc()
        raise PromptTooLargeError(
            f"prompt_version {version!r} cannot render this request within the prompt size limit"
        ) from error

    async def predict(self, payload: Any) -> dict[str, Any]:
        """V1 body in, V1 body out; instances run concurrently."""
        request = parse_request(payload)
        predictions = await asyncio.gather(*(self.generate(i) for i in request.instances))
        return {"predictions": [p.model_dump(mode="json") for p in predictions]}
