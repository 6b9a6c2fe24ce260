"""A throwaway Citus cluster for tests and benchmarks: a coordinator and workers on loopback.

Each node is a ``PostgresCluster`` with ``shared_preload_libraries = 'citus,vector'``, built
from the machine's own binaries (``make citus`` installs the extension). Every node trusts
loopback connections, as the workers of the Compose profile trust their private network: the
coordinator and the workers connect to each other without a password file. Never part of the
product.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from costdb.local.cluster import PostgresCluster, find_binaries
from costdb.settings import DatabaseSettings
from testsupport.database_actions import run_sql
from testsupport.servers import FAST_TEST_SETTINGS, new_cluster, shared_tempdir

CITUS_SETTINGS = {
    **FAST_TEST_SETTINGS,
    # vector too: a function created with `SET hnsw.ef_search` reaches the workers, whose
    # sessions must know that parameter for a non-superuser to create it (docs/citus.md).
    "shared_preload_libraries": "citus,vector",
    "max_worker_processes": "32",
    "citus.node_connection_timeout": "5000",
    "citus.enable_statistics_collection": "off",
    # The servers run as another OS user with root's HOME: libpq would fail on its client
    # certificate lookup there. Loopback needs no TLS.
    "citus.node_conninfo": "sslmode=disable",
}


def citus_available() -> str | None:
    """None when the newest binaries with pgvector have the Citus extension, else why not."""
    binaries = find_binaries()
    if (binaries.sharedir / "extension" / "citus.control").is_file():
        return None
    return f"Citus is not installed for {binaries.bindir} (run `make citus`)"


@dataclass
class CitusCluster:
    """A coordinator and its workers, started; databases are made on all of them at once."""

    coordinator: PostgresCluster
    workers: list[PostgresCluster]

    @property
    def nodes(self) -> list[PostgresCluster]:
        return [self.coordinator, *self.workers]

    def create_database(self, *, register_workers: bool = True) -> DatabaseSettings:
        """A new database with Citus on every node and (by default) the workers registered:
        the state an operator leaves before the first ``costdb migrate``."""
        name = f"costdb_citus_{secrets.token_hex(5)}"
        for node in self.nodes:
            run_sql(node.settings(), f'CREATE DATABASE "{name}" TEMPLATE template0')
            run_sql(node.settings(name), "CREATE EXTENSION citus")
        if register_workers:
            run_sql(
                self.coordinator.settings(name),
                f"SELECT citus_set_coordinator_host('127.0.0.1', {self.coordinator.port})",
                *(f"SELECT citus_add_node('127.0.0.1', {w.port})" for w in self.workers),
            )
        return self.coordinator.settings(name)

    def drop_database(self, database: DatabaseSettings) -> None:
        for node in self.nodes:
            run_sql(node.settings(), f'DROP DATABASE IF EXISTS "{database.dbname}" WITH (FORCE)')

    def stop(self) -> None:
        for node in self.nodes:
            if node.is_running:
                node.stop(mode="immediate")


def _trust_loopback(node: PostgresCluster) -> None:
    hba = node.datadir / "pg_hba.conf"
    rules = hba.read_text(encoding="utf-8")
    hba.write_text("host all all 127.0.0.1/32 trust\n" + rules, encoding="utf-8")


@contextmanager
def citus_cluster(worker_count: int = 2, **server_settings: str) -> Iterator[CitusCluster]:
    """Start a coordinator and ``worker_count`` workers (``server_settings`` on each); stop
    and remove them afterwards."""
    root = shared_tempdir("costdb-citus-")
    settings = {**CITUS_SETTINGS, **server_settings}
    nodes = [new_cluster(root / f"node{index}", **settings) for index in range(1 + worker_count)]
    cluster = CitusCluster(nodes[0], nodes[1:])
    try:
        for node in nodes:
            node.initialise()
            # The coordinator too: a query whose intermediate results Citus ships to every node
            # holding a placement (a roll-up: events joined with computed price ranges) makes
            # the coordinator connect to itself (docs/citus.md).
            _trust_loopback(node)
            node.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
