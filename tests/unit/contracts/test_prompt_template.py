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
        template = "{% for i in range(100) %}{{ weekday }}{% endfor %}"
        render_prompt(template, sample_prompt_context(), max_chars=50)


def test_loop_variables_are_not_unknown() -> None:
    check_variables("{% for t in open_tasks %}{{ t.title }}{% endfor %}{% set n = 1 %}{{ n }}")
