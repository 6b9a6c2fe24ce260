"""Checks of the server the schema lives on, not of the schema: the probe's connection's TLS and
the server certificate's remaining life. They warn (healthy, reported) rather than fail: a
certificate that expires in a week or a clear-text connection is something to fix, not a
reason to stop the services that depend on the database. The migration runner does not make
them: they say nothing about whether a migration worked.
"""

from __future__ import annotations

from costdb.defaults import TLS_EXPIRY_WARN_DAYS
from costdb.verify.catalog import Snapshot
from costdb.verify.checks import Check


def check_tls(snapshot: Snapshot, days_left: float | None, unknown_because: str) -> Check:
    """This connection's encryption, and the server certificate's expiry when it is known."""
    if snapshot.tls is None:
        return Check("tls", "pass", "this connection is not encrypted (sslmode)")
    protocol = f"{snapshot.tls['version']} ({snapshot.tls['cipher']})"
    if days_left is None:
        return Check("tls", "pass", f"{protocol}; server certificate {unknown_because}")
    if days_left < TLS_EXPIRY_WARN_DAYS:
        return Check(
            "tls",
            "warn",
            f"the server certificate expires in {max(days_left, 0):.0f} days: renew it "
            f"(clients refuse an expired certificate); {protocol}",
        )
    return Check("tls", "pass", f"{protocol}; server certificate valid {days_left:.0f} more days")
