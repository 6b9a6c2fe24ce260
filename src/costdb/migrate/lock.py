"""One migration runner at a time, however many start: a PostgreSQL advisory lock.

The lock is session-level and held on a dedicated connection for the whole run, so the
migrations themselves may commit, or run ``CREATE INDEX CONCURRENTLY`` outside a transaction,
without releasing it. Waiters poll ``pg_try_advisory_lock`` from an idle connection instead of
sitting in ``pg_advisory_lock``: a waiter blocked inside a statement holds a snapshot that
``CREATE INDEX CONCURRENTLY`` would wait for, and the two would deadlock. Closing the
connection (or the process dying) releases the lock.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from costdb.connection import open_connection
from costdb.errors import CostdbError
from costdb.exit_codes import ExitCode
from costdb.settings import DatabaseSettings

log = logging.getLogger("costdb.lock")
MIGRATION_LOCK_KEY = int.from_bytes(hashlib.sha256(b"costdb-migrate").digest()[:8], signed=True)
_POLL_SECONDS = 0.2


class LockTimeout(CostdbError):
    """Another runner held the migration lock for longer than the lock timeout."""

    exit_code = ExitCode.LOCK_TIMEOUT


@contextmanager
def migration_lock(settings: DatabaseSettings, timeout_seconds: float) -> Iterator[None]:
    """Hold the migration lock for the duration of the ``with`` block."""
    with open_connection(settings, "costdb-migrate-lock") as connection:
        deadline = time.monotonic() + timeout_seconds
        waited = False
        while not _try_lock(connection):
            if time.monotonic() >= deadline:
                raise LockTimeout(
                    f"another costdb runner held the migration lock on {settings.target} for "
                    f"more than {timeout_seconds:g} s; is one stuck? (pg_locks, locktype "
                    "'advisory', shows its pid)"
                )
            if not waited:
                log.info(
                    "another runner is migrating; waiting for the lock",
                    extra={"event": "lock_wait"},
                )
                waited = True
            time.sleep(_POLL_SECONDS)
        if waited:
            log.info("lock acquired", extra={"event": "lock_acquired"})
        yield


def _try_lock(connection: psycopg.Connection[tuple[bool]]) -> bool:
    row = connection.execute("SELECT pg_try_advisory_lock(%s)", (MIGRATION_LOCK_KEY,)).fetchone()
    return bool(row and row[0])
