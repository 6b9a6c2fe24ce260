"""``python -m healthcheck serve``: status codes, JSON, metrics, caching, reconnects, SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from costdb.local.cluster import free_port
from costdb.settings import DatabaseSettings
from tests.cli_runner import url_environment
from tests.database_actions import run_sql


@dataclass
class RunningServer:
    process: subprocess.Popen[str]
    port: int

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def metrics(self) -> dict[str, float]:
        _, text = self.get("/metrics")
        return {
            sample.name
            + (f"[{sample.labels['check']}]" if "check" in sample.labels else ""): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }


def _start(database: DatabaseSettings, *extra: str) -> RunningServer:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "healthcheck",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *extra,
        ],
        env=url_environment(database),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = RunningServer(process, port)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if server.get("/livez")[0] == 200:
                return server
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError(f"health server did not start: {process.communicate()[0]}")


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


@pytest.fixture
def healthy_server(
    migrated_database: DatabaseSettings, serve_factory: list[RunningServer]
) -> RunningServer:
    server = _start(migrated_database, "--cache-seconds", "30")
    serve_factory.append(server)
    return server


def test_readyz_is_200_with_every_check_when_healthy(healthy_server: RunningServer) -> None:
    status, body = healthy_server.get("/readyz")
    report = json.loads(body)
    assert status == 200
    assert report["status"] == "healthy"
    assert {"name": "revision", "status": "pass", "detail": "at head 0001"} in report["checks"]


def test_readyz_is_503_naming_the_failure_when_unhealthy(
    empty_database: DatabaseSettings, serve_factory: list[RunningServer]
) -> None:
    server = _start(empty_database)
    serve_factory.append(server)
    status, body = server.get("/readyz")
    report = json.loads(body)
    assert status == 503
    assert report["status"] == "unhealthy"
    failed = {
        check["name"]: check["detail"] for check in report["checks"] if check["status"] == "fail"
    }
    assert failed["revision"] == "no migration applied; pending migrations: 0001"
    assert failed["table:events"] == "table events is missing"


def test_livez_needs_no_database(
    empty_database: DatabaseSettings, serve_factory: list[RunningServer]
) -> None:
    server = _start(empty_database.with_params(port=free_port()))
    serve_factory.append(server)
    assert server.get("/livez")[0] == 200
    status, body = server.get("/readyz")
    assert status == 503
    assert "Connection refused" in body
    assert server.get("/nothing-here")[0] == 404


def test_metrics_parse_and_report_every_check(healthy_server: RunningServer) -> None:
    healthy_server.get("/readyz")
    metrics = healthy_server.metrics()
    assert metrics["costdb_health_healthy"] == 1
    assert metrics["costdb_health_check_status[index:idx_prompt_embeddings_hnsw]"] == 1
    assert metrics["costdb_health_probe_duration_seconds_count"] >= 1
    assert metrics["costdb_health_last_success_timestamp_seconds"] > time.time() - 60


def test_many_concurrent_probes_cost_the_database_one_check(
    healthy_server: RunningServer, migrated_database: DatabaseSettings
) -> None:
    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(lambda _: healthy_server.get("/readyz")[0], range(200)))
    assert statuses == [200] * 200
    assert healthy_server.metrics()["costdb_health_probes_total"] == 1
    with psycopg.connect(migrated_database.conninfo("test")) as connection:
        connections = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'costdb-healthcheck'"
        ).fetchone()
    assert connections == (1,)


def test_a_killed_connection_is_replaced_without_a_failed_probe(
    migrated_database: DatabaseSettings, serve_factory: list[RunningServer]
) -> None:
    server = _start(migrated_database, "--cache-seconds", "0.01")
    serve_factory.append(server)
    assert server.get("/readyz")[0] == 200
    run_sql(
        migrated_database,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'costdb-healthcheck'",
    )
    time.sleep(0.05)
    assert server.get("/readyz")[0] == 200


def test_sigterm_stops_the_server_cleanly(healthy_server: RunningServer) -> None:
    assert healthy_server.get("/readyz")[0] == 200
    healthy_server.process.send_signal(signal.SIGTERM)
    output, _ = healthy_server.process.communicate(timeout=10)
    assert healthy_server.process.returncode == 0
    assert "SIGTERM received: shutting down" in output
    assert output.rstrip().endswith("healthcheck: stopped")
    assert "Traceback" not in output
