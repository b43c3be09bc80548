"""The generator's view of the shared prompt sandbox (:mod:`contracts.prompt_template`).

The sandbox itself lives in ``contracts`` so the operator validates a PromptVersion with exactly the rules
the generator renders it with: a version the operator publishes is one every generator loads. Here its
errors become the generator's own :class:`TemplateRenderError`, and two limits apply:

- loading a version (:meth:`PromptSandbox.check`) uses the contract's :data:`MAX_RENDERED_CHARS`, the same
  test the operator ran, whatever this replica's setting;
- a request (:meth:`PromptSandbox.render`) uses ``max_chars``, this replica's ``max_prompt_chars``.
"""

from __future__ import annotations

from typing import Final

from contracts.prompt_context import PromptContext
from contracts.prompt_template import PromptRenderer, PromptTemplateError, validate_template
from predictors.generator.errors import TemplateRenderError

MAX_CACHED_TEMPLATES: Final = 64


class PromptSandbox:
    """Compiles and renders templates; one instance is shared by all prompt versions."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self._renderer = PromptRenderer(max_cached=MAX_CACHED_TEMPLATES)

    def check(self, source: str) -> None:
        """Refuse ``source`` unless it renders for the sample and the worst-case context (as the operator does)."""
        try:
            validate_template(source, self._renderer)
        except PromptTemplateError as e:
            raise TemplateRenderError(f"template failed in the sandbox: {e}") from e

    def render(self, source: str, context: PromptContext) -> str:
        """Render ``source`` with ``context``'s fields as the only variables, within ``max_chars``."""
        try:
            return self._renderer.render(source, context, self.max_chars)
        except PromptTemplateError as e:
            raise TemplateRenderError(f"template failed in the sandbox: {e}") from e
