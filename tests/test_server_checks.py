"""The probe's checks of the server itself, on a real server: an archive that fails warns with
its age and what waits (the database keeps running and keeps the WAL), and recovers once the
archive is back; a stale backup warns; /metrics' numbers are the same facts. The TLS check
runs against the real image in test_container_tls.py."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from costdb.local.cluster import PostgresCluster
from costdb.settings import DatabaseSettings
from testsupport.cli_runner import clean_environment, run_module
from testsupport.database_actions import run_sql
from testsupport.servers import FAST_TEST_SETTINGS, new_cluster, shared_tempdir


@pytest.fixture(scope="module")
def archiving_server() -> Iterator[PostgresCluster]:
    """A server whose archive fails until ``repository-back`` exists (a repository away),
    migrated to head."""
    root = shared_tempdir("costdb-archiving-")
    cluster = new_cluster(
        root,
        **FAST_TEST_SETTINGS,
        archive_mode="on",
        archive_command=f"'test -e {root}/repository-back'",
    )
    cluster.initialise()
    cluster.start()
    try:
        database = cluster.settings()
        run_sql(database, "CREATE DATABASE costdb")
        migrated = run_module(
            "costdb", "migrate", env=clean_environment(DATABASE_URL=_costdb(cluster).url)
        )
        assert migrated.returncode == 0, migrated.stderr
        yield cluster
    finally:
        cluster.stop(mode="immediate")
        shutil.rmtree(cluster.root, ignore_errors=True)


def _costdb(cluster: PostgresCluster) -> DatabaseSettings:
    return cluster.settings().with_params(dbname="costdb")


def _checks(cluster: PostgresCluster) -> dict[str, dict[str, str]]:
    probe = run_module(
        "healthcheck", "--json", env=clean_environment(DATABASE_URL=_costdb(cluster).url)
    )
    assert probe.returncode == 0, probe.stdout  # warnings keep it healthy
    return {check["name"]: check for check in json.loads(probe.stdout)["checks"]}


def _switch_segments(cluster: PostgresCluster, count: int) -> None:
    for _ in range(count):
        run_sql(_costdb(cluster), "CREATE TEMP TABLE t AS SELECT 1", "SELECT pg_switch_wal()")


def _wait_for(cluster: PostgresCluster, check: str, text: str) -> dict[str, str]:
    deadline = time.monotonic() + 30
    found = _checks(cluster)[check]
    while text not in found["detail"] and time.monotonic() < deadline:
        time.sleep(0.5)
        found = _checks(cluster)[check]
    assert text in found["detail"], found
    return found


def test_a_failing_archive_warns_keeps_the_wal_and_recovers(
    archiving_server: PostgresCluster,
) -> None:
    _switch_segments(archiving_server, 4)
    failing = _wait_for(archiving_server, "archiving", "WAL archiving fails")
    assert failing["status"] == "warn"
    assert "WAL segments wait in pg_wal" in failing["detail"]
    waiting = list((archiving_server.datadir / "pg_wal" / "archive_status").glob("*.ready"))
    assert len(waiting) >= 4  # every closed segment kept for the archive

    (archiving_server.root / "repository-back").touch()
    _switch_segments(archiving_server, 1)  # the archiver retries at once on a new segment
    recovered = _wait_for(archiving_server, "archiving", "0 waiting")
    assert recovered["status"] == "pass"
    assert not list((archiving_server.datadir / "pg_wal" / "archive_status").glob("*.ready"))


def test_a_stale_backup_warns_and_a_fresh_one_passes(archiving_server: PostgresCluster) -> None:
    assert _checks(archiving_server)["backups"] == {
        "name": "backups",
        "status": "pass",
        "detail": "no backup recorded (costdb backup sets them up)",
    }
    insert = "INSERT INTO costdb_backups VALUES (%s, 'full', %s, %s, 1000, 100)"
    finished = datetime.now(UTC) - timedelta(hours=40)
    with psycopg.connect(_costdb(archiving_server).conninfo("test"), autocommit=True) as conn:
        conn.execute(insert, ("20261201-000000F", finished - timedelta(minutes=5), finished))
    stale = _checks(archiving_server)["backups"]
    assert stale["status"] == "warn"
    assert stale["detail"] == (
        "the last backup 20261201-000000F (full) finished 40.0 h ago: more than 36 h"
    )
    now = datetime.now(UTC)
    with psycopg.connect(_costdb(archiving_server).conninfo("test"), autocommit=True) as conn:
        conn.execute(insert, ("20261205-000000F_20261205-010000D", now, now))
    fresh = _checks(archiving_server)["backups"]
    assert fresh["status"] == "pass"
    assert "20261205-000000F_20261205-010000D (full) finished" in fresh["detail"]
