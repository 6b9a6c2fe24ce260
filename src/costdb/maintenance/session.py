"""The connection each maintenance command works on: bounded in time, failures in one line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from costdb.retrying import open_connection_within
from costdb.settings import DatabaseSettings

# Each statement of a roll-up period or a retention batch is short; these only bound a fault
# (a lock held by a stuck session, a plan gone wrong) instead of hanging a cron job forever.
SESSION_TIMEOUTS = {"statement_timeout": "5min", "lock_timeout": "30s"}


@contextmanager
def maintenance_connection(
    settings: DatabaseSettings, application_name: str, wait_seconds: float
) -> Iterator[Any]:
    """An autocommit psycopg connection (transactions are explicit), retried while the
    database is unavailable for at most ``wait_seconds``."""
    connection = open_connection_within(settings, application_name, wait_seconds)
    try:
        for name, value in SESSION_TIMEOUTS.items():
            connection.execute("SELECT set_config(%s, %s, false)", (name, value))
        yield connection
    finally:
        connection.close()
