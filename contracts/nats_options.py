"""How every process of ours connects to NATS: the ingest consumers and the generator's reward feed.

Both follow the same streams with the same credentials and TLS settings, so the keyword arguments for
``nats.connect`` are built here once. Nothing connects here: the caller passes the result to ``nats.connect``.
Building a TLS context reads the CA and key files the settings name, when asked, never at import.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

RECONNECT_FOREVER: Final = -1
"""``max_reconnect_attempts`` that never gives up: a NATS restart or fail-over must not end a consumer."""
RECONNECT_WAIT_SECONDS: Final = 0.5
"""Pause between reconnect attempts: short, since every second down is a second of lag."""


@dataclass(frozen=True, slots=True)
class NatsConnection:
    """Where NATS is, who we are to it, and how to authenticate (from the process's settings)."""

    url: str
    """One URL or several, comma-separated (a cluster's seed servers)."""
    name: str
    """Client name, shown in the server's connection list."""
    creds_file: Path | None = None
    """NATS credentials file (JWT + NKey seed)."""
    tls_ca_file: Path | None = None
    """CA bundle to verify the server; unset with a client certificate: the system's CAs."""
    tls_cert_file: Path | None = None
    """Client certificate for mutual TLS (used together with ``tls_key_file``)."""
    tls_key_file: Path | None = None

    @property
    def uses_tls(self) -> bool:
        """A CA or a client certificate is named."""
        return self.tls_ca_file is not None or self.tls_cert_file is not None


class NatsAuthSettings(Protocol):
    """The NATS fields a deployable's settings carry (same names, so the same env variables, everywhere)."""

    @property
    def nats_creds_file(self) -> Path | None: ...  # noqa: D102
    @property
    def nats_tls_ca_file(self) -> Path | None: ...  # noqa: D102
    @property
    def nats_tls_cert_file(self) -> Path | None: ...  # noqa: D102
    @property
    def nats_tls_key_file(self) -> Path | None: ...  # noqa: D102


def nats_connection(settings: NatsAuthSettings, url: str, name: str) -> NatsConnection:
    """The connection at ``url`` as client ``name``, with the credentials and TLS files ``settings`` name."""
    return NatsConnection(
        url,
        name,
        settings.nats_creds_file,
        settings.nats_tls_ca_file,
        settings.nats_tls_cert_file,
        settings.nats_tls_key_file,
    )


def tls_context(connection: NatsConnection) -> ssl.SSLContext:
    """A client context that verifies the server with the CA named (else the system's), with our pair."""
    ca = connection.tls_ca_file
    context = ssl.create_default_context(cafile=str(ca) if ca is not None else None)
    if connection.tls_cert_file is not None and connection.tls_key_file is not None:
        context.load_cert_chain(str(connection.tls_cert_file), str(connection.tls_key_file))
    return context


def connect_options(connection: NatsConnection) -> dict[str, Any]:
    """Keyword arguments for ``nats.connect``: reconnect forever, credentials and TLS when named."""
    options: dict[str, Any] = {
        "servers": connection.url.split(","),
        "name": connection.name,
        "allow_reconnect": True,
        "max_reconnect_attempts": RECONNECT_FOREVER,
        "reconnect_time_wait": RECONNECT_WAIT_SECONDS,
    }
    if connection.creds_file is not None:
        options["user_credentials"] = str(connection.creds_file)
    if connection.uses_tls:
        options["tls"] = tls_context(connection)
    return options
