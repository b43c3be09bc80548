"""Errors of the CLI and the local stack: one base, typed subclasses, each message says what to do."""

from __future__ import annotations


class TipsmlError(Exception):
    """Base of every error the CLI reports without a traceback."""


class PortInUseError(TipsmlError):
    """A port the stack needs is taken by another process."""


class ProcessStartError(TipsmlError):
    """A process of the stack did not come up."""


class StackNotRunningError(TipsmlError):
    """A command needs the local stack; run `tipsml up` first."""


class NatsUnreachableError(TipsmlError):
    """The NATS server `up` needs (started or external) did not answer in time."""


class StreamsRefusedError(TipsmlError):
    """NATS answered but JetStream refused to create the streams (e.g. not enough storage for their limits)."""
