"""The pool behaves as the spec's node-postgres Pool: 20 connections, 30 s idle, 5 s timeouts."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.pool import QueuePool

from costdb.db.engine import create_costdb_engine
from costdb.settings import DatabaseSettings


def _backend_pid(connection: Connection) -> int:
    return int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_pool_has_the_spec_limits(empty_database: DatabaseSettings) -> None:
    engine = create_costdb_engine(empty_database)
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    assert (pool.size(), pool._max_overflow, pool._timeout) == (20, 0, 5)
    engine.dispose()


def test_connection_idle_longer_than_the_timeout_is_replaced(
    empty_database: DatabaseSettings,
) -> None:
    engine = create_costdb_engine(empty_database, pool_size=1, idle_timeout=0.3)
    with engine.connect() as connection:
        first = _backend_pid(connection)
    with engine.connect() as connection:
        reused = _backend_pid(connection)
    time.sleep(0.5)
    with engine.connect() as connection:
        replaced = _backend_pid(connection)
    engine.dispose()
    assert reused == first
    assert replaced != first


def test_waiting_for_a_pooled_connection_times_out(empty_database: DatabaseSettings) -> None:
    settings = replace(empty_database, connect_timeout=1)
    engine = create_costdb_engine(settings, pool_size=1)
    with engine.connect():
        started = time.monotonic()
        with pytest.raises(PoolTimeoutError):
            engine.connect()
        waited = time.monotonic() - started
    engine.dispose()
    assert 0.9 < waited < 3
