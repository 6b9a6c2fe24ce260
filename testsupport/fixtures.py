"""The tests' fixtures: a real PostgreSQL with pgvector for every test, never a mock.

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
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from costdb.db.engine import create_costdb_engine
from costdb.errors import CostdbError
from costdb.local.cluster import PostgresCluster
from costdb.migrate.scripts import alembic_config as costdb_alembic_config
from costdb.migrate.sidecar import SidecarOptions, run_sidecar
from costdb.settings import DatabaseSettings, parse_database_url
from testsupport.citus_servers import CitusCluster, citus_available, citus_cluster
from testsupport.containers import DB_IMAGE, EXPORTER_IMAGE, TOOLS_IMAGE, build, engine_or_skip
from testsupport.database_actions import run_sql
from testsupport.health_servers import RunningServer
from testsupport.node_client import installed_client
from testsupport.servers import (
    FAST_TEST_SETTINGS,
    TestServer,
    migrate_to_head,
    new_cluster,
    shared_tempdir,
)

MIGRATED_TEMPLATE = "costdb_migrated_template"


def _start_throwaway_cluster() -> PostgresCluster:
    try:
        cluster = new_cluster(shared_tempdir("costdb-test-"), **FAST_TEST_SETTINGS)
    except CostdbError as exc:
        pytest.exit(f"cannot start a test database: {exc}", returncode=2)
    cluster.initialise()
    cluster.start()
    return cluster


@pytest.fixture(scope="session")
def test_server() -> Iterator[TestServer]:
    given = os.environ.get("COSTDB_TEST_DATABASE_URL")
    if given:
        yield TestServer(DatabaseSettings(parse_database_url(given)))
        return
    cluster = _start_throwaway_cluster()
    try:
        yield TestServer(cluster.settings(), cluster)
    finally:
        cluster.stop(mode="immediate")
        shutil.rmtree(cluster.root, ignore_errors=True)


@pytest.fixture
def empty_database(test_server: TestServer) -> Iterator[DatabaseSettings]:
    database = test_server.create_database()
    yield database
    test_server.drop_database(database)


@pytest.fixture
def owner_role(empty_database: DatabaseSettings) -> Iterator[DatabaseSettings]:
    """A non-superuser that owns the schema, as costdb_owner does (superusers ignore limits);
    the extension created by the superuser, as the init scripts do."""
    name = f"owner_{secrets.token_hex(4)}"
    run_sql(
        empty_database,
        f"CREATE ROLE {name} LOGIN PASSWORD 'owner-pw'",
        f'GRANT CREATE, CONNECT ON DATABASE "{empty_database.dbname}" TO {name}',
        f"ALTER SCHEMA public OWNER TO {name}",
        "CREATE EXTENSION vector",
    )
    yield empty_database.with_params(user=name, password="owner-pw")
    run_sql(
        empty_database, "ALTER SCHEMA public OWNER TO pg_database_owner", f"DROP OWNED BY {name}"
    )
    run_sql(empty_database.with_params(dbname="postgres"), f"DROP ROLE {name}")


@pytest.fixture(scope="session")
def migrated_template(test_server: TestServer) -> str:
    test_server.execute(f'DROP DATABASE IF EXISTS "{MIGRATED_TEMPLATE}" WITH (FORCE)')
    test_server.execute(f'CREATE DATABASE "{MIGRATED_TEMPLATE}" TEMPLATE template0')
    migrate_to_head(test_server.admin.with_params(dbname=MIGRATED_TEMPLATE))
    return MIGRATED_TEMPLATE


@pytest.fixture
def migrated_database(
    test_server: TestServer, migrated_template: str
) -> Iterator[DatabaseSettings]:
    database = test_server.create_database(template=migrated_template)
    yield database
    test_server.drop_database(database)


@pytest.fixture
def migrated_engine(migrated_database: DatabaseSettings) -> Iterator[Engine]:
    engine = create_costdb_engine(migrated_database, pool_size=2)
    yield engine
    engine.dispose()


@pytest.fixture
def session(migrated_engine: Engine) -> Iterator[Session]:
    with Session(migrated_engine) as session:
        yield session


# pytest-alembic: its built-in tests run against an empty database of their own.
@pytest.fixture
def alembic_engine(empty_database: DatabaseSettings) -> Iterator[Engine]:
    engine = create_costdb_engine(empty_database, pooled=False)
    yield engine
    engine.dispose()


@pytest.fixture
def alembic_config() -> object:
    return costdb_alembic_config()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A local TCP port that accepts connections and never answers: a hung server."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    listener.close()


@pytest.fixture
def serve_factory() -> Iterator[list[RunningServer]]:
    started: list[RunningServer] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait()
        if server.process.stdout:
            server.process.stdout.close()


@pytest.fixture(scope="session")
def citus() -> Iterator[CitusCluster]:
    """A coordinator and two workers for the whole session (``make citus`` builds Citus; CI
    sets COSTDB_TEST_REQUIRE_CITUS=1 so that a missing build fails instead of skipping)."""
    missing = citus_available()
    if missing is not None:
        if os.environ.get("COSTDB_TEST_REQUIRE_CITUS") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    with citus_cluster(worker_count=2) as cluster:
        yield cluster


@pytest.fixture
def citus_database(citus: CitusCluster) -> Iterator[DatabaseSettings]:
    database = citus.create_database()
    yield database
    citus.drop_database(database)


@pytest.fixture
def distributed_database(citus_database: DatabaseSettings) -> DatabaseSettings:
    """A Citus database after ``costdb migrate``: at head, every table distributed."""
    run_sidecar(citus_database, SidecarOptions())
    return citus_database


@pytest.fixture(scope="module")
def node_client() -> Path:
    """clients/drizzle with its pinned packages installed (``npm ci``); skips without npm."""
    return installed_client()


@pytest.fixture(scope="session")
def images() -> None:
    """Both images of this checkout, built once per session (skips without a Docker engine)."""
    engine_or_skip()
    build("db", DB_IMAGE)
    build("tools", TOOLS_IMAGE)
    build("exporter", EXPORTER_IMAGE)
