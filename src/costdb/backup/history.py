"""The database's record of its backups (``costdb_backups``, revision 0009): written right
after each backup, so that the probe and ``/metrics``, which reach only the database, know how
old the last one is."""

from __future__ import annotations

from typing import Any

import psycopg

from costdb.backup.pgbackrest import BackupSet

RECORD = """
INSERT INTO costdb_backups
  (label, type, started_at, finished_at, database_bytes, repository_bytes)
VALUES (%s, %s, %s, %s, %s, %s)
ON CONFLICT (label) DO NOTHING
"""


def record_backups(connection: psycopg.Connection[Any], backups: list[BackupSet]) -> int:
    """Record every backup not yet recorded; return how many were new. A database whose schema
    predates the table records nothing (its next migration brings the table)."""
    if connection.execute("SELECT to_regclass('public.costdb_backups')").fetchone() == (None,):
        return 0
    with connection.transaction():
        new = 0
        for backup in backups:
            cursor = connection.execute(
                RECORD,
                (
                    backup.label,
                    backup.type,
                    backup.started_at,
                    backup.finished_at,
                    backup.database_bytes,
                    backup.repository_bytes,
                ),
            )
            new += cursor.rowcount
    return new
