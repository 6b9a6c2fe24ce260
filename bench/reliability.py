"""The health server under stress: a burst, a frozen database, a long run of requests.

- Burst: ``burst`` clients each open a new connection and send one ``/readyz`` at once, on a
  server with the default settings; p99 latency and how many got no answer, beside the same
  burst on ``/livez``, and the per-request service time of one client after another. The
  clients are ApacheBench's (``ab``: C, one event loop): a Python load generator's 500
  threads would put its own GIL in the figure.
- Frozen database: the server's backend is stopped with SIGSTOP (as a frozen host looks to a
  client); the time a ``/readyz`` takes to come back 503, beside ``--timeout``.
- Memory: the server's RSS after ``requests`` keep-alive requests (``/readyz`` and
  ``/metrics``), beside its RSS after the first 1,000.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg

from bench.harness import Figure
from costdb.settings import DatabaseSettings
from testsupport.health_servers import RunningServer, start_server

TIMEOUT_SECONDS = 2.0


def _ab(port: int, path: str, requests: int, concurrency: int) -> tuple[float, float, int]:
    """ApacheBench's p99 (s), mean time per request across all clients (s) and failures."""
    ab = shutil.which("ab")
    if ab is None:
        raise RuntimeError("the burst needs ApacheBench: scripts/provision-bench.sh installs it")
    url = f"http://127.0.0.1:{port}{path}"
    result = subprocess.run(
        [ab, "-q", "-l", "-s", "30", "-n", str(requests), "-c", str(concurrency), url],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )

    def number(pattern: str) -> float:
        found = re.search(pattern, result.stdout)
        return float(found.group(1)) if found else 0.0

    failures = number(r"Failed requests:\s+(\d+)") + number(r"Non-2xx responses:\s+(\d+)")
    return (
        number(r"\n\s+99%\s+(\d+)") / 1000,
        number(r"Time per request:\s+([\d.]+) \[ms\] \(mean, across") / 1000,
        int(failures),
    )


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
    defaults = start_server(database)
    try:
        defaults.get("/readyz")
        ready_p99, _, ready_dropped = _ab(defaults.port, "/readyz", burst, burst)
        live_p99, _, live_dropped = _ab(defaults.port, "/livez", burst, burst)
        _, ready_service, _ = _ab(defaults.port, "/readyz", 2000, 1)
        _, live_service, _ = _ab(defaults.port, "/livez", 2000, 1)
    finally:
        defaults.process.send_signal(signal.SIGTERM)
        defaults.process.communicate(timeout=30)
    server = start_server(
        database, "--cache-seconds", "0.01", probe_options=("--timeout", str(TIMEOUT_SECONDS))
    )
    try:
        server.get("/readyz")
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
            note=f"no answer: {ready_dropped} /readyz, {live_dropped} /livez; goal <= 50 ms;"
            " ApacheBench, default server settings",
        ),
        Figure(
            section,
            "/readyz service time, one client after another (mean)",
            ready_service * 1000,
            "ms",
            "/livez, the same",
            live_service * 1000,
            note=f"x {burst} = {ready_service * burst * 1000:.0f} ms: a burst is served one"
            " request at a time (one interpreter lock)",
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
