"""One probe: read the catalog, judge it against the manifest, report every check.

How the catalog is read is the caller's: the CLI connects once through libpq directly (fast
start-up, see ``healthcheck.libpq``), the HTTP server keeps a psycopg connection
(``healthcheck.prober``). Either way every network step is bounded: ``connect_timeout`` for
connecting and a ``statement_timeout`` for the catalog query.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from costdb.connection_errors import classify_connection_error, server_message
from costdb.errors import ConfigError
from costdb.libpq import LibpqError, query_one_value
from costdb.settings import DatabaseSettings
from healthcheck.catalog import SNAPSHOT_QUERY, Snapshot
from healthcheck.checks import Check, evaluate, skipped_checks
from healthcheck.manifest import Manifest

APPLICATION_NAME = "costdb-healthcheck"


class ReadFailure(Exception):
    """The catalog could not be read: no connection (``sqlstate`` None) or the query failed."""

    def __init__(self, message: str, sqlstate: str | None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


CatalogRead = tuple[Snapshot, float]
"""The snapshot, and the seconds spent connecting (0 on a kept connection)."""


@dataclass(frozen=True)
class Report:
    """The outcome of one probe: every check, and how long the probe took."""

    checks: list[Check]
    duration_seconds: float
    misconfigured: bool = False
    finished_at: float = field(default_factory=time.time)

    @property
    def healthy(self) -> bool:
        return all(check.status == "pass" for check in self.checks)

    @property
    def status(self) -> str:
        if self.misconfigured:
            return "misconfigured"
        return "healthy" if self.healthy else "unhealthy"

    @property
    def exit_code(self) -> int:
        """0 healthy, 1 unhealthy, 2 misconfigured (the CLI's documented codes)."""
        if self.misconfigured:
            return 2
        return 0 if self.healthy else 1

    def failures(self) -> list[Check]:
        return [check for check in self.checks if check.status == "fail"]

    @cached_property
    def json_body(self) -> bytes:
        """The report as JSON, rendered once however many requests serve it."""
        return json.dumps(self.as_dict()).encode() + b"\n"

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "duration_ms": round(self.duration_seconds * 1000, 1),
            "checks": [check.as_dict() for check in self.checks],
        }


def failed_report(
    manifest: Manifest, detail: str, started: float, *, misconfigured: bool
) -> Report:
    """A report for a probe that never read the catalog: connection failed, the rest skipped."""
    checks = [Check("connection", "fail", detail), *skipped_checks(manifest, "no connection")]
    return Report(checks, time.monotonic() - started, misconfigured=misconfigured)


def probe_settings(settings: DatabaseSettings, timeout: float) -> DatabaseSettings:
    """``settings`` with the catalog query bounded by ``timeout`` (server-side)."""
    options = (
        f"{settings.params.get('options', '')} -c statement_timeout={max(1, int(timeout * 1000))}"
    )
    return settings.with_params(options=options.strip())


def judge(
    read: Callable[[], CatalogRead],
    settings: DatabaseSettings,
    manifest: Manifest,
    *,
    allow_replica: bool,
) -> Report:
    """Read the catalog with ``read`` and report every check; failures become checks too."""
    started = time.monotonic()
    try:
        snapshot, connect_seconds = read()
    except ReadFailure as exc:
        if exc.sqlstate is not None:  # connected, but the catalog query failed
            detail = f"catalog query failed: {server_message(exc)}"
            return failed_report(manifest, detail, started, misconfigured=False)
        error = classify_connection_error(exc, settings)
        misconfigured = isinstance(error, ConfigError)
        return failed_report(manifest, str(error), started, misconfigured=misconfigured)
    took = f" (connected in {connect_seconds * 1000:.0f} ms)" if connect_seconds else ""
    connected = Check("connection", "pass", f"{settings.target} as {settings.user}{took}")
    checks = [connected, *evaluate(manifest, snapshot, allow_replica=allow_replica)]
    return Report(checks, time.monotonic() - started)


def read_once(settings: DatabaseSettings, timeout: float) -> CatalogRead:
    """One connection through libpq, one query, closed: what the CLI probe does."""
    started = time.monotonic()
    try:
        text = query_one_value(
            probe_settings(settings, timeout).conninfo(APPLICATION_NAME), SNAPSHOT_QUERY
        )
    except LibpqError as exc:
        raise ReadFailure(str(exc), exc.sqlstate) from None
    return Snapshot.from_document(json.loads(text)), time.monotonic() - started
