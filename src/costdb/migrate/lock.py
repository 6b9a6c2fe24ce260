"""One migration runner at a time, however many start: a PostgreSQL advisory lock.

The lock is session-level and held on a dedicated connection for the whole run, so the
migrations themselves may commit, or run ``CREATE INDEX CONCURRENTLY`` outside a transaction,
without releasing it. Waiters poll ``pg_try_advisory_lock`` from an idle connection instead of
sitting in ``pg_advisory_lock``: a waiter blocked inside a statement holds a snapshot that
``CREATE INDEX CONCURRENTLY`` would wait for, and the two would deadlock. Closing the
connection (or the process dying) releases the lock.

A lock that is lost while migrations run (the session was terminated, a pooler or the network
dropped it) must never let two runners migrate at once. So the lock session switches off the
server's idle timeouts for itself and keeps TCP alive, and ``MigrationLock.verify`` lets the
runner prove, inside each migration's own transaction and before it commits, that this
session still holds the lock.

Waiters give their connection back between polls: in a start-up storm against a database
near its connection limit, waiters holding a slot each would starve the one runner that holds
the lock of the connection it migrates with. Each poll connects within the wait it was given,
so a waiter also rides out a database restart.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import Connection, text

from costdb.db.retrying import Wait, jittered, open_connection_within
from costdb.errors import CostdbError
from costdb.exit_codes import ExitCode
from costdb.settings import DatabaseSettings

log = logging.getLogger("costdb.lock")
MIGRATION_LOCK_KEY = int.from_bytes(hashlib.sha256(b"costdb-migrate").digest()[:8], signed=True)
_POLL_SECONDS = 0.5
# An idle lock session must outlive any server-side idle reaper (PostgreSQL 14+ settings).
_KEEP_SESSION = """
SELECT set_config(name, '0', false) FROM pg_settings
WHERE name IN ('idle_session_timeout', 'idle_in_transaction_session_timeout')
"""
_KEEPALIVES = {
    "keepalives": "1",
    "keepalives_idle": "10",
    "keepalives_interval": "5",
    "keepalives_count": "3",
}
_HELD = """
SELECT EXISTS (
  SELECT FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = :pid
    AND classid = :high AND objid = :low AND objsubid = 1)
"""


class LockTimeout(CostdbError):
    """Another runner held the migration lock for longer than the lock timeout."""

    exit_code = ExitCode.LOCK_TIMEOUT


class LockLost(CostdbError):
    """The session holding the migration lock ended while migrations ran."""

    exit_code = ExitCode.FAILED


@dataclass(frozen=True)
class MigrationLock:
    """The held lock: which backend holds it, and how to prove it still does."""

    backend_pid: int

    def verify(self, connection: Connection) -> None:
        """Raise ``LockLost`` unless the lock session still holds the lock (any connection)."""
        unsigned = MIGRATION_LOCK_KEY & 0xFFFFFFFFFFFFFFFF
        held = connection.execute(
            text(_HELD),
            {"pid": self.backend_pid, "high": unsigned >> 32, "low": unsigned & 0xFFFFFFFF},
        ).scalar()
        if not held:
            raise LockLost(
                f"the migration lock was lost: its session (backend pid {self.backend_pid}) "
                "ended, so another runner may migrate; nothing more is applied"
            )


def _lock_session(settings: DatabaseSettings, wait: Wait) -> psycopg.Connection[Any]:
    keepalive = settings.with_params(**_KEEPALIVES)
    connection = open_connection_within(keepalive, "costdb-migrate-lock", wait)
    connection.execute(_KEEP_SESSION)
    return connection


@contextmanager
def migration_lock(
    settings: DatabaseSettings, timeout_seconds: float, wait: Wait = 0.0
) -> Iterator[MigrationLock]:
    """Hold the migration lock for the duration of the ``with`` block.

    Each attempt connects within what is left of ``wait`` (the database may be restarting or
    full).
    """
    deadline = time.monotonic() + timeout_seconds
    waited = False
    while True:
        connection = _lock_session(settings, wait)
        if _try_lock(connection):
            break
        connection.close()  # give the slot back while another runner migrates
        if time.monotonic() >= deadline:
            raise LockTimeout(
                f"another costdb runner held the migration lock on {settings.target} for "
                f"more than {timeout_seconds:g} s; is one stuck? (pg_locks, locktype "
                "'advisory', shows its pid)"
            )
        if not waited:
            log.info(
                "another runner is migrating; waiting for the lock", extra={"event": "lock_wait"}
            )
            waited = True
        time.sleep(jittered(_POLL_SECONDS))
    if waited:
        log.info("lock acquired", extra={"event": "lock_acquired"})
    try:
        yield MigrationLock(connection.info.backend_pid)
    finally:
        connection.close()


def _try_lock(connection: psycopg.Connection[Any]) -> bool:
    """Whether the lock was taken; False also when the connection dropped (the next poll
    connects again)."""
    try:
        row = connection.execute(
            "SELECT pg_try_advisory_lock(%s)", (MIGRATION_LOCK_KEY,)
        ).fetchone()
    except psycopg.OperationalError:
        return False
    return bool(row and row[0])
