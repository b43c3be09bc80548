"""The generation service: validate → select a prompt version → assemble context → call the model.

Plain async code with no KServe in it, so unit tests drive it directly and the KServe model stays thin.
Exposure of an experiment arm is logged with ids only (request, user, experiment, arm, propensity); the
recommender's ``tip_shown`` event then carries ``prompt_version`` and ``propensity`` into the reward log.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from contracts.generator import GeneratorInstance, GeneratorPrediction, GeneratorRequest, SelectionSource
from predictors.common.requests import parse_body
from predictors.generator.context import ContextAssembler
from predictors.generator.errors import InvalidRequestError
from predictors.generator.gateway import LLMGateway
from predictors.generator.registry import PromptRegistry
from predictors.generator.selection import Selector

log = logging.getLogger(__name__)
exposure_log = logging.getLogger("tipsml.exposure")


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
        selected = self.selector.select(instance.user_id, instance.prompt_version)
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
        generation = await self.gateway.generate(selected.prompt, context, request_id)
        return GeneratorPrediction(
            request_id=request_id,
            text=generation.text,
            prompt_version=selected.prompt.spec.version,
            model=generation.model,
            selection=selected.selection,
            usage=generation.usage,
        )

    async def predict(self, payload: Any) -> dict[str, Any]:
        """V1 body in, V1 body out; instances run concurrently."""
        request = parse_request(payload)
        predictions = await asyncio.gather(*(self.generate(i) for i in request.instances))
        return {"predictions": [p.model_dump(mode="json") for p in predictions]}
