"""Errors that end a costdb command with one clear line and a documented exit code."""

from __future__ import annotations

from costdb.exit_codes import ExitCode


class CostdbError(Exception):
    """Base error: its message is safe to print (it never contains a password)."""

    exit_code = ExitCode.FAILED


class ConfigError(CostdbError):
    """The environment does not describe a usable database (missing, malformed, conflicting)."""

    exit_code = ExitCode.MISCONFIGURED


class ConnectionFailure(CostdbError):
    """A connection attempt failed: where to, as whom, and the server's or libpq's reason.

    The fields let callers word their own messages (``waiting for ...: <reason>``) without
    re-parsing this one. ``reason`` is already free of secrets.
    """

    retryable = True

    def __init__(self, target: str, user: str | None, reason: str) -> None:
        super().__init__(f"cannot connect to {target} as {user}: {reason}")
        self.target = target
        self.user = user
        self.reason = reason


class DatabaseUnavailable(ConnectionFailure):
    """Refused, timed out, starting up or shutting down: may pass by itself."""


class DatabaseNotReady(CostdbError):
    """The database did not accept connections within the wait."""

    exit_code = ExitCode.NOT_REACHABLE


class PermanentConnectionFailure(ConnectionFailure, ConfigError):
    """Wrong credentials, a missing role or database, bad SSL settings: retrying cannot help."""

    retryable = False
    exit_code = ExitCode.MISCONFIGURED
