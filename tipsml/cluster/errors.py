"""Errors of the clusters this machine runs: one base, a subclass per way they fail."""

from __future__ import annotations


class DevClusterError(Exception):
    """Base of every error raised while starting, probing or stopping the dev control plane."""


class BinariesMissingError(DevClusterError):
    """The control-plane tools are not built yet; the message says how to build them."""


class ToolError(DevClusterError):
    """kubectl or helm exited non-zero; the message carries the command and its stderr."""


class StartupError(DevClusterError):
    """A process exited or the API server did not become ready; carries the tail of its log."""


class NodeError(DevClusterError):
    """The node could not start, or a check of it failed; the message says which part and where its log is."""
