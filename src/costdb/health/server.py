"""The probe over HTTP, for orchestrators: ``/livez``, ``/readyz`` and ``/metrics``.

Bounded whatever the database or the network does:

- At most one probe runs at a time, in a worker thread, and the database sees at most one
  check per cache period however many requests arrive. A request waits for the probe only
  until the probe's own deadline (``--timeout``); past it, the answer is a 503 naming the
  stall, and the kept connection is abandoned (its socket shut down) so that the stuck
  worker returns. No request ever waits longer, and threads cannot pile up behind a frozen
  backend.
- ``/livez`` never touches the database; ``/metrics`` never waits for a probe (it serves the
  last one and starts a fresh one in the background when the cached one is stale).
- A listen backlog of 1024 absorbs bursts; a connection idle for longer than the idle
  timeout (a finished keep-alive client, or a slowloris) is closed.
- SIGTERM and SIGINT stop accepting, let requests in flight finish (for at most the probe
  timeout), close the connection and exit 0.

What an answer shows: every check's name and status, and the detail of the checks that did
not pass (what an orchestrator's log and an operator need). The details of passing checks
(role, host, versions, the schema's inventory) only with ``--details``.
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from costdb import defaults
from costdb.errors import ConfigError
from costdb.health.feature_metrics import DATA_READ_SECONDS, load_feature_metrics
from costdb.health.kept_connection import KeptConnectionProber
from costdb.health.report import Report, failed_report

log = logging.getLogger("healthcheck")
LISTEN_BACKLOG = 1024


SERVER_GAUGES = {
    "archive_age_seconds": "Seconds since the last WAL segment reached the archive "
    "(NaN: archiving off).",
    "archive_waiting_segments": "Closed WAL segments not archived yet.",
    "archive_failing": "1 while the last archive attempt failed (the WAL waits in pg_wal).",
    "backup_age_seconds": "Seconds since the newest recorded backup finished (NaN: none).",
    "tls_certificate_days_left": "Days until the server certificate expires (NaN: not "
    "verified by this probe).",
    "clear_text_accepted": "1 if TCP clients may connect without TLS (COSTDB_TLS offered or "
    "off; the db image's own loopback aside), 0 if TLS is required (NaN: not known).",
}
"""The probe's numbers about the server (``costdb.verify.server_checks.server_gauges``)."""


class ProbeMetrics:
    """Prometheus series about the probes this server ran, and the features' own series
    (``costdb.health.feature_metrics``) in the same registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.features = load_feature_metrics(self.registry)
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
        self.stalls = Counter(
            "costdb_health_probe_stalls",
            "Probes that overran their timeout (the database or the network did not answer).",
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
        self.server = {
            name: Gauge(f"costdb_{name}", help_text, registry=self.registry)
            for name, help_text in SERVER_GAUGES.items()
        }

    def record(self, report: Report) -> None:
        self.probes.inc()
        self.duration.observe(report.duration_seconds)
        self.healthy.set(1 if report.healthy else 0)
        for check in report.checks:
            self.check_status.labels(check.name).set(1 if check.status in ("pass", "warn") else 0)
        if report.healthy:
            self.last_success.set(report.finished_at)
        for name, value in report.gauges.items():
            self.server[name].set(math.nan if value is None else value)


@dataclass
class _Flight:
    """One probe in progress: when it started, and its report once it has one."""

    started: float
    done: threading.Event = field(default_factory=threading.Event)
    report: Report | None = None
    stalled: bool = False


class CachedProbe:
    """At most one probe per ``ttl`` seconds and one in flight; callers wait ``timeout`` at most."""

    def __init__(
        self, prober: KeptConnectionProber, ttl: float, timeout: float, metrics: ProbeMetrics
    ) -> None:
        self._prober = prober
        self._ttl = ttl
        self._timeout = timeout
        self._metrics = metrics
        self._lock = threading.Lock()
        self._report: Report | None = None
        self._taken_at = 0.0
        self._flight: _Flight | None = None
        self._data_read_at: float | None = None

    def _fresh(self) -> Report | None:
        if self._report is not None and time.monotonic() - self._taken_at < self._ttl:
            return self._report
        return None

    def _start(self) -> _Flight:
        """The probe in flight, started now if none is (the lock is held)."""
        if self._flight is None:
            self._flight = _Flight(time.monotonic())
            threading.Thread(target=self._run, args=(self._flight,), daemon=True).start()
        return self._flight

    def _run(self, flight: _Flight) -> None:
        report = self._prober.probe()
        with self._lock:
            self._report, self._taken_at = report, time.monotonic()
        self._metrics.record(report)
        flight.report = report
        flight.done.set()  # every waiting request has its answer now
        try:
            # Then the data gauges, never in a readiness answer's way, and before another
            # probe may use the connection (this flight ends only after it).
            self._read_data_gauges(report)
        finally:
            with self._lock:
                self._flight = None

    def _read_data_gauges(self, report: Report) -> None:
        """The features' series, on the probe's thread and connection, once a minute at most
        and only over a healthy schema (the views must be there)."""
        now = time.monotonic()
        read_at = self._data_read_at
        if not report.healthy or (read_at is not None and now - read_at < DATA_READ_SECONDS):
            return
        self._data_read_at = now
        for feature in self._metrics.features:
            self._prober.read_data(feature.read)

    def refresh(self) -> None:
        """Start a probe if the cached report is stale; do not wait for it."""
        with self._lock:
            if self._fresh() is None:
                self._start()

    def report(self) -> Report:
        with self._lock:
            fresh = self._fresh()
            if fresh is not None:
                return fresh
            flight = self._start()
        remaining = flight.started + self._timeout - time.monotonic()
        if flight.done.wait(max(0.0, remaining)) and flight.report is not None:
            return flight.report
        with self._lock:
            first = not flight.stalled
            flight.stalled = True
        if first:
            self._metrics.stalls.inc()
            log.warning(
                "the probe got no answer within %g s: abandoning its connection", self._timeout
            )
            self._prober.abandon()
        detail = f"no answer from the database within the {self._timeout:g} s timeout"
        return failed_report(self._prober.manifest, detail, flight.started, misconfigured=False)


class HealthServer(ThreadingHTTPServer):
    daemon_threads = True  # idle keep-alive connections never hold up the exit
    request_queue_size = LISTEN_BACKLOG

    def __init__(
        self,
        address: tuple[str, int],
        probe: CachedProbe,
        metrics: ProbeMetrics,
        *,
        details: bool,
        idle_seconds: float,
    ) -> None:
        super().__init__(address, HealthHandler)
        self.probe = probe
        self.metrics = metrics
        self.details = details
        self.idle_seconds = idle_seconds
        self.stopping = False
        self._in_flight = 0
        self._idle = threading.Condition()

    def begin_request(self) -> None:
        with self._idle:
            self._in_flight += 1

    def end_request(self) -> None:
        with self._idle:
            self._in_flight -= 1
            self._idle.notify_all()

    def wait_for_requests(self, timeout: float) -> bool:
        """Wait until no request is being answered; False if some still were at ``timeout``."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)


