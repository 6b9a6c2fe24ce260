"""The health server under faults: a frozen backend, a silent server, bursts, slow or idle
clients, SIGTERM with requests in flight. Every answer must come within its bound."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import psycopg
import pytest

from costdb.settings import DatabaseSettings
from testsupport.cli_runner import run_module, url_environment
from testsupport.health_servers import RunningServer, start_server

pytestmark = pytest.mark.slow  # each test waits out timeouts on purpose


def _threads(server: RunningServer) -> int:
    return len(os.listdir(f"/proc/{server.process.pid}/task"))


def _timed_get(server: RunningServer, path: str) -> tuple[int, str, float]:
    began = time.monotonic()
    status, body = server.get(path)
    return status, body, time.monotonic() - began


def _healthy_quick_server(
    database: DatabaseSettings, serve_factory: list[RunningServer]
) -> RunningServer:
    """A server that probes on every request, bounded at 2 s, answering 200 now."""
    server = start_server(database, "--cache-seconds", "0.01", probe_options=("--timeout", "2"))
    serve_factory.append(server)
    assert server.get("/readyz")[0] == 200
    return server


@contextmanager
def _frozen_backend(database: DatabaseSettings) -> Iterator[int]:
    """SIGSTOP the health server's backend (a frozen host, as far as the client can tell)."""
    with psycopg.connect(database.conninfo("test")) as connection:
        row = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'costdb-healthcheck'"
            " AND datname = current_database()"
        ).fetchone()
    assert row is not None, "the health server keeps no connection"
    os.kill(row[0], signal.SIGSTOP)
    try:
        yield row[0]
    finally:
        os.kill(row[0], signal.SIGCONT)


def test_a_frozen_backend_costs_a_503_within_the_timeout_and_no_thread_pile_up(
    migrated_database: DatabaseSettings, serve_factory: list[RunningServer]
) -> None:
    server = _healthy_quick_server(migrated_database, serve_factory)
    threads_before = _threads(server)
    with _frozen_backend(migrated_database):
        status, body, took = _timed_get(server, "/readyz")
        assert status == 503
        assert took < 2 + 0.5
        assert "no answer from the database within the 2 s timeout" in body
        for path in ("/metrics", "/livez"):
            assert _timed_get(server, path)[2] < 0.5
        with ThreadPoolExecutor(max_workers=20) as pool:
            answers = list(pool.map(lambda _: _timed_get(server, "/readyz"), range(40)))
        assert all(took < 2 + 0.5 for _, _, took in answers)
        assert _threads(server) <= threads_before + 25  # the 20 clients, not one per request
        metrics = server.metrics()
        assert metrics["costdb_health_probe_stalls_total"] >= 1
    deadline = time.monotonic() + 10
    while server.get("/readyz")[0] != 200:
        assert time.monotonic() < deadline, "readiness did not come back after the freeze"
        time.sleep(0.2)


def test_connecting_to_a_silent_server_is_bounded_by_the_probe_timeout(
    silent_server: int, serve_factory: list[RunningServer]
) -> None:
    silent = DatabaseSettings(
        {
            "host": "127.0.0.1",
            "port": str(silent_server),
            "user": "u",
            "password": "pw",
            "dbname": "d",
        }
    )
    server = start_server(silent, probe_options=("--timeout", "2"))
    serve_factory.append(server)
    status, body, took = _timed_get(server, "/readyz")
    assert status == 503
    assert took < 2 + 0.5  # not PGCONNECT_TIMEOUT's 5 s
    assert "pw" not in json.loads(body)["status"]


def test_a_burst_of_500_connections_is_answered_in_full(
    migrated_database: DatabaseSettings, serve_factory: list[RunningServer]
) -> None:
    server = start_server(migrated_database, "--cache-seconds", "5")
    serve_factory.append(server)

    def one(_: int) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            connection.request("GET", "/readyz")
            return connection.getresponse().status
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=500) as pool:
        statuses = list(pool.map(one, range(500)))
    assert statuses == [200] * 500


def test_idle_and_trickling_connections_are_closed(
    migrated_database: DatabaseSettings, serve_factory: list[RunningServer]
) -> None:
    server = start_server(migrated_database, "--idle-timeout", "1")
    serve_factory.append(server)
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(50)]
    trickle = socket.create_connection(("127.0.0.1", server.port))
    trickle.sendall(b"GET /readyz HTTP/1.1\r\n")  # and never the rest
    time.sleep(0.5)
    assert _threads(server) >= 50
    time.sleep(2)
    for connection in [*idle, trickle]:
        connection.settimeout(5)
        assert connection.recv(1024) == b""  # closed by the server, not by us
        connection.close()
    assert _threads(server) < 10
    assert server.get("/livez")[0] == 200


def test_sigterm_answers_the_requests_in_flight(
    migrated_database: DatabaseSettings, serve_factory: list[RunningServer]
) -> None:
    server = _healthy_quick_server(migrated_database, serve_factory)
    with _frozen_backend(migrated_database), ThreadPoolExecutor(max_workers=3) as pool:
        pending = [pool.submit(server.get, "/readyz") for _ in range(3)]
        time.sleep(0.3)  # the three wait for the stuck probe
        server.process.send_signal(signal.SIGTERM)
        assert [future.result(timeout=10)[0] for future in pending] == [503, 503, 503]
    output, _ = server.process.communicate(timeout=10)
    assert server.process.returncode == 0
    assert "Traceback" not in output


def test_a_port_in_use_is_one_line_and_exit_2(
    migrated_database: DatabaseSettings, serve_factory: list[RunningServer]
) -> None:
    first = start_server(migrated_database)
    serve_factory.append(first)
    arguments = ["serve", "--host", "127.0.0.1", "--port", str(first.port)]
    result = run_module("healthcheck", *arguments, env=url_environment(migrated_database))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"healthcheck: error: cannot listen on 127.0.0.1:{first.port}: Address already in use"
    )
