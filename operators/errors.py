"""Errors of the operator: one base, typed subclasses. Handlers turn them into kopf's retry semantics."""

from __future__ import annotations


class OperatorError(Exception):
    """Base of everything the operator raises on purpose."""


class InvalidPromptError(OperatorError):
    """A PromptVersion that can never become Ready as written (permanent: retrying cannot help)."""


class MetricsUnavailableError(OperatorError):
    """The metrics source could not be reached or answered garbage (temporary: retry later)."""


class RegistryError(OperatorError):
    """MLflow's model registry refused or failed an operation (temporary unless the model is missing)."""


class ModelVersionMissingError(RegistryError):
    """The candidate model version does not exist in the registry (permanent)."""


class KubernetesConflictError(OperatorError):
    """An update kept conflicting (409) after the retries (temporary)."""


class InferenceServiceMissingError(OperatorError):
    """The InferenceService a rollout targets does not exist (temporary: it may be created soon)."""


class CanaryUnsupportedError(OperatorError):
    """The InferenceService's KServe mode cannot split traffic between two model versions."""
