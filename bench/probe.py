"""The health probe: the CLI against ``pg_isready``, and ``/readyz`` under a steady load.

- CLI: the wall time of a whole ``python -m healthcheck`` process (interpreter start, imports,
  connect, catalog query, verdict) beside ``pg_isready`` against the same server, interleaved
  so both see the same machine load. Median of ``repeat`` runs each. The modules' byte-code is
  compiled first, as ``pip install`` does in the image (a checkout run with
  ``PYTHONDONTWRITEBYTECODE`` would otherwise compile every module from source on every run),
  and the connect and catalog read are timed apart, in-process.
- HTTP: an open-loop load of ``rate`` requests/second on ``/readyz`` over keep-alive
  connections (requests are sent on schedule, not after the previous answer, so a slow
  server cannot hide its latency); p50 and p99 beside ``/livez`` (no database) as the
  HTTP stack's own baseline, and the database checks per second the load caused.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import threading
import time

from prometheus_client.parser import text_string_to_metric_families

from bench.harness import Figure, compile_bytecode, median, percentile, run_command, timed_runs
from costdb.db.libpq import query_one_value
from costdb.health.report import APPLICATION_NAME, probe_settings
from costdb.local.cluster import PostgresCluster, free_port
from costdb.settings import DatabaseSettings
from costdb.verify.catalog import SNAPSHOT_QUERY


def _environment(database: DatabaseSettings) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database.url}


def cli_figures(cluster: PostgresCluster, database: DatabaseSettings, repeat: int) -> list[Figure]:
    env = _environment(database)
    probe = [sys.executable, "-m", "healthcheck"]
    isready = [
        cluster.binaries.program("pg_isready"),
        "-h",
        "127.0.0.1",
        "-p",
        str(cluster.port),
        "-d",
        database.dbname,
        "-q",
    ]
    costdb_health = [os.path.join(os.path.dirname(sys.executable), "costdb"), "health"]
    compile_bytecode()
    run_command(probe, env)  # warm the page cache
    run_command(costdb_health, env)
    probe_times: list[float] = []
    isready_times: list[float] = []
    costdb_times: list[float] = []
    for _ in range(repeat):
        probe_times += timed_runs(lambda: run_command(probe, env), 1)
        isready_times += timed_runs(lambda: run_command(isready), 1)
        costdb_times += timed_runs(lambda: run_command(costdb_health, env), 1)
    import_probe = [sys.executable, "-c", "import costdb.health.cli"]
    imports = timed_runs(lambda: run_command(import_probe), repeat)
    bare = timed_runs(lambda: run_command([sys.executable, "-c", "pass"]), repeat)
    conninfo = probe_settings(database, 5).conninfo(APPLICATION_NAME)
    connect = timed_runs(lambda: query_one_value(conninfo, b"SELECT 1"), repeat)
    snapshot = timed_runs(lambda: query_one_value(conninfo, SNAPSHOT_QUERY), repeat)
    return [
        Figure(
            "probe (CLI)",
            "python -m healthcheck, whole process",
            median(probe_times) * 1000,
            "ms",
            "pg_isready",
            median(isready_times) * 1000,
        ),
        Figure(
            "probe (CLI)",
            "costdb health, whole process",
            median(costdb_times) * 1000,
            "ms",
            "python -m healthcheck",
            median(probe_times) * 1000,
            note="goal <= 1.2x: the console script dispatches before importing click",
        ),
        Figure(
            "probe (CLI)",
            "python start-up + the probe's imports",
            median(imports) * 1000,
            "ms",
            "python -c pass",
            median(bare) * 1000,
            note="the part of the probe that is not database work",
        ),
        Figure(
            "probe (CLI)",
            "a new connection (SCRAM) + SELECT 1, in-process through libpq",
            median(connect) * 1000,
            "ms",
            "pg_isready",
            median(isready_times) * 1000,
            note="pg_isready stops at the server's first answer: no authentication, no query",
        ),
        Figure(
            "probe (CLI)",
            "a new connection + the probe's catalog snapshot, in-process",
            median(snapshot) * 1000,
            "ms",
            "a new connection + SELECT 1",
            median(connect) * 1000,
            note="a new backend reads every table, column, index, constraint and routine",
        ),
    ]


def _load(port: int, path: str, rate: float, seconds: float, connections: int) -> list[float]:
    """Latencies (s) of ``rate * seconds`` requests sent on an open-loop schedule."""
    latencies: list[float] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def worker(offset: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        own: list[float] = []
        count = int(seconds * rate / connections)
        for i in range(count):
            due = start + (offset + i * connections) / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            sent = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            own.append(time.perf_counter() - sent)
        connection.close()
        with lock:
            latencies.extend(own)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies


def _probes_run(port: int) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/metrics")
    text = connection.getresponse().read().decode()
    connection.close()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "costdb_health_probes_total":
                return sample.value
    return 0.0


def http_figures(database: DatabaseSettings, rate: float, seconds: float) -> list[Figure]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "healthcheck", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_environment(database),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                _probes_run(port)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        livez = _load(port, "/livez", rate, seconds, connections=4)
        before = _probes_run(port)
        started = time.perf_counter()
        readyz = _load(port, "/readyz", rate, seconds, connections=4)
        elapsed = time.perf_counter() - started
        checks_per_second = (_probes_run(port) - before) / elapsed
    finally:
        server.terminate()
        server.wait(timeout=10)
    return [
        Figure(
            "probe (HTTP)",
            f"/readyz p50 at {rate:g} req/s",
            median(readyz) * 1000,
            "ms",
            "/livez p50",
            median(livez) * 1000,
        ),
        Figure(
            "probe (HTTP)",
            f"/readyz p99 at {rate:g} req/s",
            percentile(readyz, 0.99) * 1000,
            "ms",
            "/livez p99",
            percentile(livez, 0.99) * 1000,
            note="goal: under 5 ms",
        ),
        Figure(
            "probe (HTTP)",
            "database checks per second caused",
            checks_per_second,
            "/s",
            note=f"{len(readyz)} requests; cache period 1 s",
        ),
    ]
