"""PromptVersion logic, free of kopf: validate a spec, and the status that reports the outcome.

A template is usable when it renders in the shared sandbox (:mod:`contracts.prompt_template`, the one the
generator uses) with the sample and the worst-case PromptContext, within the contract's output limit, and the
system text does too: unknown variables, syntax errors, sandbox escapes and loops that only blow up on a full
task list are caught before any generator loads the version, so nothing Ready is skipped by a generator.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from contracts.crds import PromptPhase, PromptVersionSpec, PromptVersionStatus
from contracts.prompt_registry import content_hash
from contracts.prompt_template import PromptTemplateError, validate_template
from contracts.validation import describe, field_errors
from operators.conditions import set_condition
from operators.errors import InvalidPromptError


def validate_prompt(raw_spec: dict[str, Any]) -> PromptVersionSpec:
    """The parsed spec, or :class:`InvalidPromptError` naming what is wrong."""
    try:
        spec = PromptVersionSpec.model_validate(raw_spec)
    except ValidationError as e:
        raise InvalidPromptError(f"invalid spec: {describe(field_errors(e))}") from e
    for field, text in (("spec.template", spec.template), ("spec.system", spec.system)):
        try:
            validate_template(text)
        except PromptTemplateError as e:
            raise InvalidPromptError(f"{field}: {e}") from e
    return spec


def ready_status(
    spec: PromptVersionSpec, old: PromptVersionStatus, now: datetime, generation: int | None
) -> PromptVersionStatus:
    """Status of a published version (``publishedAt`` kept when the content did not change)."""
    digest = content_hash(spec)
    published = old.published_at if old.content_hash == digest and old.published_at else now
    conditions = set_condition(
        old.conditions, "Ready", "True", "Published", "in the prompt registry", now=now, generation=generation
    )
    return PromptVersionStatus(
        phase=PromptPhase.READY,
        content_hash=digest,
        observed_generation=generation,
        published_at=published,
        message="published",
        conditions=conditions,
    )


def invalid_status(
    error: InvalidPromptError, old: PromptVersionStatus, now: datetime, generation: int | None
) -> PromptVersionStatus:
    """Status of a version that cannot be published as written."""
    conditions = set_condition(
        old.conditions, "Ready", "False", "Invalid", str(error), now=now, generation=generation
    )
    return PromptVersionStatus(
        phase=PromptPhase.INVALID, observed_generation=generation, message=str(error), conditions=conditions
    )
