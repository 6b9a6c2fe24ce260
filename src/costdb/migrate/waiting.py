"""Wait for the database to accept connections, as a sidecar started beside it must.

Refused connections, a server starting up or shutting down, a name that does not resolve yet,
timeouts and "too many connections" are retried with backoff until the wait runs out; a wrong
password, a missing role or database fail at once: they will not fix themselves, and retrying
them would only delay the error (``costdb.retrying.retry_while_unavailable``).
"""

from __future__ import annotations

from costdb.retrying import open_connection_within
from costdb.settings import DatabaseSettings


def wait_for_database(settings: DatabaseSettings, wait_seconds: float) -> None:
    """Return once a connection succeeds; raise ``DatabaseNotReady`` or a permanent failure."""
    open_connection_within(settings, "costdb-migrate", wait_seconds).close()
