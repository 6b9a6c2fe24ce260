"""Open raw connections, and turn a failed one into one safe line and a verdict.

libpq reports most connection failures without an SQLSTATE, so the verdict reads the
server's message. Wrong credentials, a missing role or database and a malformed address will
not fix themselves (``PermanentConnectionFailure``: exit 2); a refused connection, a timeout,
a server starting up or shutting down, or a name that does not resolve yet may
(``DatabaseUnavailable``). No driver import at module level: the CLI probe uses the
classification without psycopg (it talks to libpq directly).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from costdb.errors import ConnectionFailure, DatabaseUnavailable, PermanentConnectionFailure
from costdb.settings import DatabaseSettings

if TYPE_CHECKING:
    import psycopg

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