class HealthHandler(BaseHTTPRequestHandler):
    server: HealthServer
    protocol_version = "HTTP/1.1"  # keep-alive: a probing client reuses its connection
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stall

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.idle_seconds)  # idle or trickling: closed

    def handle_one_request(self) -> None:
        self.server.begin_request()
        try:
            super().handle_one_request()
        finally:
            self.server.end_request()

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if self.server.stopping:
            self.send_header("Connection", "close")
            self.close_connection = True
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
            body = report.json_body if self.server.details else report.summary_body
            self._send(status, body, "application/json")
        elif path == "/metrics":
            self.server.probe.refresh()  # never waits: the series are one probe behind at most
            self._send(
                HTTPStatus.OK, generate_latest(self.server.metrics.registry), CONTENT_TYPE_LATEST
            )
        else:
            self._send(HTTPStatus.NOT_FOUND, b'{"error": "not found"}\n', "application/json")

    do_HEAD = do_GET

    def log_message(self, format: str, *args: object) -> None:
        """Requests are not logged: orchestrators probe every few seconds."""


@dataclass(frozen=True)
class ServerOptions:
    """Where the health server listens and how it probes (the defaults: ``costdb.defaults``)."""

    host: str = defaults.HEALTH_HOST
    port: int = defaults.HEALTH_PORT
    cache_seconds: float = defaults.HEALTH_CACHE_SECONDS
    timeout: float = defaults.HEALTH_TIMEOUT_SECONDS
    details: bool = False
    idle_seconds: float = defaults.HEALTH_IDLE_SECONDS


class CannotListen(ConfigError):
    """The address is taken or not this machine's: nothing was served."""


def build_server(prober: KeptConnectionProber, options: ServerOptions) -> HealthServer:
    metrics = ProbeMetrics()
    probe = CachedProbe(prober, options.cache_seconds, options.timeout, metrics)
    return HealthServer(
        (options.host, options.port),
        probe,
        metrics,
        details=options.details,
        idle_seconds=options.idle_seconds,
    )


def run_server(
    prober: KeptConnectionProber,
    options: ServerOptions,
    on_listening: Callable[[], None] | None = None,
) -> None:
    """Listen, call ``on_listening``, serve until SIGTERM or SIGINT: ``python -m healthcheck
    serve`` and ``costdb local up`` alike. ``CannotListen`` when the address is not usable."""
    try:
        server = build_server(prober, options)
    except OSError as exc:
        raise CannotListen(
            f"cannot listen on {options.host}:{options.port}: {exc.strerror or exc}"
        ) from None
    if on_listening is not None:
        on_listening()
    serve(server, prober, grace_seconds=options.timeout)


def serve(server: HealthServer, prober: KeptConnectionProber, *, grace_seconds: float) -> None:
    """Serve until SIGTERM or SIGINT, let requests in flight finish, close, and return."""
    logging.basicConfig(level=logging.INFO, format="healthcheck: %(message)s")

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("%s received: shutting down", signal.Signals(signum).name)
        server.stopping = True
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    log.info("serving /livez /readyz /metrics on http://%s:%d", host, port)
    try:
        server.serve_forever(poll_interval=0.2)
        if not server.wait_for_requests(grace_seconds):
            log.warning("requests still in flight after %g s: closing anyway", grace_seconds)
    finally:
        server.server_close()
        prober.close()
        log.info("stopped")
