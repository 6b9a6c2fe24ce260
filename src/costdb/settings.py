"""Database settings, read from the environment only.

Two ways to configure, as libpq users expect: ``DATABASE_URL``, or the libpq variables
``PGHOST``, ``PGPORT``, ``PGUSER``, ``PGPASSWORD``, ``PGDATABASE``; ``PGCONNECT_TIMEOUT``
applies to both. Every variable that can hold a secret also has a ``*_FILE`` variant (Docker
and Kubernetes secrets mount files). Setting both a variable and its ``_FILE`` variant is an
error, as in the official postgres image. No secret has a default, and only ``safe_url``
(password masked) is ever shown.

URLs are parsed by libpq itself, so every form libpq accepts works, query options such as
``sslmode`` included. This module imports neither SQLAlchemy nor psycopg (libpq is called
through ``costdb.db.libpq``): the one-shot health probe uses it and must start fast.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from costdb.db.libpq import LibpqError, parse_conninfo
from costdb.errors import ConfigError

_SCHEMES = re.compile(r"^(postgres|postgresql)(\+psycopg)?://", re.IGNORECASE)
_PASSWORD_IN_USERINFO = re.compile(r"://[^:@/]*:([^/?#]*)@")
_PASSWORD_IN_QUERY = re.compile(r"[?&]password=([^&#]*)", re.IGNORECASE)
_URL_PARTS = frozenset({"host", "port", "user", "password", "dbname"})
_REQUIRED_LIBPQ_VARIABLES = ("PGHOST", "PGUSER", "PGDATABASE")
DEFAULT_PORT = 5432
DEFAULT_CONNECT_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the database is, as libpq keywords (``host``, ``port``, ``user``, ``dbname``...).

    ``params`` carries the password; ``safe_url`` and ``target`` never do. ``connect_timeout``
    bounds each connection attempt (libpq's ``PGCONNECT_TIMEOUT``; the spec's 5 s by default).
    """

    params: Mapping[str, str] = field(default_factory=dict)
    connect_timeout: int = DEFAULT_CONNECT_TIMEOUT_SECONDS

    @property
    def host(self) -> str:
        return self.params.get("host", "localhost")

    @property
    def port(self) -> int:
        return int(self.params.get("port", DEFAULT_PORT))

    @property
    def user(self) -> str | None:
        return self.params.get("user")

    @property
    def dbname(self) -> str:
        return self.params["dbname"]

    @property
    def password(self) -> str | None:
        return self.params.get("password")

    @property
    def target(self) -> str:
        """``host:port/database``, to name the database in messages."""
        return f"{self.host}:{self.port}/{self.dbname}"

    @property
    def safe_url(self) -> str:
        """The URL with its password masked: the only form that may be printed or logged."""
        return self._url(mask_password=True)

    @property
    def url(self) -> str:
        """The full ``postgresql://`` URL, password included: for files and child processes."""
        return self._url(mask_password=False)

    def _url(self, *, mask_password: bool) -> str:
        from urllib.parse import quote, urlencode  # noqa: PLC0415  (off the probe's path)

        credentials = quote(self.user or "", safe="")
        if self.password is not None:
            credentials += ":" + ("***" if mask_password else quote(self.password, safe=""))
        host = f"[{self.host}]" if ":" in self.host else self.host
        options = {key: value for key, value in self.params.items() if key not in _URL_PARTS}
        query = f"?{urlencode(options)}" if options else ""
        at = "@" if credentials else ""
        return f"postgresql://{credentials}{at}{host}:{self.port}/{quote(self.dbname)}{query}"

    def with_params(self, **changes: str | int) -> DatabaseSettings:
        """A copy with some libpq keywords changed (another database, user or password)."""
        return replace(self, params={**self.params, **{k: str(v) for k, v in changes.items()}})

    def connect_kwargs(self, application_name: str) -> dict[str, str]:
        """libpq keywords for one connection, timeout and application name included."""
        return {
            **self.params,
            "connect_timeout": str(self.connect_timeout),
            "application_name": application_name,
        }

    def conninfo(self, application_name: str) -> str:
        """The same as a libpq connection string (``key='value' ...``, libpq's quoting)."""
        return " ".join(
            f"{key}={_quote(value)}" for key, value in self.connect_kwargs(application_name).items()
        )


def _quote(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


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
        with open(file_name, encoding="utf-8") as secret:
            value = secret.read().rstrip("\r\n")
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


def secret_fragments(url: str) -> list[str]:
    """Every form in which ``url``'s password may be quoted back: raw and percent-decoded.

    libpq's URL errors quote the token they could not read, or the whole URL: whatever they
    quote, masking these fragments leaves no password in the message.
    """
    from urllib.parse import unquote  # noqa: PLC0415  (only on an error path)

    raw = [m.group(1) for m in _PASSWORD_IN_USERINFO.finditer(url)]
    raw += [m.group(1) for m in _PASSWORD_IN_QUERY.finditer(url)]
    fragments = {form for value in raw if value for form in (value, unquote(value)) if form}
    return sorted(fragments, key=len, reverse=True)  # longest first: no partial masking


def mask_secrets(text: str, fragments: list[str]) -> str:
    for fragment in fragments:
        text = text.replace(fragment, "***")
    return text


def _check_port(raw: str, name: str) -> str:
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"{name} has a port that is not a number from 1 to 65535")
    return raw


