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


def write_credentials(state_dir: Path, server_ips: tuple[str, ...]) -> str:
    """Write a CA, the API server's serving pair, the service-account key and the token file.

    Everything is new per start, so a leaked state folder never opens a later cluster. Returns the
    admin token (member of ``system:masters``), which the API server reads from ``tokens.csv``.
    ``server_ips`` are the addresses clients reach the API server by (its bind address and the
    ``kubernetes`` Service's cluster IP). The CA key stays beside the CA (owner-only) so that
    :func:`write_client_pair` can sign the few client certificates a node needs.
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
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in server_ips]
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
    write_file(state_dir / "ca.key", _private_pem(ca_key), secret=True)
    write_file(state_dir / "apiserver.crt", server_cert.public_bytes(pem))
    write_file(state_dir / "apiserver.key", _private_pem(server_key), secret=True)
    write_file(state_dir / "sa.key", _private_pem(sa_key), secret=True)
    public = sa_key.public_key().public_bytes(pem, serialization.PublicFormat.SubjectPublicKeyInfo)
    write_file(state_dir / "sa.pub", public)
    write_file(state_dir / "tokens.csv", f'{token},admin,admin,"system:masters"\n', secret=True)
    write_file(state_dir / "token", token + "\n", secret=True)
    return token


def write_client_pair(state_dir: Path, stem: str, common_name: str, organization: str) -> None:
    """Sign a client certificate with the CA of :func:`write_credentials` (``<stem>.crt`` / ``<stem>.key``).

    The API server uses one to authenticate to the kubelet (``kubectl logs`` and ``exec`` go through it).
    """
    now = datetime.now(UTC)
    ca_cert = x509.load_pem_x509_certificate((state_dir / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((state_dir / "ca.key").read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError("the CA key is not the EC key write_credentials makes")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])  # fmt: skip
    cert = (
        _cert_builder(subject, ca_cert.subject, key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    write_file(state_dir / f"{stem}.crt", cert.public_bytes(serialization.Encoding.PEM))
    write_file(state_dir / f"{stem}.key", _private_pem(key), secret=True)


def write_serving_pair(folder: Path, common_name: str, ips: tuple[str, ...], dns: tuple[str, ...],
                       ca_dir: Path) -> None:
    """Sign a serving certificate (``tls.crt`` / ``tls.key`` in ``folder``) with the CA in ``ca_dir``.

    For webhooks the API server calls (KServe's): it trusts the cluster CA, given as the webhooks' caBundle.
    """
    now = datetime.now(UTC)
    ca_cert = x509.load_pem_x509_certificate((ca_dir / "ca.crt").read_bytes())
    ca_key = serialization.load_pem_private_key((ca_dir / "ca.key").read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError("the CA key is not the EC key write_credentials makes")
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    cert = (
        _cert_builder(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]), ca_cert.subject,
                      key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    write_file(folder / "tls.crt", cert.public_bytes(serialization.Encoding.PEM))
    write_file(folder / "tls.key", _private_pem(key), secret=True)


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


def write_kubeconfig(path: Path, server: str, ca_file: Path, token: str, context: str) -> None:
    """Write an admin kubeconfig; it holds the token, so only the owner may read it."""
    ca_data = base64.b64encode(ca_file.read_bytes()).decode()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
        "users": [{"name": "admin", "user": {"token": token}}],
        "contexts": [
            {"name": context, "context": {"cluster": context, "user": "admin", "namespace": "default"}}
        ],
        "current-context": context,
    }
    write_file(path, yaml.safe_dump(config, sort_keys=False), secret=True)


def write_file(path: Path, data: str | bytes, secret: bool = False) -> None:
    """Write ``data`` created with owner-only permissions when it is a key or a token."""
    raw = data.encode() if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as handle:
        handle.write(raw)
