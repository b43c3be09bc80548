"""The operator refuses a PromptVersion that names a file instead of a Secret key (issue 19, defect 1)."""

from __future__ import annotations

import pytest

from operators.errors import InvalidPromptError
from operators.prompts import validate_prompt


@pytest.mark.parametrize("ref", ["x//var/run/secrets/kubernetes.io/serviceaccount/token", "../../f", "s/..", "S/k"])
def test_api_key_secret_must_be_a_secret_name_and_key(ref: str) -> None:
    spec = {"version": "v9", "template": "Hi {{ weekday }}", "model": {"model": "openai/x", "apiKeySecret": ref}}
    with pytest.raises(InvalidPromptError, match=r"spec\.model\.apiKeySecret|model\.apiKeySecret"):
        validate_prompt(spec)


def test_a_secret_name_and_key_is_accepted() -> None:
    spec = {"version": "v9", "template": "Hi", "model": {"model": "openai/x", "apiKeySecret": "openai/api-key"}}
    assert validate_prompt(spec).model.api_key_secret == "openai/api-key"
