"""The connection each maintenance command works on: bounded in time, failures in one line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from costdb.db.connection import server_message
from costdb.db.retrying import open_connection_within
from costdb.errors import CostdbError
from costdb.settings import DatabaseSettings

if TYPE_CHECKING:
    import psycopg

# Each statement of a roll-up day or a retention batch is short; these only bound a fault
# (a lock held by a stuck session, a plan gone wrong) instead of hanging a cron job forever.
SESSION_TIMEOUTS = (
    "SELECT set_config('statement_timeout', '5min', false),"
    " set_config('lock_timeout', '30s', false)"
)


@contextmanager
def maintenance_connection(
    settings: DatabaseSettings, application_name: str, wait_seconds: float
) -> Iterator[psycopg.Connection[Any]]:
    """An autocommit psycopg connection (transactions are explicit), retried while the
    database is unavailable for at most ``wait_seconds``. A driver error inside becomes a
    ``CostdbError``: one line for a single run, a logged failed run for ``--every``."""
    import psycopg  # noqa: PLC0415  (the commands import this module only when they run)

    connection = open_connection_within(settings, application_name, wait_seconds)
    try:
        connection.execute(SESSION_TIMEOUTS)
        yield connection
    except psycopg.Error as exc:
        raise CostdbError(f"database error: {server_message(exc)}") from None
    finally:
        connection.close()


def single_row(cursor: psycopg.Cursor[Any]) -> Any:
    """The one row of an aggregate query (it always has one): a missing row is a defect of
    the query, said in one line rather than a ``None`` unpacked further on."""
    row = cursor.fetchone()
    if row is None:
        raise CostdbError("the database returned no row where one is always expected")
    return row
