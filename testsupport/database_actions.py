"""Change a test database behind the application's back, as an operator or an accident would;
and ask it what a client's connection got."""

from __future__ import annotations

import psycopg

from costdb.settings import DatabaseSettings


def run_sql(database: DatabaseSettings, *statements: str) -> None:
    """Run each statement in autocommit mode (so CREATE INDEX CONCURRENTLY works)."""
    with psycopg.connect(database.conninfo("costdb-tests"), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement.encode())


def encrypted(database: DatabaseSettings) -> bool:
    """Whether a connection made with ``database``'s settings got TLS (``pg_stat_ssl``)."""
    with psycopg.connect(database.conninfo("costdb-tests")) as connection:
        row = connection.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        return bool(row.fetchone() == (True,))
