"""Errors of the generator and the one table that maps them to HTTP status codes."""

from __future__ import annotations

from collections.abc import Iterable
from http import HTTPStatus
from typing import Final


class GeneratorError(Exception):
    """Base of every error the generator raises on purpose."""


class InvalidRequestError(GeneratorError):
    """The request body does not match the V1 generator schema; the message names the field."""


class UnknownPromptVersionError(GeneratorError):
    """A requested prompt version is not in the registry."""

    def __init__(self, version: str, known: Iterable[str]) -> None:
        self.version = version
        self.known = sorted(known)
        listed = ", ".join(self.known) or "none"
        super().__init__(f"unknown prompt_version {version!r}; known versions: {listed}")


class PromptRegistryError(GeneratorError):
    """The registry has no usable version for a selection that is not the caller's fault."""


class TemplateRenderError(GeneratorError):
    """A template failed to render in the sandbox (unsafe access, undefined variable, too long)."""


class ContextUnavailableError(GeneratorError):
    """The online store could not be read in time."""


class ExternalTextRefusedError(GeneratorError):
    """User text would have left the cluster for an external provider, which settings forbid."""


class LLMCallError(GeneratorError):
    """Every model in the version's chain failed after retries."""


class RewardFeedError(GeneratorError):
    """The reward feed cannot reach the ``FEEDBACK`` stream (background only: requests never see it)."""


HTTP_STATUS: Final[dict[type[Exception], HTTPStatus]] = {
    InvalidRequestError: HTTPStatus.BAD_REQUEST,
    UnknownPromptVersionError: HTTPStatus.BAD_REQUEST,
    ExternalTextRefusedError: HTTPStatus.FORBIDDEN,
    PromptRegistryError: HTTPStatus.SERVICE_UNAVAILABLE,
    ContextUnavailableError: HTTPStatus.SERVICE_UNAVAILABLE,
    TemplateRenderError: HTTPStatus.INTERNAL_SERVER_ERROR,
    LLMCallError: HTTPStatus.BAD_GATEWAY,
}
