"""Sandboxed rendering of prompt templates, shared by the operator (validation) and the generator (use).

Templates come from cluster objects, so they are untrusted: they render in Jinja2's immutable sandbox (no
attribute tricks, no mutation), every undefined name is an error (``StrictUndefined``), a template may
reference only the top-level fields of :class:`~contracts.prompt_context.PromptContext`, and the rendered
text is bounded. Rendering is pure (no I/O), which is why it may live in ``contracts``.
"""

from __future__ import annotations

from typing import Any, Final

from jinja2 import StrictUndefined, TemplateError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from contracts.prompt_context import PromptContext

MAX_RENDERED_CHARS: Final = 16_000
ALLOWED_VARIABLES: Final = frozenset(PromptContext.model_fields)


class PromptTemplateError(ValueError):
    """A template that cannot be used: bad syntax, unknown variables, a failed render or oversize output."""


def _environment() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def template_variables(template: str) -> set[str]:
    """The top-level names ``template`` reads (raises :class:`PromptTemplateError` on a syntax error)."""
    try:
        parsed = _environment().parse(template)
    except TemplateError as e:
        raise PromptTemplateError(f"template syntax error: {e}") from e
    return set(meta.find_undeclared_variables(parsed))


def check_variables(template: str) -> None:
    """Reject a template that reads anything but PromptContext fields."""
    unknown = sorted(template_variables(template) - ALLOWED_VARIABLES)
    if unknown:
        raise PromptTemplateError(
            f"unknown variables: {', '.join(unknown)} (allowed: {', '.join(sorted(ALLOWED_VARIABLES))})"
        )


def render_prompt(template: str, context: PromptContext, max_chars: int = MAX_RENDERED_CHARS) -> str:
    """Render ``template`` with ``context`` in the sandbox; the result is at most ``max_chars`` long."""
    check_variables(template)
    variables: dict[str, Any] = context.model_dump(mode="json")
    try:
        text = _environment().from_string(template).render(variables)
    except Exception as e:  # untrusted code: any failure (sandbox, type, arithmetic) means unusable
        raise PromptTemplateError(f"template failed to render: {type(e).__name__}: {e}") from e
    if len(text) > max_chars:
        raise PromptTemplateError(f"rendered prompt is {len(text)} characters, more than {max_chars}")
    return text
