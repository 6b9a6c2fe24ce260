"""Errors that end a costdb command with one clear line and a documented exit code."""


class CostdbError(Exception):
    """Base error: its message is safe to print (it never contains a password)."""

    exit_code = 1


class ConfigError(CostdbError):
    """The environment does not describe a usable database (missing, malformed, conflicting)."""

    exit_code = 2


class DatabaseUnavailable(CostdbError):
    """The database could not be reached (refused, timed out, starting up): may pass by itself."""

    exit_code = 1
