"""Change a test database behind the application's back, as an operator or an accident would."""

from __future__ import annotations

import psycopg

from costdb.settings import DatabaseSettings


def run_sql(database: DatabaseSettings, *statements: str) -> None:
    """Run each statement in autocommit mode (so CREATE INDEX CONCURRENTLY works)."""
    with psycopg.connect(database.conninfo("costdb-tests"), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement.encode())
