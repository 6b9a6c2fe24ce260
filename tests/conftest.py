"""A real PostgreSQL with pgvector for every test: never a mock.

By default a throwaway cluster is started from the machine's own binaries (as the unprivileged
``postgres`` user when the tests run as root) on a free port, with durability off for speed,
and removed afterwards. ``COSTDB_TEST_DATABASE_URL`` points the tests at an existing server
instead (a superuser URL: the tests create and drop databases).

Each test gets its own database: an empty one created from ``template0``, or a migrated one
cloned from a template migrated once per session (a file copy instead of a migration).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from costdb.engine import create_costdb_engine
from costdb.errors import CostdbError
from costdb.migration_runner import upgrade_to_head
from costdb.migration_scripts import alembic_config as costdb_alembic_config
from costdb.postgres_cluster import PostgresCluster, find_binaries, free_port
from costdb.settings import DRIVER, DatabaseSettings

MIGRATED_TEMPLATE = "costdb_migrated_template"
FAST_TEST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


class TestServer:
    """A PostgreSQL server the tests may create and drop databases on."""

    __test__ = False  # not a test class, despite its name

    def __init__(self, admin_url: URL, cluster: PostgresCluster | None = None) -> None:
        self.admin_url = admin_url
        self.cluster = cluster
        self._admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)

    def execute(self, sql: str) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(sql))

    def create_database(self, template: str = "template0") -> URL:
        name = f"costdb_test_{secrets.token_hex(6)}"
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.admin_url.set(database=name)

    def drop_database(self, url: URL) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')

    def dispose(self) -> None:
        self._admin.dispose()


def _start_throwaway_cluster() -> PostgresCluster:
    try:
        binaries = find_binaries()
    except CostdbError as exc:
        pytest.exit(f"cannot start a test database: {exc}", returncode=2)
    root = Path(tempfile.mkdtemp(prefix="costdb-test-"))
    cluster = PostgresCluster(
        root=root,
        port=free_port(),
        superuser_password=secrets.token_urlsafe(16),
        binaries=binaries,
        settings=FAST_TEST_SETTINGS,
    )
    cluster.initialise()
    cluster.start()
    return cluster


@pytest.fixture(scope="session")
def test_server() -> Iterator[TestServer]:
    given = os.environ.get("COSTDB_TEST_DATABASE_URL")
    if given:
        server = TestServer(make_url(given).set(drivername=DRIVER))
        yield server
        server.dispose()
        return
    cluster = _start_throwaway_cluster()
    server = TestServer(cluster.url(), cluster)
    try:
        yield server
    finally:
        server.dispose()
        cluster.stop(mode="immediate")
        shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture
def empty_database_url(test_server: TestServer) -> Iterator[URL]:
    url = test_server.create_database()
    yield url
    test_server.drop_database(url)


@pytest.fixture(scope="session")
def migrated_template(test_server: TestServer) -> str:
    test_server.execute(f'DROP DATABASE IF EXISTS "{MIGRATED_TEMPLATE}" WITH (FORCE)')
    test_server.execute(f'CREATE DATABASE "{MIGRATED_TEMPLATE}" TEMPLATE template0')
    engine = create_costdb_engine(
        DatabaseSettings(test_server.admin_url.set(database=MIGRATED_TEMPLATE)), pooled=False
    )
    with engine.connect() as connection:
        upgrade_to_head(connection)
    engine.dispose()
    return MIGRATED_TEMPLATE


@pytest.fixture
def migrated_database_url(test_server: TestServer, migrated_template: str) -> Iterator[URL]:
    url = test_server.create_database(template=migrated_template)
    yield url
    test_server.drop_database(url)


@pytest.fixture
def migrated_engine(migrated_database_url: URL) -> Iterator[Engine]:
    engine = create_costdb_engine(DatabaseSettings(migrated_database_url), pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture
def session(migrated_engine: Engine) -> Iterator[Session]:
    with Session(migrated_engine) as session:
        yield session


# pytest-alembic: its built-in tests run against an empty database of their own.
@pytest.fixture
def alembic_engine(empty_database_url: URL) -> Iterator[Engine]:
    engine = create_costdb_engine(DatabaseSettings(empty_database_url), pooled=False)
    yield engine
    engine.dispose()


@pytest.fixture
def alembic_config() -> object:
    return costdb_alembic_config()
