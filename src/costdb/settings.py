"""Database settings, read from the environment only.

Two ways to configure, as libpq users expect: ``DATABASE_URL``, or the libpq variables
``PGHOST``, ``PGPORT``, ``PGUSER``, ``PGPASSWORD``, ``PGDATABASE``; ``PGCONNECT_TIMEOUT``
applies to both. Every variable that can
hold a secret also has a ``*_FILE`` variant (Docker and Kubernetes secrets mount files). Setting
both a variable and its ``_FILE`` variant is an error, as in the official postgres image.
No secret has a default, and messages show URLs with the password masked.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from costdb.errors import ConfigError

DRIVER = "postgresql+psycopg"
_ACCEPTED_SCHEMES = ("postgres", "postgresql", "postgresql+psycopg")
_REQUIRED_LIBPQ_VARIABLES = ("PGHOST", "PGUSER", "PGDATABASE")
DEFAULT_PORT = 5432


DEFAULT_CONNECT_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the database is; ``url`` carries the password, ``safe_url`` never does.

    ``connect_timeout`` bounds each connection attempt (libpq's ``PGCONNECT_TIMEOUT``; the
    spec's 5 s by default).
    """

    url: URL
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT_SECONDS

    @property
    def safe_url(self) -> str:
        """The URL with its password masked: the only form that may be printed or logged."""
        return self.url.render_as_string(hide_password=True)

    @property
    def target(self) -> str:
        """``host:port/database``, to name the database in error messages."""
        return f"{self.url.host}:{self.url.port or DEFAULT_PORT}/{self.url.database}"


def read_variable(name: str, environ: Mapping[str, str]) -> str | None:
    """Return ``name`` from the environment or from the file named by ``name_FILE``.

    A secret file's trailing newline is stripped (editors and ``echo`` add one); an empty,
    missing or unreadable file is a configuration error, never a silent empty password.
    """
    direct = environ.get(name)
    file_name = environ.get(f"{name}_FILE")
    if direct is not None and file_name is not None:
        raise ConfigError(f"both {name} and {name}_FILE are set; set only one")
    if file_name is None:
        return direct or None
    try:
        value = Path(file_name).read_text(encoding="utf-8").rstrip("\r\n")
    except FileNotFoundError:
        raise ConfigError(f"{name}_FILE: no such file: {file_name}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"{name}_FILE: cannot read {file_name}: {reason}") from None
    if not value.strip():
        raise ConfigError(f"{name}_FILE: {file_name} is empty")
    if "\n" in value:
        raise ConfigError(f"{name}_FILE: {file_name} holds more than one line")
    return value


def _url_from_database_url(raw: str) -> URL:
    try:
        url = make_url(raw.strip())
    except ArgumentError:
        raise ConfigError(
            "DATABASE_URL is not a URL of the form postgresql://user:password@host:port/database"
        ) from None
    except ValueError:
        raise ConfigError("DATABASE_URL has a port that is not a number") from None
    if url.drivername not in _ACCEPTED_SCHEMES:
        raise ConfigError(
            f"DATABASE_URL has scheme {url.drivername!r}; expected one of "
            + ", ".join(_ACCEPTED_SCHEMES)
        )
    if not url.database:
        raise ConfigError("DATABASE_URL names no database (add /<database> after the host)")
    return url.set(drivername=DRIVER)


def _connect_timeout_from(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_CONNECT_TIMEOUT_SECONDS
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"PGCONNECT_TIMEOUT must be a whole number of seconds >= 1, got {raw!r}")
    return int(raw)


def _port_from(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PORT
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"PGPORT must be a port number (1-65535), got {raw!r}")
    return int(raw)


def _url_from_libpq_variables(environ: Mapping[str, str]) -> URL:
    missing = [name for name in _REQUIRED_LIBPQ_VARIABLES if not environ.get(name)]
    if missing:
        raise ConfigError(
            "no database configured: set DATABASE_URL (or DATABASE_URL_FILE), or "
            + ", ".join(_REQUIRED_LIBPQ_VARIABLES)
            + f" (missing: {', '.join(missing)})"
        )
    return URL.create(
        DRIVER,
        username=environ["PGUSER"],
        password=read_variable("PGPASSWORD", environ),
        host=environ["PGHOST"],
        port=_port_from(environ.get("PGPORT")),
        database=environ["PGDATABASE"],
    )


def load_settings(environ: Mapping[str, str] | None = None) -> DatabaseSettings:
    """Read the database settings from ``environ`` (the process environment by default)."""
    env = os.environ if environ is None else environ
    connect_timeout = _connect_timeout_from(env.get("PGCONNECT_TIMEOUT"))
    database_url = read_variable("DATABASE_URL", env)
    if database_url is not None:
        return DatabaseSettings(_url_from_database_url(database_url), connect_timeout)
    return DatabaseSettings(_url_from_libpq_variables(env), connect_timeout)


_POSTGRES_DURATION = re.compile(r"^\d+(ms|s|min|h)?$")


@dataclass(frozen=True)
class MigrationTimeouts:
    """How long one migration statement may wait for a lock, and run, before it fails.

    A migration that waits behind a long transaction must fail (and be retried) rather than
    queue every query of the application behind its lock: hence a short ``lock_timeout``.
    """

    lock_timeout: str = "10s"
    statement_timeout: str = "30min"


def _duration(name: str, default: str, environ: Mapping[str, str]) -> str:
    value = environ.get(name, default).strip()
    if not _POSTGRES_DURATION.match(value):
        raise ConfigError(
            f"{name} must be a duration such as 500ms, 10s, 5min or 1h, got {value!r}"
        )
    return value


def load_migration_timeouts(environ: Mapping[str, str] | None = None) -> MigrationTimeouts:
    """``COSTDB_LOCK_TIMEOUT`` and ``COSTDB_STATEMENT_TIMEOUT``, in PostgreSQL's units."""
    env = os.environ if environ is None else environ
    defaults = MigrationTimeouts()
    return MigrationTimeouts(
        lock_timeout=_duration("COSTDB_LOCK_TIMEOUT", defaults.lock_timeout, env),
        statement_timeout=_duration("COSTDB_STATEMENT_TIMEOUT", defaults.statement_timeout, env),
    )
