"""The shared prompt renderer: sandboxed, strict, bounded."""

from __future__ import annotations

import pytest

from contracts.prompt_context import sample_prompt_context
from contracts.prompt_template import PromptTemplateError, check_variables, render_prompt


def test_renders_context_fields() -> None:
    template = "{{ weekday }}: {{ focus_task.title }} ({{ open_tasks | length }} open)"
    text = render_prompt(template, sample_prompt_context())
    assert text == "Monday: Send the quarterly report (2 open)"


@pytest.mark.parametrize(
    ("template", "fragment"),
    [
        ("Hi {{ password }}", "unknown variables: password"),
        ("{{ focus_task.nope }}", "failed to render"),
        ("{% for x in open_tasks %}", "syntax error"),
        ("{{ ''.__class__.__mro__ }}", "failed to render"),
        ("{{ open_tasks.append(1) }}", "failed to render"),
    ],
)
def test_rejects_unusable_templates(template: str, fragment: str) -> None:
    with pytest.raises(PromptTemplateError, match=fragment):
        render_prompt(template, sample_prompt_context())


def test_output_is_bounded() -> None:
    with pytest.raises(PromptTemplateError, match="more than 50"):
        template = "{% for t in open_tasks %}{{ weekday * 10 }}{% endfor %}"
        render_prompt(template, sample_prompt_context(), max_chars=50)


def test_loop_variables_are_not_unknown() -> None:
    check_variables("{% for t in open_tasks %}{{ t.title }}{% endfor %}{% set n = 1 %}{{ n }}")


# Issue 19, defect 7: one sandbox for the operator and the generator, validated against the worst case.

from contracts.prompt_template import (  # noqa: E402
    MAX_RENDERED_CHARS,
    PromptRenderer,
    validate_template,
    worst_case_prompt_context,
)

REFUSED_BY_BOTH = [
    "{{ 'x' * 10**10 }}",
    "{{ 'x' * 100000 }}",
    "{% for i in range(3) %}x{% endfor %}",
    "{{ 'x'.center(1000000000) }}",
    "{{ 'x' | center(1000000000) }}",
    "{{ '%0999999999d' % 1 }}",
    "{{ '{:>999999999}'.format('x') }}",
    "{{ ('x' * 9000).replace('x', 'yyyyyyyyyy') }}",
    "{{ 9 ** 99999 }}",
    "{{ lipsum() }}",
]


@pytest.mark.parametrize("template", REFUSED_BY_BOTH)
def test_the_operator_and_the_generator_refuse_the_same_templates(template: str) -> None:
    from operators.errors import InvalidPromptError
    from operators.prompts import validate_prompt
    from predictors.generator.errors import TemplateRenderError
    from predictors.generator.sandbox import PromptSandbox

    with pytest.raises(PromptTemplateError):
        validate_template(template)
    with pytest.raises(InvalidPromptError):
        validate_prompt({"version": "v9", "template": template})
    with pytest.raises(TemplateRenderError):
        PromptSandbox(MAX_RENDERED_CHARS).check(template)


def test_nested_loops_that_pass_with_the_sample_fail_with_the_worst_case() -> None:
    from operators.errors import InvalidPromptError
    from operators.prompts import validate_prompt

    nested = "{% for a in open_tasks %}{% for b in open_tasks %}{{ a.title }}{{ b.title }}{% endfor %}{% endfor %}"
    assert render_prompt(nested, sample_prompt_context())  # what the old validation checked: it passed
    with pytest.raises(PromptTemplateError, match="worst-case"):
        validate_template(nested)
    with pytest.raises(InvalidPromptError, match="spec.template"):
        validate_prompt({"version": "v9", "template": nested})


def test_worst_case_context_fills_every_bounded_field() -> None:
    ctx = worst_case_prompt_context()
    assert len(ctx.open_tasks) == 8 and len(ctx.recent_completed) == 5
    assert all(len(t.title) == 120 for t in ctx.open_tasks)
    shipped = "{% for t in open_tasks %}- {{ t.title }} ({{ t.category }}){% endfor %}"
    assert len(PromptRenderer().render(shipped, ctx)) < MAX_RENDERED_CHARS
