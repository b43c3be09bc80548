"""Errors of the simulator: one base, typed subclasses; messages say what to do."""

from __future__ import annotations

from tipsml.errors import TipsmlError


class SimulateError(TipsmlError):
    """Base of every simulator error the CLI reports without a traceback."""


class PublishError(SimulateError):
    """Events could not be published to JetStream."""
