"""Certificates for the server's TLS: issue a private CA and a server certificate, and check a
certificate and key pair before PostgreSQL is given them.

PostgreSQL refuses to start on a bad pair with a message in its own log; checked here first,
the same problems end in one line that names the file and the fix, and a renewed pair that is
bad never replaces a good one (the reload keeps the old). ``cryptography`` (PyCA) does the
parsing and signing: the standard library can verify a chain, not read a key or issue one.
"""

from __future__ import annotations

import ipaddress
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from costdb.defaults import TLS_EXPIRY_WARN_DAYS
from costdb.errors import ConfigError

CA_DAYS = 3650
SERVER_DAYS = 397  # what browsers' CAs may issue: a renewal that is exercised, not forgotten


class TlsError(ConfigError):
    """A certificate, key or CA that PostgreSQL must not be given."""


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, PEM-encoded."""

    certificate: bytes
    key: bytes


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "costdb"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def issue_ca(common_name: str, now: datetime | None = None) -> Issued:
    """A self-signed CA that may sign server certificates only (path length 0)."""
    now = now or datetime.now(UTC)
    key = _new_key()
    name = _name(common_name)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
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
    return Issued(certificate.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def _subject_alternative_names(hostnames: list[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for hostname in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(hostname)))
        except ValueError:
            names.append(x509.DNSName(hostname))
    return x509.SubjectAlternativeName(names)


def issue_server(ca: Issued, hostnames: list[str], now: datetime | None = None) -> Issued:
    """A server certificate for ``hostnames`` (DNS names or IP addresses) signed by ``ca``."""
    if not hostnames:
        raise TlsError("a server certificate needs at least one host name")
    now = now or datetime.now(UTC)
    ca_certificate = x509.load_pem_x509_certificate(ca.certificate)
    ca_key = serialization.load_pem_private_key(ca.key, password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TlsError("the CA key is not the elliptic-curve key costdb makes")
    key = _new_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name(hostnames[0]))
        .issuer_name(ca_certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(min(now + timedelta(days=SERVER_DAYS), ca_certificate.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_subject_alternative_names(hostnames), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    return Issued(certificate.public_bytes(serialization.Encoding.PEM), _key_pem(key))


def names_in(certificate: x509.Certificate) -> set[str]:
    """The host names and addresses a certificate is valid for (its subject alternative names)."""
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return set()
    names = extension.value
    return {*names.get_values_for_type(x509.DNSName)} | {
        str(address) for address in names.get_values_for_type(x509.IPAddress)
    }


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise TlsError(f"{what} {path}: no such file") from None
    except OSError as exc:
        raise TlsError(f"{what} {path}: cannot read it: {exc.strerror}") from None


def _certificates(pem: bytes, path: Path, what: str) -> list[x509.Certificate]:
    """Every certificate of a PEM file's text (a server certificate may be followed by its
    chain)."""
    try:
        return x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise TlsError(f"{what} {path}: not a PEM certificate") from None


def parse_certificate(pem: bytes) -> x509.Certificate:
    """The first certificate of a PEM text costdb wrote itself."""
    return x509.load_pem_x509_certificate(pem)


def days_left(certificate: x509.Certificate, now: datetime | None = None) -> float:
    """Days until ``certificate`` expires (negative once it has)."""
    remaining = certificate.not_valid_after_utc - (now or datetime.now(UTC))
    return remaining.total_seconds() / 86400


def needs_reissue(server: Issued, required_names: Iterable[str] = ()) -> bool:
    """A certificate costdb issued is re-issued in its last ``TLS_EXPIRY_WARN_DAYS`` days, or
    when it no longer names every host name asked for."""
    leaf = parse_certificate(server.certificate)
    return days_left(leaf) < TLS_EXPIRY_WARN_DAYS or bool(set(required_names) - names_in(leaf))


def read_issued(directory: Path, certificate_name: str, key_name: str) -> Issued | None:
    """A certificate and key costdb wrote into ``directory``; None unless both are there."""
    try:
        return Issued(
            (directory / certificate_name).read_bytes(), (directory / key_name).read_bytes()
        )
    except FileNotFoundError:
        return None


def _check_key_permissions(path: Path) -> None:
    """PostgreSQL's own rule, said before it refuses to start: a key is readable by its owner
    and, at most, its group (0640 when root owns it)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise TlsError(f"key {path}: cannot read it: {exc.strerror}") from None
    if mode & 0o007:
        raise TlsError(
            f"key {path} is readable by others (mode {mode:04o}): make it 0600, or 0640 "
            "owned by root (Kubernetes: defaultMode 0440 on the secret volume)"
        )


@dataclass(frozen=True)
class ServerPair:
    """A certificate file, its key and the CA clients trust, checked, as read once from disk:
    what is installed is exactly what was checked."""

    leaf: x509.Certificate
    certificate: bytes
    key: bytes
    ca: bytes | None


def load_server_pair(
    certificate_path: Path,
    key_path: Path,
    ca_path: Path | None = None,
    now: datetime | None = None,
) -> ServerPair:
    """A pair that PostgreSQL can serve (and its CA); else one line saying why."""
    now = now or datetime.now(UTC)
    _check_key_permissions(key_path)
    certificate = _read(certificate_path, "certificate")
    chain = _certificates(certificate, certificate_path, "certificate")
    leaf = chain[0]
    key_pem = _read(key_path, "key")
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except TypeError:
        raise TlsError(
            f"key {key_path} is encrypted: PostgreSQL cannot be given a passphrase here; "
            "decrypt it (openssl pkey -in KEY -out KEY.plain)"
        ) from None
    except ValueError:
        raise TlsError(f"key {key_path}: not a PEM private key") from None
    if key.public_key() != leaf.public_key():
        raise TlsError(f"key {key_path} does not belong to the certificate {certificate_path}")
    if leaf.not_valid_after_utc <= now:
        raise TlsError(
            f"certificate {certificate_path} expired on {leaf.not_valid_after_utc:%Y-%m-%d %H:%M} "
            "UTC: renew it"
        )
    if leaf.not_valid_before_utc > now:
        raise TlsError(
            f"certificate {certificate_path} is not valid before "
            f"{leaf.not_valid_before_utc:%Y-%m-%d %H:%M} UTC (is this machine's clock right?)"
        )
    ca = None
    if ca_path is not None:
        ca = _read(ca_path, "CA")
        _check_issued_by(chain, certificate_path, _certificates(ca, ca_path, "CA"), ca_path)
    return ServerPair(leaf, certificate, key_pem, ca)


def _check_issued_by(
    chain: list[x509.Certificate],
    certificate_path: Path,
    authorities: list[x509.Certificate],
    ca_path: Path,
) -> None:
    """The CA file clients will trust must have signed the server certificate, or the last
    intermediate that follows it in the certificate file."""
    for authority in authorities:
        try:
            chain[-1].verify_directly_issued_by(authority)
        except (ValueError, TypeError, InvalidSignature):
            continue
        return
    raise TlsError(
        f"certificate {certificate_path} is not issued by the CA in {ca_path}: clients that "
        "trust that CA would refuse the server"
    )
