"""Throwaway PostgreSQL servers for tests and benchmarks: never part of the product."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

import psycopg
from alembic import command

from costdb.db.engine import connect
from costdb.local.cluster import PostgresCluster, find_binaries, free_port
from costdb.migrate.runner import upgrade_to_head
from costdb.migrate.scripts import alembic_config
from costdb.settings import DatabaseSettings

# Durability off: a test server's data is thrown away, and fsync dominates initdb-heavy tests.
FAST_TEST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


def shared_tempdir(prefix: str) -> Path:
    """A new temporary directory the server's OS user can enter (``mkdtemp`` makes it 0700,
    which shuts that user out of everything inside when this process is root)."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    directory.chmod(0o755)
    return directory


def new_cluster(root: Path, **server_settings: str) -> PostgresCluster:
    """A throwaway cluster under ``root`` (not yet initialised): a free port, a random
    superuser password, the newest binaries with pgvector."""
    return PostgresCluster(
        root=root,
        port=free_port(),
        superuser_password=secrets.token_urlsafe(16),
        binaries=find_binaries(),
        server_settings=server_settings,
    )


def migrate_to_head(database: DatabaseSettings) -> None:
    """Apply costdb's migrations to ``database``, as ``costdb migrate`` would, in-process."""
    with connect(database, "costdb-tests") as connection:
        upgrade_to_head(connection)


def migrate_to(database: DatabaseSettings, revision: str) -> None:
    """Upgrade ``database`` to ``revision`` with plain Alembic: a database an older costdb left."""
    with connect(database, "costdb-tests") as connection:
        command.upgrade(alembic_config(connection), revision)
        connection.commit()


class TestServer:
    """A PostgreSQL server the tests may create and drop databases on."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, admin: DatabaseSettings, cluster: PostgresCluster | None = None) -> None:
        self.admin = admin
        self.cluster = cluster

    def execute(self, sql: str) -> None:
        with psycopg.connect(self.admin.conninfo("costdb-tests"), autocommit=True) as connection:
            connection.execute(sql.encode())

    def create_database(self, template: str = "template0") -> DatabaseSettings:
        name = f"costdb_test_{secrets.token_hex(6)}"
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.admin.with_params(dbname=name)

    def drop_database(self, database: DatabaseSettings) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{database.dbname}" WITH (FORCE)')
