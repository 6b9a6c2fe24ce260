"""Alembic environment: metadata from the models, connection from the caller or the environment.

A caller may pass an open connection (the migration runner) or an engine (pytest-alembic) in
``config.attributes["connection"]``; otherwise the database comes from the environment
(``DATABASE_URL`` or ``PG*``), never from alembic.ini, so no password is ever written to a file.
Every migration runs in its own transaction (``transaction_per_migration``): a failing
migration rolls back alone and the revision stays at the last one that succeeded. Statements
run under ``lock_timeout`` and ``statement_timeout`` (``COSTDB_DDL_LOCK_TIMEOUT``,
``COSTDB_DDL_STATEMENT_TIMEOUT``). The session loads every installed extension's library first
(``costdb.migrate.extension_libraries``), so a revision's ``SET hnsw.*`` clause is valid
whatever revision the session starts from and whichever role runs it.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

from costdb.db.engine import create_costdb_engine
from costdb.migrate.extension_libraries import load_extension_libraries
from costdb.migrate.history import HISTORY_TABLE
from costdb.schema import metadata
from costdb.settings import load_ddl_timeouts, load_settings


def _managed(name: str | None, type_: str, _parents: Any) -> bool:
    """Autogenerate compares only the models' tables: costdb's history table is not one."""
    return not (type_ == "table" and name == HISTORY_TABLE)


def _first_revision_on_citus(connection: Connection) -> bool:
    """Citus is installed and nothing is applied yet (the first revision is next)."""
    return bool(
        connection.exec_driver_sql(
            "SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') "
            "AND to_regclass('alembic_version') IS NULL"
        ).scalar()
    )


def _configure_and_run(**target: Any) -> None:
    context.configure(
        target_metadata=metadata,
        transaction_per_migration=True,
        compare_type=True,
        compare_server_default=True,
        include_name=_managed,
        # The migration runner logs and records each revision, inside its transaction.
        on_version_apply=context.config.attributes.get("on_version_apply", ()),
        **target,
    )
    # Session-wide, before the first migration: every DDL statement gives up instead of
    # queueing the application behind its lock, and none runs unbounded.
    for statement in load_ddl_timeouts().set_statements():
        context.execute(statement)
    if "connection" in target:
        # Real extension parameters, not placeholders, for every revision's SET clauses.
        load_extension_libraries(target["connection"])
    if "connection" in target and _first_revision_on_citus(target["connection"]):
        # 0001's `CREATE EXTENSION IF NOT EXISTS vector` would make Citus register the
        # extension again on every worker, which only its owner (the superuser who created it
        # at first boot) may do. Nothing of 0001 needs to reach the workers before the tables
        # are distributed; LOCAL ends with 0001's transaction (the runner applies one
        # revision per transaction).
        context.execute("SET LOCAL citus.enable_metadata_sync = off")
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Print the SQL instead of running it (``alembic upgrade head --sql``): no database needed."""
    _configure_and_run(dialect_name="postgresql", literal_binds=True)


def _run_on(connection: Connection) -> None:
    _configure_and_run(connection=connection)


def run_migrations_online() -> None:
    given = context.config.attributes.get("connection")
    if isinstance(given, Connection):
        _run_on(given)
        return
    # pytest-alembic passes an Engine; otherwise the database comes from the environment.
    engine = given or create_costdb_engine(
        load_settings(), application_name="costdb-migrate", pooled=False
    )
    with engine.connect() as connection:
        _run_on(connection)
    if given is None:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
