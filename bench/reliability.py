"""The health server under stress: a burst, a frozen database, a long run of requests.

- Burst: ``burst`` clients each open a new connection and send one ``/readyz`` at once;
  p99 latency and how many got no answer, beside the same burst on ``/livez``.
- Frozen database: the server's backend is stopped with SIGSTOP (as a frozen host looks to a
  client); the time a ``/readyz`` takes to come back 503, beside ``--timeout``.
- Memory: the server's RSS after ``requests`` keep-alive requests (``/readyz`` and
  ``/metrics``), beside its RSS after the first 1,000.
"""

from __future__ import annotations

import http.client
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg

from bench.harness import Figure, percentile
from costdb.settings import DatabaseSettings
from testsupport.health_servers import RunningServer, start_server

TIMEOUT_SECONDS = 2.0


def _one_shot(port: int, path: str) -> float | None:
    """Seconds for one request on a new connection; None if it got no answer in 30 s."""
    began = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        connection.getresponse().read()
    except OSError:
        return None
    finally:
        connection.close()
    return time.perf_counter() - began


def _burst(port: int, path: str, clients: int) -> tuple[float, int]:
    with ThreadPoolExecutor(max_workers=clients) as pool:
        answers = list(pool.map(lambda _: _one_shot(port, path), range(clients)))
    answered = [seconds for seconds in answers if seconds is not None]
    return percentile(answered, 0.99), clients - len(answered)


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1])


def _keep_alive_requests(port: int, count: int, clients: int = 8) -> None:
    def run(share: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for index in range(share):
            connection.request("GET", "/metrics" if index % 10 == 0 else "/readyz")
            connection.getresponse().read()
        connection.close()

    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(run, [count // clients] * clients))


def _frozen_503_seconds(server: RunningServer, database: DatabaseSettings) -> float:
    with psycopg.connect(database.conninfo("bench"), autocommit=True) as connection:
        row = connection.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'costdb-healthcheck'"
            " AND datname = current_database()"
        ).fetchone()
    assert row is not None
    os.kill(row[0], signal.SIGSTOP)
    try:
        began = time.perf_counter()
        status, _ = server.get("/readyz")
        took = time.perf_counter() - began
    finally:
        os.kill(row[0], signal.SIGCONT)
    assert status == 503
    return took


def reliability_figures(database: DatabaseSettings, burst: int, requests: int) -> list[Figure]:
    server = start_server(
        database, "--cache-seconds", "0.01", probe_options=("--timeout", str(TIMEOUT_SECONDS))
    )
    try:
        server.get("/readyz")
        ready_p99, ready_dropped = _burst(server.port, "/readyz", burst)
        live_p99, live_dropped = _burst(server.port, "/livez", burst)
        frozen = _frozen_503_seconds(server, database)
        _keep_alive_requests(server.port, 1000)
        rss_start = _rss_kib(server.process.pid)
        _keep_alive_requests(server.port, requests)
        rss_end = _rss_kib(server.process.pid)
    finally:
        server.process.send_signal(signal.SIGTERM)
        server.process.communicate(timeout=30)
    section = "reliability"
    return [
        Figure(
            section,
            f"{burst} concurrent /readyz (new connections), p99",
            ready_p99 * 1000,
            "ms",
            f"{burst} concurrent /livez, p99",
            live_p99 * 1000,
            note=f"no answer: {ready_dropped} /readyz, {live_dropped} /livez; goal <= 50 ms",
        ),
        Figure(
            section,
            "/readyz with the database frozen (SIGSTOP): time to 503",
            frozen * 1000,
            "ms",
            "--timeout",
            TIMEOUT_SECONDS * 1000,
            note="goal <= timeout + 100 ms",
        ),
        Figure(
            section,
            f"server RSS after {requests:,} more requests",
            rss_end / 1024,
            "MiB",
            "RSS after the first 1,000",
            rss_start / 1024,
            note="goal: flat",
        ),
    ]
