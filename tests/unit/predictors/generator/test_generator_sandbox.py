import pytest

from contracts.prompt_context import sample_prompt_context
from predictors.generator.errors import TemplateRenderError
from predictors.generator.sandbox import PromptSandbox

ESCAPES = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ user_id.__class__ }}",
    "{{ open_tasks.__class__.__base__ }}",
    "{{ focus_task.__init__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'] }}",
    "{{ self._TemplateReference__context }}",
    "{{ open_tasks.append(1) }}",
    "{{ profile.update({'a': 1}) }}",
    "{{ config }}",
    "{{ request }}",
    "{{ range(10) | list }}",
    "{{ 'x' * 100000000 }}",
    "{{ 9 ** 999999 }}",
    "{{ undefined_variable }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_escapes_and_unknown_names_are_refused(source: str) -> None:
    with pytest.raises(TemplateRenderError):
        PromptSandbox(4000).render(source, sample_prompt_context())


def test_output_length_is_bounded() -> None:
    loop = "{% for t in open_tasks %}{% for u in open_tasks %}" + "x" * 300 + "{% endfor %}{% endfor %}"
    with pytest.raises(TemplateRenderError, match="more than 1000 characters"):
        PromptSandbox(1000).render(loop, sample_prompt_context())


def test_prompt_context_fields_render() -> None:
    out = PromptSandbox(4000).render(
        "{{ weekday }} {{ local_hour }} {{ focus_task.title }} {{ open_tasks | length }}"
        " {{ profile.tenure_days }}",
        sample_prompt_context(),
    )
    assert out == "Monday 9 Send the quarterly report 2 120"
