"""What every benchmark needs: a throwaway server, a migrated database, timing and statistics."""

from __future__ import annotations

import compileall
import os
import shutil
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

import costdb
import healthcheck
from costdb.local.cluster import PostgresCluster
from costdb.paths import migrations_folder
from costdb.settings import DatabaseSettings
from testsupport.servers import migrate_to_head, new_cluster, shared_tempdir


@dataclass(frozen=True)
class Figure:
    """One measured figure beside its baseline: what RESULTS.md prints a row of."""

    section: str
    what: str
    value: float
    unit: str
    baseline_what: str | None = None
    baseline: float | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline


@contextmanager
def running_cluster(**server_settings: str) -> Iterator[PostgresCluster]:
    root = shared_tempdir("costdb-bench-")
    cluster = new_cluster(root / "cluster", **server_settings)
    cluster.initialise()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop(mode="immediate")
        shutil.rmtree(root, ignore_errors=True)


def create_database(cluster: PostgresCluster, name: str, *, migrate: bool) -> DatabaseSettings:
    with psycopg.connect(cluster.settings().conninfo("bench"), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
        connection.execute(f'CREATE DATABASE "{name}"'.encode())
    database = cluster.settings(name)
    if migrate:
        migrate_to_head(database)
    return database


def compile_bytecode() -> None:
    """Byte-code for costdb, the probe and the migrations, as ``pip install`` leaves it in the
    image: a checkout run with ``PYTHONDONTWRITEBYTECODE`` would compile every module from
    source in every process timed."""
    for package in (costdb, healthcheck):
        compileall.compile_dir(os.path.dirname(package.__file__ or ""), quiet=1)
    compileall.compile_dir(migrations_folder(), quiet=1)


def timed_runs(action: Callable[[], object], repeat: int) -> list[float]:
    """Wall time of ``repeat`` calls of ``action``, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return times


def run_command(command: Sequence[str], env: dict[str, str] | None = None) -> None:
    subprocess.run(list(command), env=env, check=True, capture_output=True, timeout=600)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]
