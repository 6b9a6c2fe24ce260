"""The probe over HTTP, for orchestrators: ``/livez``, ``/readyz`` and ``/metrics``.

Any rate of requests costs the database at most one check per cache period: a fresh-enough
result is served from the cache, and when it is stale exactly one request runs the probe
while the others wait for its result (the lock is held during the probe). The prober keeps
one connection open and replaces it when it breaks. SIGTERM and SIGINT stop the server
cleanly: in-flight requests finish, the connection is closed, the exit code is 0.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from healthcheck.kept_connection import KeptConnectionProber
from healthcheck.report import Report

log = logging.getLogger("healthcheck")


class ProbeMetrics:
    """Prometheus series about the probes this server ran."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.duration = Histogram(
            "costdb_health_probe_duration_seconds",
            "Time one database probe took.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.probes = Counter(
            "costdb_health_probes",
            "Database probes run (not requests served).",
            registry=self.registry,
        )
        self.healthy = Gauge(
            "costdb_health_healthy",
            "1 if the last probe found the schema healthy.",
            registry=self.registry,
        )
        self.check_status = Gauge(
            "costdb_health_check_status",
            "1 if the check passed in the last probe, else 0.",
            ["check"],
            registry=self.registry,
        )
        self.last_success = Gauge(
            "costdb_health_last_success_timestamp_seconds",
            "Unix time of the last healthy probe.",
            registry=self.registry,
        )

    def record(self, report: Report) -> None:
        self.probes.inc()
        self.duration.observe(report.duration_seconds)
        self.healthy.set(1 if report.healthy else 0)
        for check in report.checks:
            self.check_status.labels(check.name).set(1 if check.status == "pass" else 0)
        if report.healthy:
            self.last_success.set(report.finished_at)


class CachedProbe:
    """At most one probe per ``ttl`` seconds, run by one caller while the others wait."""

    def __init__(self, prober: KeptConnectionProber, ttl: float, metrics: ProbeMetrics) -> None:
        self._prober = prober
        self._ttl = ttl
        self._metrics = metrics
        self._lock = threading.Lock()
        self._report: Report | None = None
        self._taken_at = 0.0

    def report(self) -> Report:
        with self._lock:
            if self._report is None or time.monotonic() - self._taken_at >= self._ttl:
                self._report = self._prober.probe()
                self._taken_at = time.monotonic()
                self._metrics.record(self._report)
            return self._report


class HealthServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = True

    def __init__(self, address: tuple[str, int], probe: CachedProbe, metrics: ProbeMetrics) -> None:
        super().__init__(address, HealthHandler)
        self.probe = probe
        self.metrics = metrics


class HealthHandler(BaseHTTPRequestHandler):
    server: HealthServer
    protocol_version = "HTTP/1.1"  # keep-alive: a probing client reuses its connection
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/livez":
            self._send(HTTPStatus.OK, b'{"status": "alive"}\n', "application/json")
        elif path == "/readyz":
            report = self.server.probe.report()
            status = HTTPStatus.OK if report.healthy else HTTPStatus.SERVICE_UNAVAILABLE
            self._send(status, report.json_body, "application/json")
        elif path == "/metrics":
            self.server.probe.report()  # cached: metrics are at most one period old
            self._send(
                HTTPStatus.OK, generate_latest(self.server.metrics.registry), CONTENT_TYPE_LATEST
            )
        else:
            self._send(HTTPStatus.NOT_FOUND, b'{"error": "not found"}\n', "application/json")

    do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Requests are not logged: orchestrators probe every few seconds."""


def build_server(
    prober: KeptConnectionProber, *, host: str, port: int, cache_seconds: float
) -> HealthServer:
    metrics = ProbeMetrics()
    return HealthServer((host, port), CachedProbe(prober, cache_seconds, metrics), metrics)


def serve(prober: KeptConnectionProber, *, host: str, port: int, cache_seconds: float) -> None:
    """Serve until SIGTERM or SIGINT, then close the connection and return."""
    logging.basicConfig(level=logging.INFO, format="healthcheck: %(message)s")
    server = build_server(prober, host=host, port=port, cache_seconds=cache_seconds)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: shutting down", signal.Signals(signum).name)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info("serving /livez /readyz /metrics on http://%s:%d", host, server.server_address[1])
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        prober.close()
        log.info("stopped")
