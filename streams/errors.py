"""Errors of the ingest consumers: one base, typed subclasses, raised ``from`` their cause."""

from __future__ import annotations


class IngestError(Exception):
    """Base of every error the consumers raise."""


class ConnectError(IngestError):
    """NATS could not be reached or JetStream is not enabled."""


class WriteError(IngestError):
    """A batch could not be made durable (event log, state DB or online store); it is retried."""


class RecoveryError(IngestError):
    """Leftovers of an interrupted batch could not be reconciled at start-up."""


class PusherError(IngestError):
    """The online pusher process could not start (it failed to open the Feast store, or took too long)."""


class StreamSetupError(IngestError):
    """JetStream refused to create or update a stream; the message says what to change."""
