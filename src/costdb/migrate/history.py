"""costdb's own record of every migration applied: what Flyway's history table gives its users.

Alembic keeps only the current revision. ``costdb_migration_history`` keeps, per migration
applied, the revision, a checksum of its script, when, by whom and how long it took. Before
upgrading, the runner verifies that no applied migration's script has changed since: a
released migration that was edited would leave databases migrated before and after the edit
with different schemas under the same revision.
"""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass
from datetime import datetime

from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from costdb.errors import CostdbError
from costdb.exit_codes import ExitCode

HISTORY_TABLE = "costdb_migration_history"

_CREATE = f"""
CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    revision text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL,
    duration_ms integer NOT NULL,
    how text NOT NULL DEFAULT 'upgrade' CHECK (how IN ('upgrade', 'adopted'))
)
"""


class HistoryMismatch(CostdbError):
    """An applied migration's script differs from the one that was applied."""

    exit_code = ExitCode.SCRIPT_CHANGED


@dataclass(frozen=True)
class HistoryEntry:
    revision: str
    checksum: str
    applied_at: datetime
    applied_by: str
    duration_ms: int
    how: str


def script_checksum(scripts: ScriptDirectory, revision: str) -> str:
    """sha256 of the revision's script, line endings normalised (a checkout may use CRLF)."""
    script = scripts.get_revision(revision)
    if script is None or script.path is None:
        raise HistoryMismatch(f"migration {revision} has no script")
    with open(script.path, "rb") as handle:
        content = handle.read().replace(b"\r\n", b"\n")
    return hashlib.sha256(content).hexdigest()


def runner_identity(connection: Connection) -> str:
    """``role@host (pid N)``: which runner applied a migration."""
    role = connection.execute(text("SELECT current_user")).scalar_one()
    return f"{role}@{socket.gethostname()} (pid {os.getpid()})"


def ensure_history_table(connection: Connection) -> None:
    connection.execute(text(_CREATE))


# Interpolates a module constant only.
_PROTECT = f"""
DO $$
DECLARE grant_row record;
BEGIN
  FOR grant_row IN
    SELECT DISTINCT g.grantee, g.table_name
    FROM information_schema.role_table_grants g
    JOIN pg_tables t ON t.schemaname = g.table_schema AND t.tablename = g.table_name
    WHERE g.table_schema = current_schema()
      AND g.table_name IN ('alembic_version', '{HISTORY_TABLE}')
      AND g.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
      AND g.grantee NOT IN (t.tableowner, current_user)
  LOOP
    EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON %I FROM %s',
                   grant_row.table_name,
                   CASE WHEN grant_row.grantee = 'PUBLIC' THEN 'PUBLIC'
                        ELSE quote_ident(grant_row.grantee) END);
  END LOOP;
END $$
"""  # noqa: S608


def protect_bookkeeping(connection: Connection) -> None:
    """Only the migration role may change ``alembic_version`` and the history.

    Default privileges (``initdb/``) grant the application role DML on every table the owner
    creates, these two included; an application that could rewrite them could make a runner
    skip or repeat migrations. Reading them stays allowed.
    """
    connection.execute(text(_PROTECT))


def read_history(connection: Connection) -> list[HistoryEntry]:
    """Every entry, oldest first; an empty list where the table does not exist yet."""
    exists = connection.execute(text("SELECT to_regclass(:t)"), {"t": HISTORY_TABLE}).scalar()
    if exists is None:
        return []
    rows = connection.execute(
        text(
            f"SELECT revision, checksum, applied_at, applied_by, duration_ms, how"  # noqa: S608
            f" FROM {HISTORY_TABLE} ORDER BY id"
        )
    ).all()
    return [HistoryEntry(*row) for row in rows]


def record(
    connection: Connection,
    scripts: ScriptDirectory,
    revision: str,
    applied_by: str,
    duration_ms: int,
    how: str = "upgrade",
) -> None:
    connection.execute(
        text(
            f"INSERT INTO {HISTORY_TABLE} (revision, checksum, applied_by, duration_ms, how)"  # noqa: S608
            " VALUES (:revision, :checksum, :applied_by, :duration_ms, :how)"
        ),
        {
            "revision": revision,
            "checksum": script_checksum(scripts, revision),
            "applied_by": applied_by,
            "duration_ms": duration_ms,
            "how": how,
        },
    )


def applied_revisions(scripts: ScriptDirectory, current: str | None) -> list[str]:
    """The revisions a database at ``current`` has applied, oldest first."""
    if current is None:
        return []
    return [
        script.revision for script in reversed(list(scripts.iterate_revisions(current, "base")))
    ]


def verify_and_adopt(
    connection: Connection, scripts: ScriptDirectory, current: str | None
) -> list[str]:
    """Refuse if an applied script changed; record applied revisions the history lacks.

    Revisions applied before costdb kept history (plain ``alembic upgrade``) are adopted:
    recorded with their current checksum, so that later edits are caught. Returns them.
    """
    latest = {entry.revision: entry for entry in read_history(connection)}
    adopted = []
    for revision in applied_revisions(scripts, current):
        entry = latest.get(revision)
        if entry is None:
            adopted.append(revision)
            continue
        checksum = script_checksum(scripts, revision)
        if checksum != entry.checksum:
            raise HistoryMismatch(
                f"migration {revision} has changed since it was applied "
                f"({entry.applied_at:%Y-%m-%d %H:%M:%S %Z} by {entry.applied_by}): "
                f"checksum was {entry.checksum[:12]}, is now {checksum[:12]}. An applied "
                "migration must not change: restore it and put the change in a new revision"
            )
    identity = runner_identity(connection) if adopted else ""
    for revision in adopted:
        record(connection, scripts, revision, applied_by=identity, duration_ms=0, how="adopted")
    return adopted
