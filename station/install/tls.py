"""The station's own certificates: a local CA the clinician trusts once, and a server
certificate for HAProxy, made with the system's ``openssl`` (Raspberry Pi OS has it).

Why a local CA and not a self-signed server certificate: a phone trusts a CA profile
once (the page serves it at ``/ca.crt``; its SHA-256 fingerprint is printed by the
installer to compare), and a new server certificate (a new name, the 825-day renewal
Apple requires) is then trusted without asking again. The CA key never leaves
``/etc/station/tls`` (mode 0600, root).

Bring your own: put your certificate chain and key, in one PEM file, at
``/etc/station/tls/server.pem`` and create ``/etc/station/tls/KEEP``; the installer then
never replaces it (and serves no /ca.crt unless you put a ``ca.crt`` there too).
"""

from __future__ import annotations

import ipaddress
import secrets
import subprocess
import tempfile
from pathlib import Path

from station.errors import StationError

TLS_DIR = "/etc/station/tls"
CA_DAYS = 3650
SERVER_DAYS = 825  # the most Apple platforms accept for a TLS server certificate
EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]


def _openssl(*args: str) -> str:
    try:
        done = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        raise StationError("openssl is not installed (sudo apt-get install openssl)") from None
    if done.returncode != 0:
        raise StationError(f"openssl {args[0]} failed: {done.stderr.strip()}")
    return done.stdout


def make_ca(directory: Path, *, name: str) -> None:
    """``ca.key`` (0600) and ``ca.crt`` in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    key, crt = directory / "ca.key", directory / "ca.crt"
    _openssl(
        "req",
        "-x509",
        "-new",
        *EC,
        "-keyout",
        str(key),
        "-out",
        str(crt),
        "-days",
        str(CA_DAYS),
        "-subj",
        f"/CN=Station local CA ({name})",
        "-addext",
        "basicConstraints=critical,CA:TRUE,pathlen:0",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    )
    key.chmod(0o600)


def make_server(directory: Path, *, dns: list[str], ips: list[str]) -> None:
    """``server.pem`` (certificate, CA, key: what HAProxy's ``crt`` reads; 0600), signed
    by the CA in ``directory``, valid for these names and addresses."""
    for ip in ips:
        ipaddress.ip_address(ip)  # a bad address is a clear error, not a broken cert
    sans = ",".join([*(f"DNS:{d}" for d in dns), *(f"IP:{i}" for i in ips)])
    with tempfile.TemporaryDirectory(prefix="station-tls-") as tmp:
        t = Path(tmp)
        (t / "ext.cnf").write_text(
            f"subjectAltName={sans}\nbasicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        )
        _openssl(
            "req",
            "-new",
            *EC,
            "-keyout",
            str(t / "key.pem"),
            "-out",
            str(t / "csr.pem"),
            "-subj",
            f"/CN={dns[0] if dns else ips[0]}",
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            str(t / "csr.pem"),
            "-CA",
            str(directory / "ca.crt"),
            "-CAkey",
            str(directory / "ca.key"),
            "-set_serial",
            "0x" + secrets.token_hex(16),
            "-days",
            str(SERVER_DAYS),
            "-extfile",
            str(t / "ext.cnf"),
            "-out",
            str(t / "crt.pem"),
        )
        pem = directory / "server.pem"
        pem.touch(mode=0o600)
        pem.chmod(0o600)
        pem.write_text(
            (t / "crt.pem").read_text()
            + (directory / "ca.crt").read_text()
            + (t / "key.pem").read_text()
        )


def fingerprint(crt: Path) -> str:
    """SHA-256 fingerprint, as a phone shows it (to compare before trusting)."""
    out = _openssl("x509", "-noout", "-fingerprint", "-sha256", "-in", str(crt))
    return out.strip().partition("=")[2]


def names_in(pem: Path) -> set[str]:
    """The subjectAltName entries of the certificate in ``pem`` ("DNS:x", "IP Address:y")."""
    out = _openssl("x509", "-noout", "-ext", "subjectAltName", "-in", str(pem))
    return {part.strip() for line in out.splitlines()[1:] for part in line.split(",")}