def parse_database_url(raw: str) -> dict[str, str]:
    """libpq keywords from a ``postgresql://`` URL; errors never echo the password."""
    url = raw.strip()
    scheme = _SCHEMES.match(url)
    if scheme is None:
        shown = url.split("://", 1)[0] if "://" in url else "none"
        raise ConfigError(
            f"DATABASE_URL has scheme {shown!r}; expected postgresql://user:password@host:port/db"
        )
    url = "postgresql://" + url[scheme.end() :]
    try:
        params = parse_conninfo(url)
    except LibpqError as exc:
        reason = mask_secrets(str(exc).strip().splitlines()[0], secret_fragments(url))
        raise ConfigError(f"DATABASE_URL is not a valid PostgreSQL URL: {reason}") from None
    if "port" in params:
        _check_port(params["port"], "DATABASE_URL")
    if not params.get("dbname"):
        raise ConfigError("DATABASE_URL names no database (add /<database> after the host)")
    return params


def _connect_timeout_from(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_CONNECT_TIMEOUT_SECONDS
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigError(f"PGCONNECT_TIMEOUT must be a whole number of seconds >= 1, got {raw!r}")
    return int(raw)


def _params_from_libpq_variables(environ: Mapping[str, str]) -> dict[str, str]:
    missing = [name for name in _REQUIRED_LIBPQ_VARIABLES if not environ.get(name)]
    if missing:
        raise ConfigError(
            "no database configured: set DATABASE_URL (or DATABASE_URL_FILE), or "
            + ", ".join(_REQUIRED_LIBPQ_VARIABLES)
            + f" (missing: {', '.join(missing)})"
        )
    params = {
        "host": environ["PGHOST"],
        "port": _check_port(environ.get("PGPORT", str(DEFAULT_PORT)), "PGPORT"),
        "user": environ["PGUSER"],
        "dbname": environ["PGDATABASE"],
    }
    password = read_variable("PGPASSWORD", environ)
    if password is not None:
        params["password"] = password
    return params


def load_settings(environ: Mapping[str, str] | None = None) -> DatabaseSettings:
    """Read the database settings from ``environ`` (the process environment by default)."""
    env = os.environ if environ is None else environ
    connect_timeout = _connect_timeout_from(env.get("PGCONNECT_TIMEOUT"))
    database_url = read_variable("DATABASE_URL", env)
    if database_url is not None:
        return DatabaseSettings(parse_database_url(database_url), connect_timeout)
    return DatabaseSettings(_params_from_libpq_variables(env), connect_timeout)


_POSTGRES_DURATION = re.compile(r"^\d+(ms|s|min|h)?$")


@dataclass(frozen=True)
class DdlTimeouts:
    """How long one migration statement may wait for a lock, and run, before it fails.

    A migration that waits behind a long transaction must fail (and be retried) rather than
    queue every query of the application behind its lock: hence a short ``lock_timeout``.
    """

    lock_timeout: str = "10s"
    statement_timeout: str = "30min"

    def set_statements(self, scope: str = "") -> list[str]:
        """``SET [scope] lock_timeout`` and ``statement_timeout`` (``LOCAL``: this transaction)."""
        prefix = f"SET {scope} " if scope else "SET "
        return [
            f"{prefix}lock_timeout = '{self.lock_timeout}'",
            f"{prefix}statement_timeout = '{self.statement_timeout}'",
        ]


def _duration(name: str, default: str, environ: Mapping[str, str]) -> str:
    value = environ.get(name, default).strip()
    if not _POSTGRES_DURATION.match(value):
        raise ConfigError(
            f"{name} must be a duration such as 500ms, 10s, 5min or 1h, got {value!r}"
        )
    return value


def load_ddl_timeouts(environ: Mapping[str, str] | None = None) -> DdlTimeouts:
    """``COSTDB_DDL_LOCK_TIMEOUT`` and ``COSTDB_DDL_STATEMENT_TIMEOUT``, in PostgreSQL's units."""
    env = os.environ if environ is None else environ
    defaults = DdlTimeouts()
    return DdlTimeouts(
        lock_timeout=_duration("COSTDB_DDL_LOCK_TIMEOUT", defaults.lock_timeout, env),
        statement_timeout=_duration(
            "COSTDB_DDL_STATEMENT_TIMEOUT", defaults.statement_timeout, env
        ),
    )
