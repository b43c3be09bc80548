"""NATS connect options built once for the consumers and the generator's reward feed."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from contracts.nats_options import (
    RECONNECT_FOREVER,
    RECONNECT_WAIT_SECONDS,
    NatsConnection,
    connect_options,
    nats_connection,
)
from predictors.generator.settings import GeneratorSettings
from streams.settings import ConsumerSettings

CA_NAME = "nats-test-ca"


def write_self_signed(folder: Path) -> tuple[Path, Path]:
    """A self-signed CA certificate and its key: enough for a CA bundle and a client pair."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "ca.crt", folder / "ca.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


def test_plain_connection_reconnects_forever() -> None:
    options = connect_options(NatsConnection("nats://a:4222,nats://b:4222", "tipsml-consumer"))
    assert options == {
        "servers": ["nats://a:4222", "nats://b:4222"],
        "name": "tipsml-consumer",
        "allow_reconnect": True,
        "max_reconnect_attempts": RECONNECT_FOREVER,
        "reconnect_time_wait": RECONNECT_WAIT_SECONDS,
    }


def test_credentials_file_is_passed_by_path(tmp_path: Path) -> None:
    creds = tmp_path / "user.creds"
    options = connect_options(NatsConnection("nats://a:4222", "x", creds_file=creds))
    assert options["user_credentials"] == str(creds) and "tls" not in options


def test_tls_with_a_ca_and_a_client_pair(tmp_path: Path) -> None:
    cert, key = write_self_signed(tmp_path)
    connection = NatsConnection("tls://a:4222", "x", tls_ca_file=cert, tls_cert_file=cert, tls_key_file=key)
    context = connect_options(connection)["tls"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", CA_NAME),),)]


def test_a_missing_ca_file_fails_when_options_are_built(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        connect_options(NatsConnection("tls://a:4222", "x", tls_ca_file=tmp_path / "missing.crt"))


def test_both_deployables_settings_name_the_same_files(tmp_path: Path) -> None:
    files: dict[str, Any] = {
        "nats_creds_file": tmp_path / "c.creds",
        "nats_tls_ca_file": tmp_path / "ca.crt",
        "nats_tls_cert_file": tmp_path / "tls.crt",
        "nats_tls_key_file": tmp_path / "tls.key",
    }
    consumer = nats_connection(ConsumerSettings(**files), "nats://n:4222", "tipsml-consumer")
    generator = nats_connection(GeneratorSettings(**files), "nats://n:4222", "tipsml-consumer")
    assert consumer == generator
    assert consumer.creds_file == files["nats_creds_file"] and consumer.tls_key_file == files["nats_tls_key_file"]
