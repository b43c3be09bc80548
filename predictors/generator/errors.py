"""Errors of the generator and the one table that maps them to HTTP status codes."""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Final

from contracts.validation import FieldError, describe
from predictors.common.errors import error_table
from predictors.common.http_errors import ErrorTable


class GeneratorError(Exception):
    """Base of every error the generator raises on purpose."""


class InvalidRequestError(GeneratorError):
    """The request body does not match the V1 generator schema; the message names each offending field."""

    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__(describe(self.errors))


class GeneratorNotReadyError(GeneratorError):
    """A request arrived before the service was built."""


class UnknownPromptVersionError(GeneratorError):
    """A requested prompt version is not in the registry."""

    def __init__(self, version: str) -> None:
        self.version = version
        # No catalogue of versions: callers are anonymous, and the names of unreleased variants are not theirs.
        super().__init__(f"prompt_version {version!r} is unknown")


class PromptRegistryError(GeneratorError):
    """The registry has no usable version for a selection that is not the caller's fault."""


class TemplateRenderError(GeneratorError):
    """A template failed to render in the sandbox (unsafe access, undefined variable, too long)."""


class PromptTooLargeError(GeneratorError):
    """The selected version, and the default after it, cannot render this request's context within the limit."""


class ExternalTextRefusedError(GeneratorError):
    """User text would have left the cluster for an external provider, which settings forbid."""


class ProviderRefusedError(GeneratorError):
    """A version names an LLM endpoint or API key the platform does not allow.

    Its apiBase is not on the allow-list, or its apiKeySecret is not a mounted Secret key: the version cannot
    be served as written, whoever asks.
    """


class LLMCallError(GeneratorError):
    """Every model in the version's chain failed after retries."""


class RewardFeedError(GeneratorError):
    """The reward feed cannot reach the ``FEEDBACK`` stream (background only: requests never see it)."""


HTTP_STATUS: Final[ErrorTable] = error_table(
    {
        InvalidRequestError: HTTPStatus.BAD_REQUEST,
        UnknownPromptVersionError: HTTPStatus.BAD_REQUEST,
        ExternalTextRefusedError: HTTPStatus.FORBIDDEN,
        ProviderRefusedError: HTTPStatus.FORBIDDEN,
        PromptRegistryError: HTTPStatus.SERVICE_UNAVAILABLE,
        PromptTooLargeError: HTTPStatus.UNPROCESSABLE_ENTITY,
        TemplateRenderError: HTTPStatus.UNPROCESSABLE_ENTITY,
        LLMCallError: HTTPStatus.BAD_GATEWAY,
    },
    base=GeneratorError,
    not_ready=GeneratorNotReadyError,
)
"""The one place a generator error becomes a status code."""
