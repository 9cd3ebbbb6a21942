"""The clinic's own certificate authority (python ``cryptography``): one CA, and a server
certificate for the broker signed by it. Stations and the hub verify the broker against
``ca.crt``; the CA key stays on the hub server (0600) to sign a new server certificate.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
SERVER_DAYS = 825  # the longest a browser-era server certificate is accepted


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Clinic station hub"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def make_ca(*, tls_dir: Path) -> None:
    """``ca.crt`` and ``ca.key`` in ``tls_dir``, unless they exist (never replaced: the
    stations trust this CA)."""
    tls_dir.mkdir(parents=True, exist_ok=True)
    if (tls_dir / "ca.crt").exists():
        return
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Clinic station hub CA"))
        .issuer_name(_name("Clinic station hub CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(tls_dir / "ca.key", key)
    (tls_dir / "ca.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def make_server_cert(*, tls_dir: Path, hostnames: list[str]) -> None:
    """``server.crt``/``server.key`` for the broker, valid for ``hostnames`` (DNS names or
    IP addresses), signed by the CA in ``tls_dir``."""
    ca_key = serialization.load_pem_private_key((tls_dir / "ca.key").read_bytes(), None)
    ca_cert = x509.load_pem_x509_certificate((tls_dir / "ca.crt").read_bytes())
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for host in hostnames:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hostnames[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_key(tls_dir / "server.key", key)
    (tls_dir / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
