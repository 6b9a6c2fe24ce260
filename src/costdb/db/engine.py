"""The SQLAlchemy engine and its connection pool, with the spec's pool settings.

The spec sizes node-postgres' ``Pool`` as ``max: 20``, ``idleTimeoutMillis: 30_000`` and
``connectionTimeoutMillis: 5_000``. Mapped onto SQLAlchemy's ``QueuePool`` and psycopg:

- ``max 20``: ``pool_size=20, max_overflow=0`` — never more than 20 server connections.
- ``connectionTimeoutMillis 5000``: ``connect_timeout=5`` (libpq, for opening a connection)
  and ``pool_timeout=5`` (waiting for a free pooled connection); either ends in an error
  after 5 s instead of a hang. ``PGCONNECT_TIMEOUT`` changes both.
- ``idleTimeoutMillis 30000``: QueuePool has no idle reaper, so a connection that has sat
  idle in the pool for longer than 30 s is discarded when it is next checked out and a fresh
  one is opened (SQLAlchemy's documented ``DisconnectionError``-on-checkout pattern). Unlike
  node-postgres no timer closes it earlier: an idle process keeps its connections open.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from sqlalchemy import URL, Connection, Engine, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, PoolProxiedConnection

from costdb.db.connection import classify_connection_error
from costdb.db.retrying import Wait, retry_while_unavailable
from costdb.settings import DatabaseSettings

POOL_MAX_CONNECTIONS = 20
POOL_IDLE_TIMEOUT_SECONDS = 30.0
DRIVER = "postgresql+psycopg"
_CHECKED_IN_AT = "costdb_checked_in_at"


def create_costdb_engine(
    settings: DatabaseSettings,
    *,
    pool_size: int = POOL_MAX_CONNECTIONS,
    idle_timeout: float = POOL_IDLE_TIMEOUT_SECONDS,
    application_name: str = "costdb",
    pooled: bool = True,
) -> Engine:
    """Create the engine every costdb component uses, pooled as the spec says.

    ``pooled=False`` opens a connection per use (one-shot commands such as migrations,
    which must not keep connections open after they finish).
    """
    connect_timeout = settings.connect_timeout
    # Every libpq keyword goes to psycopg as is; the URL only names the dialect and shows
    # where the engine points (SQLAlchemy masks its password in reprs).
    connect_args = settings.connect_kwargs(application_name)
    url = URL.create(
        DRIVER,
        username=settings.user,
        password=settings.password,
        host=settings.host,
        port=settings.port,
        database=settings.dbname,
    )
    if not pooled:
        return create_engine(
            url, poolclass=NullPool, connect_args=connect_args, hide_parameters=True
        )
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=connect_timeout,
        connect_args=connect_args,
        hide_parameters=True,
    )
    _discard_connections_idle_longer_than(engine, idle_timeout)
    return engine


@contextmanager
def connect(
    settings: DatabaseSettings, application_name: str, wait: Wait = 0.0
) -> Iterator[Connection]:
    """One unpooled connection; a failure to connect becomes one clear, classified error.

    With ``wait``, an unavailable database (starting, full) is retried that long.
    """

    def attempt(connect_timeout: int) -> Connection:
        engine = create_costdb_engine(
            replace(settings, connect_timeout=connect_timeout),
            application_name=application_name,
            pooled=False,
        )
        try:
            return engine.connect()
        except OperationalError as exc:
            raise classify_connection_error(exc, settings) from None

    connection = retry_while_unavailable(attempt, settings, wait)
    try:
        yield connection
    finally:
        connection.close()
        connection.engine.dispose()


def _discard_connections_idle_longer_than(engine: Engine, idle_timeout: float) -> None:
    @event.listens_for(engine, "checkin")
    def _remember_checkin(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
        record.info[_CHECKED_IN_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _refuse_stale(
        _dbapi_connection: DBAPIConnection,
        record: ConnectionPoolEntry,
        _proxy: PoolProxiedConnection,
    ) -> None:
        checked_in_at = record.info.pop(_CHECKED_IN_AT, None)
        if checked_in_at is not None and time.monotonic() - checked_in_at > idle_timeout:
            raise DisconnectionError("connection idle longer than the pool's idle timeout")
