"""Wait for the database to accept connections, as a sidecar started beside it must.

Refused connections, a server starting up or shutting down, a name that does not resolve yet
and timeouts are retried with exponential backoff (0.25 s doubling to 5 s) until the wait
runs out; a wrong password, a missing role or database fail at once: they will not fix
themselves, and retrying them would only delay the error.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from costdb.connection import open_connection
from costdb.errors import CostdbError, DatabaseUnavailable
from costdb.exit_codes import ExitCode
from costdb.settings import DatabaseSettings

log = logging.getLogger("costdb.wait")
_FIRST_DELAY_SECONDS = 0.25
_LONGEST_DELAY_SECONDS = 5.0


class DatabaseNotReady(CostdbError):
    """The database did not accept connections within the wait."""

    exit_code = ExitCode.NOT_REACHABLE


def wait_for_database(settings: DatabaseSettings, wait_seconds: float) -> None:
    """Return once a connection succeeds; raise ``DatabaseNotReady`` or a permanent failure."""
    deadline = time.monotonic() + wait_seconds
    delay = _FIRST_DELAY_SECONDS
    attempt = 0
    while True:
        attempt += 1
        remaining = deadline - time.monotonic()
        timeout = max(1, min(settings.connect_timeout, int(remaining) + 1))
        try:
            open_connection(replace(settings, connect_timeout=timeout), "costdb-migrate").close()
        except DatabaseUnavailable as error:  # a PermanentConnectionFailure propagates at once
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DatabaseNotReady(
                    f"gave up after {wait_seconds:g} s ({attempt} attempts) waiting for "
                    f"{settings.target}: {error.reason}"
                ) from None
            log.info(
                "waiting for %s (attempt %d): %s",
                settings.target,
                attempt,
                error.reason,
                extra={"event": "waiting", "attempt": attempt},
            )
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, _LONGEST_DELAY_SECONDS)
            continue
        if attempt > 1:
            log.info("%s accepts connections", settings.target, extra={"event": "database_ready"})
        return
