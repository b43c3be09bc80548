"""The one sandbox prompt templates render in, shared by the operator (validation) and the generator (use).

Templates come from cluster objects, so they are untrusted: they render in Jinja2's immutable sandbox (no
attribute tricks, no mutation), every undefined name is an error (``StrictUndefined``), a template may
reference only the top-level fields of :class:`~contracts.prompt_context.PromptContext` (no ``range``,
``lipsum``, ``cycler`` or any other global), nothing may build a string or list longer than
:data:`MAX_REPEAT_CHARS` in one step, and the rendered text is bounded. Rendering is pure (no I/O), which is
why it may live in ``contracts``.

The operator and the generator must agree on what is usable: a version the operator marks Ready but every
generator skips is silently missing. So both call :func:`validate_template`, which renders with the sample
context and with :func:`worst_case_prompt_context` (every list full, every title at its longest): a template
whose loops blow up only on a full task list is refused when it is published, not at request time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, Final

from jinja2 import StrictUndefined, TemplateError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from contracts.enums import TaskCategory, TaskPriority, TaskStatus
from contracts.profile import ProfileFeatures
from contracts.prompt_context import (
    MAX_OPEN_TASKS,
    MAX_RECENT_COMPLETED,
    MAX_TITLE_CHARS,
    PromptContext,
    TaskView,
    sample_prompt_context,
)

MAX_RENDERED_CHARS: Final = 12_000
"""Longest rendered prompt (template or system text) a published version may produce for any context."""
MAX_REPEAT_CHARS: Final = 10_000
"""Longest string or list one operation (``*``, a filter, a method call) may build: ``'x' * 10**10`` and
``'x'.center(10**9)`` are refused before they allocate."""
MAX_EXPONENT: Final = 64
ALLOWED_VARIABLES: Final = frozenset(PromptContext.model_fields)
_REFUSED_FILTERS: Final = frozenset({"format", "center", "indent", "wordwrap", "replace"})
"""Filters whose output size is set by an argument or a pattern the sandbox cannot bound in advance."""
_REFUSED_METHODS: Final = frozenset({"format", "format_map", "replace", "expandtabs"})


class PromptTemplateError(ValueError):
    """A template that cannot be used: bad syntax, unknown variables, a failed render or oversize output."""


def _check_size(value: Any) -> Any:
    if isinstance(value, str | list | tuple) and len(value) > MAX_REPEAT_CHARS:
        raise SecurityError("value too large")
    return value


def _check_args(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for arg in (*args, *kwargs.values()):
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > MAX_REPEAT_CHARS:
            raise SecurityError("numeric argument too large")


def _guarded(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)  # keeps jinja's pass_context / pass_environment marks
    def call(*args: Any, **kwargs: Any) -> Any:
        _check_args(args, kwargs)
        return _check_size(func(*args, **kwargs))

    return call


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with no globals, and no single step that can allocate without bound."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
        self.globals.clear()
        self.filters = {
            name: _guarded(f) for name, f in self.filters.items() if name not in _REFUSED_FILTERS
        }

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """``*`` capped by size, ``**`` by exponent, ``%`` only between numbers (no printf-style padding)."""
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError("exponent too large")
            return left**right
        if operator == "%":
            if isinstance(left, str):
                raise SecurityError("string formatting with % is not allowed")
            return left % right
        for seq, times in ((left, right), (right, left)):
            sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
            if sized and len(seq) * times > MAX_REPEAT_CHARS:
                raise SecurityError("repetition too large")
        return left * right

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        """Method calls: no padding or formatting to a size the template picks, no oversize result."""
        if getattr(__obj, "__name__", None) in _REFUSED_METHODS:
            raise SecurityError(f"{__obj.__name__}() is not allowed in a prompt template")
        _check_args(args, kwargs)
        return _check_size(super().call(__context, __obj, *args, **kwargs))


def _environment() -> BoundedSandbox:
    return BoundedSandbox()


def template_variables(template: str) -> set[str]:
    """The top-level names ``template`` reads (raises :class:`PromptTemplateError` on a syntax error)."""
    env = _environment()
    try:
        return set(meta.find_undeclared_variables(env.parse(template)))
    except TemplateError as e:
        raise PromptTemplateError(f"template syntax error: {e}") from e


def check_variables(template: str) -> None:
    """Reject a template that reads anything but PromptContext fields."""
    unknown = sorted(template_variables(template) - ALLOWED_VARIABLES)
    if unknown:
        raise PromptTemplateError(
            f"unknown variables: {', '.join(unknown)} (allowed: {', '.join(sorted(ALLOWED_VARIABLES))})"
        )


def bounded_join(chunks: Iterator[str], max_chars: int) -> str:
    """Join rendered chunks, stopping as soon as the text would pass ``max_chars``."""
    out: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_chars:
            raise PromptTemplateError(f"rendered prompt is more than {max_chars} characters")
        out.append(chunk)
    return "".join(out)


class PromptRenderer:
    """Compiles and renders templates in one :class:`BoundedSandbox`; compiled templates are cached."""

    def __init__(self, max_cached: int = 64) -> None:
        self._env = _environment()
        self._compiled: dict[str, Any] = {}
        self._max_cached = max_cached

    def render(self, template: str, context: PromptContext, max_chars: int = MAX_RENDERED_CHARS) -> str:
        """Render ``template`` with ``context``; :class:`PromptTemplateError` on any failure or oversize."""
        compiled = self._compiled.get(template)
        if compiled is None:
            check_variables(template)
            try:
                compiled = self._env.from_string(template)
            except TemplateError as e:
                raise PromptTemplateError(f"template syntax error: {e}") from e
            if len(self._compiled) >= self._max_cached:
                self._compiled.pop(next(iter(self._compiled)))
            self._compiled[template] = compiled
        try:
            return bounded_join(compiled.generate(context.model_dump(mode="json")), max_chars)
        except PromptTemplateError:
            raise
        except Exception as e:  # untrusted code: any failure (sandbox, type, arithmetic) means unusable
            raise PromptTemplateError(f"template failed to render: {type(e).__name__}: {e}") from e


def render_prompt(template: str, context: PromptContext, max_chars: int = MAX_RENDERED_CHARS) -> str:
    """Render ``template`` with ``context`` in the sandbox; the result is at most ``max_chars`` long."""
    return PromptRenderer(max_cached=1).render(template, context, max_chars)


def worst_case_prompt_context() -> PromptContext:
    """The largest context a generator can build: every list full, every title at its maximum length."""

    def task(i: int, status: TaskStatus) -> TaskView:
        return TaskView(
            task_id=f"t-{i:04d}".ljust(128, "0"),
            title=("W" * MAX_TITLE_CHARS),
            category=TaskCategory.WORK,
            priority=TaskPriority.HIGH,
            status=status,
            due_in_hours=-12345.5,
        )

    open_tasks = [task(i, TaskStatus.OPEN) for i in range(MAX_OPEN_TASKS)]
    return PromptContext(
        user_id="u" * 128,
        local_hour=23,
        weekday="Wednesday",
        open_tasks=open_tasks,
        recent_completed=[task(100 + i, TaskStatus.DONE) for i in range(MAX_RECENT_COMPLETED)],
        focus_task=open_tasks[0],
        top_category=TaskCategory.WORK,
        completion_rate=0.123456789,
        profile=ProfileFeatures(
            completion_rate_30d=0.123456789,
            preferred_hour=23,
            active_days_30d=30,
            tip_volume_7d=10**9,
            like_rate_30d=0.123456789,
            streak_days=10**6,
            tenure_days=10**6,
            notifications_enabled=True,
            locale="x" * 35,
        ),
    )


def validate_template(
    template: str, renderer: PromptRenderer | None = None, max_chars: int = MAX_RENDERED_CHARS
) -> None:
    """Refuse a template unless it renders, within ``max_chars``, for the sample and the worst-case context."""
    renderer = renderer or PromptRenderer(max_cached=1)
    for label, context in (("sample", sample_prompt_context()), ("worst-case", worst_case_prompt_context())):
        try:
            renderer.render(template, context, max_chars)
        except PromptTemplateError as e:
            raise PromptTemplateError(f"{e} (with the {label} context)") from e
