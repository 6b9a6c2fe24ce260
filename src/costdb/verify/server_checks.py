"""Checks of the server the schema lives on, not of the schema: the probe's connection's TLS
and the server certificate's remaining life, whether clear-text TCP clients are let in, WAL
archiving and the last backup. They warn
(healthy, reported) rather than fail: a certificate that expires in a week, an archive that
lags or a clear-text connection is something to fix, not a reason to stop the services that
depend on the database. The migration runner does not make them: they say nothing about
whether a migration worked.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from costdb.defaults import ARCHIVE_WARN_SEGMENTS, BACKUP_WARN_HOURS, TLS_EXPIRY_WARN_DAYS
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


DEVELOPMENT_STACK = "development"
"""``COSTDB_STACK`` (the server setting ``costdb.stack``) of Compose's development stack."""


def clear_text_accepted(snapshot: Snapshot) -> bool | None:
    """Whether a TCP client that does not ask for TLS is let in (beyond the db image's own
    loopback): the db image says so (``costdb.tls``, set by its entrypoint at every start);
    another server lets one in for certain only with ``ssl`` off. None: not known (that
    server's pg_hba.conf decides, which the probe's role cannot read)."""
    clients = snapshot.clients or {}
    mode = clients.get("tls")
    if mode in ("offered", "off"):
        return True
    if mode == "required":
        return False
    return True if clients.get("ssl") == "off" else None


def _is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:  # "*", a host name: every interface, or one the probe cannot judge
        return False


def _beyond_loopback(listen: str) -> bool:
    """``listen_addresses`` names an address other than loopback ("" is the socket only)."""
    addresses = {address.strip() for address in listen.split(",")} - {""}
    return not all(_is_loopback(address) for address in addresses)


def check_clear_text(snapshot: Snapshot) -> Check:
    """Clear text is accepted only where no network can carry it: a server on loopback only,
    or the development stack (its port published on 127.0.0.1, its peers on its own
    network). Anywhere else it is a warning, not a failure: the schema is fine."""
    clients = snapshot.clients or {}
    accepted = clear_text_accepted(snapshot)
    if accepted is None:
        return Check(
            "clear_text", "pass", "not known: not the costdb image (its pg_hba.conf decides)"
        )
    if not accepted:
        return Check(
            "clear_text",
            "pass",
            "refused: TCP clients must use TLS (COSTDB_TLS=required; the container's own "
            "loopback excepted)",
        )
    mode, listen = clients.get("tls"), clients.get("listen") or ""
    how = f"COSTDB_TLS={mode}" if mode else "ssl is off"
    if not _beyond_loopback(listen):
        return Check(
            "clear_text", "pass", f"accepted on loopback only ({how}, listening on '{listen}')"
        )
    if clients.get("stack") == DEVELOPMENT_STACK:
        return Check(
            "clear_text",
            "pass",
            f"accepted beside TLS on the development stack ({how}, COSTDB_STACK=development)",
        )
    remedy = "set COSTDB_TLS=required" if mode else "turn ssl on and require it (hostssl)"
    return Check(
        "clear_text",
        "warn",
        f"clear-text TCP connections are accepted ({how}) and the server listens on "
        f"'{listen}': passwords and data can cross a network unencrypted; {remedy} (clients "
        "then connect with sslmode=require or verify-full)",
    )


def _age(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _segment_number(name: str | None, segment_bytes: int) -> int | None:
    """A WAL file name's position in the WAL (timeline aside); None for a history or backup
    file's name."""
    if name is None or len(name) != 24:
        return None
    try:
        log, segment = int(name[8:16], 16), int(name[16:24], 16)
    except ValueError:
        return None
    return log * (0x100000000 // segment_bytes) + segment


def waiting_segments(archiving: dict[str, Any]) -> int | None:
    """Closed WAL segments not archived yet (the one being written does not count)."""
    size = int(archiving["segment_bytes"])
    current = _segment_number(archiving.get("current_wal"), size)
    last = _segment_number(archiving.get("last_archived_wal"), size)
    if current is None or last is None:
        return None
    return max(0, current - last - 1)


def _archiving_fails(archiving: dict[str, Any]) -> bool:
    failed_ago = archiving.get("last_failed_seconds")
    archived_ago = archiving.get("last_archived_seconds")
    return failed_ago is not None and (archived_ago is None or failed_ago < archived_ago)


def check_archiving(snapshot: Snapshot) -> Check:
    """WAL archiving keeps up: a failing or lagging archive warns (the database keeps running
    and keeps the WAL; a point-in-time restore would stop where the archive stops)."""
    archiving = snapshot.archiving
    if archiving is None or archiving["mode"] == "off":
        return Check("archiving", "pass", "WAL archiving is off")
    waiting = waiting_segments(archiving)
    archived_ago = archiving.get("last_archived_seconds")
    last = f"last segment archived {_age(archived_ago)} ago" if archived_ago else "none archived"
    if _archiving_fails(archiving):
        return Check(
            "archiving",
            "warn",
            f"WAL archiving fails: {archiving['last_failed_wal']} could not be archived "
            f"({_age(archiving['last_failed_seconds'])} ago), "
            f"{'the' if waiting is None else waiting} WAL segments wait in pg_wal; {last}",
        )
    if waiting is not None and waiting >= ARCHIVE_WARN_SEGMENTS:
        return Check("archiving", "warn", f"WAL archiving lags: {waiting} segments wait; {last}")
    return Check("archiving", "pass", f"{last}, {waiting or 0} waiting")


def check_backups(snapshot: Snapshot) -> Check:
    """The newest recorded backup is recent (``costdb_backups``)."""
    backup = snapshot.last_backup
    if backup is None:
        return Check("backups", "pass", "no backup recorded (costdb backup sets them up)")
    age = float(backup["age_seconds"])
    described = f"{backup['label']} ({backup['type']}) finished {_age(age)} ago"
    if age > BACKUP_WARN_HOURS * 3600:
        return Check(
            "backups", "warn", f"the last backup {described}: more than {BACKUP_WARN_HOURS:g} h"
        )
    return Check("backups", "pass", f"the last backup {described}")


def server_gauges(snapshot: Snapshot, certificate_days: float | None) -> dict[str, float | None]:
    """The numbers behind the checks above, for ``/metrics`` (None: not known)."""
    archiving = snapshot.archiving or {}
    archiving_on = archiving.get("mode", "off") != "off"
    return {
        "archive_age_seconds": archiving.get("last_archived_seconds") if archiving_on else None,
        "archive_waiting_segments": waiting_segments(archiving) if archiving_on else None,
        "archive_failing": float(_archiving_fails(archiving)) if archiving_on else None,
        "backup_age_seconds": (
            float(snapshot.last_backup["age_seconds"]) if snapshot.last_backup else None
        ),
        "tls_certificate_days_left": certificate_days,
        "clear_text_accepted": _as_gauge(clear_text_accepted(snapshot)),
    }


def _as_gauge(flag: bool | None) -> float | None:
    return None if flag is None else float(flag)
