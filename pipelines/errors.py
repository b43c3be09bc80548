"""Errors of the training pipeline: one base, typed subclasses; each message says what went wrong."""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error a pipeline step raises on purpose."""


class NoDataError(PipelineError):
    """The event log holds nothing to train on (no impressions, or a single label class)."""


class FeatureStoreError(PipelineError):
    """Feast could not apply, materialize or serve the features the model needs."""


class FairnessGateError(PipelineError):
    """A fairness threshold failed: the model is not registered."""


class RegistryError(PipelineError):
    """MLflow registration or alias handling failed."""


class CompileError(PipelineError):
    """The pipeline could not be compiled to YAML."""


class SubmitError(PipelineError):
    """The KFP API rejected the run or could not be reached."""
