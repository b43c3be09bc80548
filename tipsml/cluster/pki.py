"""Credentials of the dev control plane: a CA, the API server's serving pair, a service-account key.

Kept apart from the process handling in :mod:`tipsml.cluster.dev`; only ``cryptography`` is needed,
no ``openssl`` binary, so the same code runs on any machine with the Python dependencies.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CONTEXT = "tipsml-dev"


def write_credentials(state_dir: Path) -> str:
    """Write a CA, the API server's serving pair, the service-account key and the token file.

    Everything is new per start, so a leaked state folder never opens a later cluster. Returns the
    admin token (member of ``system:masters``), which the API server reads from ``tokens.csv``.
    """
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "tipsml-dev-ca")])
    ca_cert = (
        _cert_builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [
        x509.DNSName(dns)
        for dns in ("localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc")
    ]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ("127.0.0.1", "10.0.0.1")]
    server_cert = (
        _cert_builder(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]),
            ca_name,
            server_key.public_key(),
            now,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    sa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = secrets.token_urlsafe(32)
    pem = serialization.Encoding.PEM
    write_file(state_dir / "ca.crt", ca_cert.public_bytes(pem))
    write_file(state_dir / "apiserver.crt", server_cert.public_bytes(pem))
    write_file(state_dir / "apiserver.key", _private_pem(server_key), secret=True)
    write_file(state_dir / "sa.key", _private_pem(sa_key), secret=True)
    public = sa_key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo)
    write_file(state_dir / "sa.pub", public)
    write_file(state_dir / "tokens.csv", f'{token},admin,admin,"system:masters"\n', secret=True)
    write_file(state_dir / "token", token + "\n", secret=True)
    return token


def _cert_builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePublicKey, now: datetime
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=30))
    )


def _key_usage(cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=not cert_sign,
        data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign, crl_sign=cert_sign,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip


def _private_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_kubeconfig(path: Path, server: str, ca_file: Path, token: str) -> None:
    """Write an admin kubeconfig; it holds the token, so only the owner may read it."""
    ca_data = base64.b64encode(ca_file.read_bytes()).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [
            {"name": CONTEXT, "context": {"cluster": CONTEXT, "user": "admin", "namespace": "default"}}
        ],
        "current-context": CONTEXT,
    }
    write_file(path, yaml.safe_dump(config, sort_keys=False), secret=True)


def write_file(path: Path, data: str | bytes, secret: bool = False) -> None:
    """Write ``data`` created with owner-only permissions when it is a key or a token."""
    raw = data.encode() if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(raw)
