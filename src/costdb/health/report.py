"""One probe's verdict: read the catalog, judge it against the manifest, report every check.

How the catalog is read is the caller's: the CLI connects once through libpq directly
(``costdb.health.one_shot``: fast start-up), the HTTP server keeps a psycopg connection
(``costdb.health.kept_connection``). Either way every network step is bounded:
``connect_timeout`` for connecting and a ``statement_timeout`` for the catalog query.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from costdb.errors import ConnectionFailure
from costdb.exit_codes import ExitCode
from costdb.health.server_certificate import CertificateExpiry
from costdb.settings import DatabaseSettings
from costdb.verify.catalog import Snapshot
from costdb.verify.checks import Check, evaluate, skipped_checks
from costdb.verify.manifest import Manifest
from costdb.verify.server_checks import (
    check_archiving,
    check_backups,
    check_clear_text,
    check_tls,
    server_gauges,
)

APPLICATION_NAME = "costdb-healthcheck"


class CatalogQueryFailed(Exception):
    """Connected, but the catalog query failed; the message is the server's, secret-free."""


CatalogRead = tuple[Snapshot, float]
"""The snapshot, and the seconds spent connecting (0 on a kept connection)."""


@dataclass(frozen=True)
class Report:
    """The outcome of one probe: every check, and how long the probe took."""

    checks: list[Check]
    duration_seconds: float
    misconfigured: bool = False
    finished_at: float = field(default_factory=time.time)
    gauges: dict[str, float | None] = field(default_factory=dict)
    """The server's numbers behind its checks (archive, backup, certificate) for /metrics."""

    @property
    def healthy(self) -> bool:
        return all(check.status in ("pass", "warn") for check in self.checks)

    @property
    def status(self) -> str:
        if self.misconfigured:
            return "misconfigured"
        return "healthy" if self.healthy else "unhealthy"

    @property
    def exit_code(self) -> ExitCode:
        """``OK`` healthy, ``FAILED`` unhealthy, ``MISCONFIGURED``: the CLI's exit code."""
        if self.misconfigured:
            return ExitCode.MISCONFIGURED
        return ExitCode.OK if self.healthy else ExitCode.FAILED

    def failures(self) -> list[Check]:
        return [check for check in self.checks if check.status == "fail"]

    def warnings(self) -> list[Check]:
        return [check for check in self.checks if check.status == "warn"]

    @cached_property
    def json_body(self) -> bytes:
        """The whole report as JSON, rendered once however many requests serve it."""
        return json.dumps(self.as_dict()).encode() + b"\n"

    @cached_property
    def summary_body(self) -> bytes:
        """Every check's name and status, details only where a check did not pass: what an
        orchestrator needs, without the role, the host or the schema's inventory."""
        return json.dumps(self.as_dict(details_of_passes=False)).encode() + b"\n"

    def as_dict(self, *, details_of_passes: bool = True) -> dict[str, Any]:
        checks = [
            check.as_dict()
            if details_of_passes or check.status != "pass"
            else {"name": check.name, "status": check.status}
            for check in self.checks
        ]
        return {
            "status": self.status,
            "duration_ms": round(self.duration_seconds * 1000, 1),
            "checks": checks,
        }


def failed_report(
    manifest: Manifest, detail: str, started: float, *, misconfigured: bool
) -> Report:
    """A report for a probe that never read the catalog: connection failed, the rest skipped."""
    checks = [Check("connection", "fail", detail), *skipped_checks(manifest, "no connection")]
    return Report(checks, time.monotonic() - started, misconfigured=misconfigured)


def probe_settings(settings: DatabaseSettings, timeout: float) -> DatabaseSettings:
    """``settings`` bounded by the probe's ``timeout``: connecting (libpq's ``connect_timeout``,
    whole seconds, never above ``PGCONNECT_TIMEOUT``), the catalog query (server-side
    ``statement_timeout``) and, on Citus, each worker's connection check (half of it). The
    callers also bound the whole probe in time."""
    milliseconds = max(1, int(timeout * 1000))
    # On Citus, a worker that does not answer must fail its own check, within the probe's time.
    # (Citus accepts 10 ms to 1 h.)
    worker_connect = min(max(10, milliseconds // 2), 3_600_000)
    options = (
        f"{settings.params.get('options', '')} -c statement_timeout={milliseconds}"
        f" -c citus.node_connection_timeout={worker_connect}"
    )
    connect_timeout = max(1, min(settings.connect_timeout, math.ceil(timeout)))
    return replace(settings.with_params(options=options.strip()), connect_timeout=connect_timeout)


def judge(
    read: Callable[[], CatalogRead],
    settings: DatabaseSettings,
    manifest: Manifest,
    *,
    allow_replica: bool,
    server_certificate: Callable[[], CertificateExpiry],
) -> Report:
    """Read the catalog with ``read`` and report every check; failures become checks too.
    ``server_certificate`` is asked only when the probe's own connection is encrypted."""
    started = time.monotonic()
    try:
        snapshot, connect_seconds = read()
    except CatalogQueryFailed as exc:
        return failed_report(manifest, f"catalog query failed: {exc}", started, misconfigured=False)
    except ConnectionFailure as exc:
        return failed_report(manifest, str(exc), started, misconfigured=not exc.retryable)
    took = f" (connected in {connect_seconds * 1000:.0f} ms)" if connect_seconds else ""
    connected = Check("connection", "pass", f"{settings.target} as {settings.user}{took}")
    expiry = server_certificate() if snapshot.tls is not None else CertificateExpiry(None)
    checks = [
        connected,
        *evaluate(manifest, snapshot, allow_replica=allow_replica),
        check_tls(snapshot, expiry.days_left, expiry.unknown_because),
        check_clear_text(snapshot),
        check_archiving(snapshot),
        check_backups(snapshot),
    ]
    gauges = server_gauges(snapshot, expiry.days_left)
    return Report(checks, time.monotonic() - started, gauges=gauges)
