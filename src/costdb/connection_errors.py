"""Turn a failed connection into one safe line and a verdict: will retrying help?

libpq reports most connection failures without an SQLSTATE, so the verdict reads the
server's message. Wrong credentials, a missing role or database and a malformed address will
not fix themselves (configuration errors: exit 2); a refused connection, a timeout, a server
starting up or shutting down, or a name that does not resolve yet may (exit 1). No SQLAlchemy
import: the health probe uses this module too.
"""

from __future__ import annotations

import re

from costdb.errors import ConfigError, CostdbError, DatabaseUnavailable
from costdb.settings import DatabaseSettings

_PERMANENT = re.compile(
    r"password authentication failed|authentication failed|no password supplied"
    r"|role \".*\" does not exist|database \".*\" does not exist|pg_hba\.conf"
    r"|permission denied|invalid .* value|invalid connection option|SSL is not enabled",
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


def classify_connection_error(exc: BaseException, settings: DatabaseSettings) -> CostdbError:
    """The error to raise for a connection attempt that failed with ``exc``."""
    message = server_message(exc)
    if settings.password:
        message = message.replace(settings.password, "***")
    line = f"cannot connect to {settings.target} as {settings.user}: {message}"
    if _PERMANENT.search(message):
        return ConfigError(line)
    return DatabaseUnavailable(line)
