"""Render untrusted prompt templates: Jinja2 immutable sandbox, StrictUndefined, bounded output.

Templates come from cluster objects (PromptVersion), so they are treated as hostile: attribute access to
private or unsafe members raises, nothing is callable but Jinja's own safe built-ins, the only variables are
the fields of :class:`contracts.prompt_context.PromptContext` (as plain JSON data, never Python objects), and
both string repetition and the rendered output are capped so a template cannot exhaust memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from contracts.prompt_context import PromptContext
from predictors.generator.errors import TemplateRenderError

MAX_REPEAT_CHARS: Final = 10_000
MAX_CACHED_TEMPLATES: Final = 64


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox plus a cap on ``*`` / ``**`` so ``'x' * 10**9`` cannot allocate."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > 64:
                raise SecurityError("exponent too large")
            return left**right
        for seq, times in ((left, right), (right, left)):
            sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
            if sized and len(seq) * times > MAX_REPEAT_CHARS:
                raise SecurityError("repetition too large")
        return left * right


class PromptSandbox:
    """Compiles and renders templates; one instance is shared by all prompt versions."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self._env = _BoundedSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
        # No range/lipsum/cycler/joiner/namespace/dict: the only names a template sees are PromptContext's.
        self._env.globals.clear()
        self._compiled: dict[str, Template] = {}

    def _compile(self, source: str) -> Template:
        template = self._compiled.get(source)
        if template is None:
            template = self._env.from_string(source)
            if len(self._compiled) >= MAX_CACHED_TEMPLATES:
                self._compiled.pop(next(iter(self._compiled)))
            self._compiled[source] = template
        return template

    def check(self, source: str) -> None:
        """Compile ``source`` and render it against the sample context; raise if either fails."""
        from contracts.prompt_context import sample_prompt_context

        self.render(source, sample_prompt_context())

    def render(self, source: str, context: PromptContext) -> str:
        """Render ``source`` with ``context``'s fields as the only variables."""
        try:
            template = self._compile(source)
            return _bounded_join(template.generate(context.model_dump(mode="json")), self.max_chars)
        except (SecurityError, TemplateError) as e:
            raise TemplateRenderError(f"template failed in the sandbox: {type(e).__name__}: {e}") from e
        except (TypeError, ValueError, ArithmeticError, OverflowError, RecursionError) as e:
            raise TemplateRenderError(f"template failed in the sandbox: {type(e).__name__}") from e


def _bounded_join(chunks: Iterator[str], max_chars: int) -> str:
    out: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_chars:
            raise TemplateRenderError(f"rendered prompt exceeds {max_chars} characters")
        out.append(chunk)
    return "".join(out)
