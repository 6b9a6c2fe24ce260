"""Take one backup: the stanza first (created once, checked after: the repository must belong
to this database), then pgBackRest's backup, then its record in the database."""

from __future__ import annotations

import logging

from costdb.backup.history import record_backups
from costdb.backup.pgbackrest import BackupError, BackupSet, backup_sets, run
from costdb.db.maintenance_session import maintenance_connection
from costdb.settings import DatabaseSettings

log = logging.getLogger("costdb")
STANZA_SECONDS = 120.0
INFO_SECONDS = 60.0


def ensure_stanza() -> None:
    """Create the repository's stanza, or check the existing one is this database's."""
    run("stanza-create", timeout=STANZA_SECONDS)


def take_backup(
    kind: str, settings: DatabaseSettings, timeout: float, wait_seconds: float
) -> BackupSet:
    """A ``full``, ``diff`` or ``incr`` backup, recorded in ``costdb_backups``."""
    ensure_stanza()
    run(f"--type={kind}", "backup", timeout=timeout)
    backups = backup_sets(timeout=INFO_SECONDS)
    if not backups:
        raise BackupError("pgbackrest backup succeeded but pgbackrest info lists no backup")
    with maintenance_connection(settings, "costdb-backup", wait_seconds) as connection:
        record_backups(connection, backups)
    newest = backups[-1]
    log.info(
        "backed up: %s (%s, %.1f MB of database, %.1f MB stored) in %.0f s",
        newest.label,
        newest.type,
        newest.database_bytes / 1e6,
        newest.repository_bytes / 1e6,
        (newest.finished_at - newest.started_at).total_seconds(),
        extra={"event": "backup", "label": newest.label, "type": newest.type},
    )
    return newest
