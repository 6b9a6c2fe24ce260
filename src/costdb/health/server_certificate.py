"""How long the server's TLS certificate has left, seen as a client sees it.

libpq verifies the certificate but does not show it, so the probe opens one more connection of
its own: PostgreSQL's SSLRequest, a TLS handshake verified against the same CA file libpq
uses (``sslrootcert``, or ``PGSSLROOTCERT``), the certificate's ``notAfter``, and a clean TLS
close (no line in the server's log). Only a verified certificate is read: the standard
library parses a certificate only once it has verified it, and importing a parser for an
unverified one would cost the probe more than the handshake. So the expiry is known when the
client verifies (``sslmode`` ``verify-ca`` or ``verify-full``: the Compose and Kubernetes
clients, and the db image's own health check), and said to be unknown otherwise.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass

from costdb.settings import DatabaseSettings

_SSL_REQUEST = struct.pack("!ii", 8, 80877103)


@dataclass(frozen=True)
class CertificateExpiry:
    """The server certificate's remaining days, or why they are not known."""

    days_left: float | None
    unknown_because: str = ""


def _setting(
    settings: DatabaseSettings, key: str, variable: str, environ: Mapping[str, str]
) -> str:
    return settings.params.get(key) or environ.get(variable, "")


def certificate_expiry(
    settings: DatabaseSettings, timeout: float, environ: Mapping[str, str] | None = None
) -> CertificateExpiry:
    """Handshake with the server named by ``settings`` and read its certificate's expiry."""
    env = os.environ if environ is None else environ
    mode = _setting(settings, "sslmode", "PGSSLMODE", env)
    root = _setting(settings, "sslrootcert", "PGSSLROOTCERT", env)
    if mode not in ("verify-ca", "verify-full") or not root or root == "system":
        return CertificateExpiry(
            None, "not checked: the probe does not verify the server (sslmode)"
        )
    host = settings.host.split(",")[0]
    if host.startswith("/"):
        return CertificateExpiry(None, "not checked: a Unix socket has no certificate")
    # Imported here: a probe that does not verify (the common CLI case) pays nothing for them.
    import socket  # noqa: PLC0415
    import ssl  # noqa: PLC0415

    context = ssl.create_default_context(cafile=root)
    context.check_hostname = mode == "verify-full"
    try:
        with socket.create_connection((host, settings.port), timeout=timeout) as raw:
            # Small messages each way: without this the close waits out a delayed ACK (40 ms).
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            raw.sendall(_SSL_REQUEST)
            if raw.recv(1) != b"S":
                return CertificateExpiry(None, "the server refused TLS")
            with context.wrap_socket(raw, server_hostname=host) as tls:
                certificate = tls.getpeercert() or {}
                tls.unwrap()  # close_notify: the server sees a clean close, and logs nothing
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        return CertificateExpiry(None, f"not checked: {exc}")
    not_after = certificate.get("notAfter")
    if not isinstance(not_after, str):
        return CertificateExpiry(None, "not checked: the server sent no certificate")
    return CertificateExpiry((ssl.cert_time_to_seconds(not_after) - time.time()) / 86400)
