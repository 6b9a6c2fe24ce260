"""Start-up and migration: how fast costdb becomes ready, beside the bare server doing less.

- start-up: ``costdb local up --detach`` from an empty data directory to a healthy
  ``/readyz`` (initdb, init scripts, restart, migrate, verify, health server) beside a bare
  ``initdb`` + ``pg_ctl start`` until ``pg_isready`` answers.
- migration: an empty database to head with ``costdb migrate`` (a whole process: wait, lock,
  history, upgrade, verify) beside ``psql -f`` of the same SQL (``alembic upgrade head --sql``),
  with byte-code compiled first as in the image.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

from bench.harness import Figure, compile_bytecode, create_database, median, run_command
from costdb.local.cluster import PostgresCluster, free_port
from testsupport.servers import new_cluster, shared_tempdir


def _costdb_local_up() -> float:
    parent = shared_tempdir("costdb-bench-up-")
    env = {
        **os.environ,
        "COSTDB_LOCAL_DIR": str(parent / "stack"),
        "COSTDB_LOCAL_PORT": str(free_port()),
        "COSTDB_LOCAL_HEALTH_PORT": str(free_port()),
    }
    try:
        started = time.perf_counter()
        run_command([sys.executable, "-m", "costdb", "local", "up", "--detach"], env)
        elapsed = time.perf_counter() - started  # --detach returns once /livez answers
        run_command(
            [sys.executable, "-m", "healthcheck"],
            {**env, "DATABASE_URL_FILE": str(parent / "stack" / "readonly.url")},
        )
        return elapsed
    finally:
        subprocess.run(
            [sys.executable, "-m", "costdb", "local", "down"],
            env=env,
            check=False,
            capture_output=True,
        )
        shutil.rmtree(parent, ignore_errors=True)


def _bare_start() -> float:
    parent = shared_tempdir("costdb-bench-bare-")
    cluster = new_cluster(parent / "cluster")
    try:
        started = time.perf_counter()
        cluster.initialise()
        cluster.start()  # pg_ctl --wait returns when pg_isready would answer
        run_command(
            [
                cluster.binaries.program("pg_isready"),
                "-h",
                "127.0.0.1",
                "-p",
                str(cluster.port),
                "-q",
            ]
        )
        return time.perf_counter() - started
    finally:
        if cluster.is_running:
            cluster.stop(mode="immediate")
        shutil.rmtree(parent, ignore_errors=True)


def startup_figures(repeat: int) -> list[Figure]:
    ours, bare = [], []
    for _ in range(repeat):
        ours.append(_costdb_local_up())
        bare.append(_bare_start())
    note = "adds init scripts, restart, migration, verification, health server"
    return [
        Figure(
            "start-up",
            "empty directory to healthy: costdb local up --detach",
            median(ours),
            "s",
            "initdb + pg_ctl start to pg_isready",
            median(bare),
            note=note,
        )
    ]


def _timed(command: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    run_command(command, env)
    return time.perf_counter() - started


def migration_figures(cluster: PostgresCluster, repeat: int) -> list[Figure]:
    compile_bytecode()
    sql = subprocess.run(
        [sys.executable, "-m", "costdb", "migrate", "--sql"],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    sql_file = shared_tempdir("costdb-bench-sql-") / "upgrade.sql"
    sql_file.write_text(sql)
    ours, psql = [], []
    for index in range(repeat):
        target = create_database(cluster, f"bench_migrate_{index}", migrate=False)
        migrate = [sys.executable, "-m", "costdb", "migrate"]
        ours.append(_timed(migrate, {**os.environ, "DATABASE_URL": target.url}))
        plain = create_database(cluster, f"bench_psql_{index}", migrate=False)
        psql.append(
            _timed(
                [
                    cluster.binaries.program("psql"),
                    "-X",
                    "-q",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-f",
                    str(sql_file),
                    plain.url,
                ]
            )
        )
    shutil.rmtree(sql_file.parent, ignore_errors=True)
    return [
        Figure(
            "migration",
            "empty database to head: costdb migrate (process)",
            median(ours) * 1000,
            "ms",
            "psql -f of the same SQL",
            median(psql) * 1000,
            note="adds start-up, lock, history, checksums, verification",
        )
    ]
