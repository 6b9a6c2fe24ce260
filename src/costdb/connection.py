"""Open raw connections, and turn a failed one into one safe line and a verdict.

libpq reports most connection failures without an SQLSTATE, so the verdict reads the
server's message. Wrong credentials, a missing role or database and a malformed address will
not fix themselves (``PermanentConnectionFailure``: exit 2); a refused connection, a timeout,
a server starting up or shutting down, or a name that does not resolve yet may
(``DatabaseUnavailable``). No driver import at module level: the CLI probe uses the
classification without psycopg (it talks to libpq directly).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from costdb.errors import (
    ConnectionFailure,
    DatabaseNotReady,
    DatabaseUnavailable,
    PermanentConnectionFailure,
)
from costdb.settings import DatabaseSettings

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("costdb.wait")
T = TypeVar("T")
_FIRST_DELAY_SECONDS = 0.25
_LONGEST_DELAY_SECONDS = 5.0

_PERMANENT = re.compile(
    r"password authentication failed|authentication failed|no password supplied"
    r"|role \".*\" does not exist|database \".*\" does not exist|pg_hba\.conf"
    r"|permission denied|invalid .* value|invalid connection option|SSL is not enabled"
    r"|does not support SSL|certificate|sslmode value",
    re.IGNORECASE,
)
_LIBPQ_PREFIX = re.compile(
    r"^(connection failed:\s*)?"
    r"(connection to server (at|on) \"[^\"]*\"( \([^)]*\))?(, port \d+)? failed:\s*)?"
    r"((FATAL|ERROR):\s+)?"
)
_PASSWORD_ASSIGNMENT = re.compile(r"password=\S+", re.IGNORECASE)


def server_message(exc: BaseException) -> str:
    """The first line of a driver error, without libpq's prefixes and with passwords masked."""
    original = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    message = _LIBPQ_PREFIX.sub("", lines[0]) if lines else type(original).__name__
    return _PASSWORD_ASSIGNMENT.sub("password=***", message)


def classify_connection_error(exc: BaseException, settings: DatabaseSettings) -> ConnectionFailure:
    """The error to raise for a connection attempt that failed with ``exc``."""
    reason = server_message(exc)
    if settings.password:
        reason = reason.replace(settings.password, "***")
    kind = PermanentConnectionFailure if _PERMANENT.search(reason) else DatabaseUnavailable
    return kind(settings.target, settings.user, reason)


def open_connection(
    settings: DatabaseSettings,
    application_name: str,
    *,
    autocommit: bool = True,
    **options: Any,
) -> psycopg.Connection[Any]:
    """A psycopg connection, bounded by ``connect_timeout``; failures are classified.

    Every raw connection costdb opens goes through here, so every one of them times out and
    fails with the same one-line, secret-free error.
    """
    import psycopg  # noqa: PLC0415  (not on the CLI probe's import path)

    try:
        return psycopg.connect(
            settings.conninfo(application_name), autocommit=autocommit, **options
        )
    except psycopg.Error as exc:
        raise classify_connection_error(exc, settings) from None


def retry_while_unavailable(
    action: Callable[[int], T], settings: DatabaseSettings, wait_seconds: float
) -> T:
    """Run ``action(connect_timeout)`` until it stops failing with ``DatabaseUnavailable``.

    Refused connections, a server starting up or shutting down, a name that does not resolve
    yet, timeouts and "too many connections" are retried with exponential backoff (0.25 s
    doubling to 5 s) until ``wait_seconds`` run out (``DatabaseNotReady``); a permanent
    failure (wrong password, missing role or database, SSL refused) is raised at once.
    ``action`` receives the connect timeout to use, never longer than the time left.
    """
    deadline = time.monotonic() + wait_seconds
    delay = _FIRST_DELAY_SECONDS
    attempt = 0
    while True:
        attempt += 1
        remaining = deadline - time.monotonic()
        try:
            result = action(max(1, min(settings.connect_timeout, int(remaining) + 1)))
        except DatabaseUnavailable as error:
            if wait_seconds <= 0:
                raise  # no wait asked for: the failure itself is the answer
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
        return result


def open_connection_within(
    settings: DatabaseSettings, application_name: str, wait_seconds: float, **options: Any
) -> psycopg.Connection[Any]:
    """``open_connection``, retried while the database is unavailable (at most ``wait_seconds``)."""
    return retry_while_unavailable(
        lambda timeout: open_connection(
            replace(settings, connect_timeout=timeout), application_name, **options
        ),
        settings,
        wait_seconds,
    )
