"""Run the checks against a live server: connect, read the catalog once, judge it.

A ``Prober`` may keep its connection between probes (the HTTP server does): a connection that
went stale (server restarted) is replaced once within the same probe, so a restart does not
make readiness flap. Every network step is bounded: ``connect_timeout`` for connecting and a
``statement_timeout`` for the catalog query.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import psycopg

from costdb.connection_errors import classify_connection_error, server_message
from costdb.errors import ConfigError
from costdb.settings import DatabaseSettings
from healthcheck.catalog import read_snapshot
from healthcheck.checks import Check, evaluate, skipped_checks
from healthcheck.manifest import Manifest

APPLICATION_NAME = "costdb-healthcheck"


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


class Prober:
    """Probes one database against one manifest."""

    def __init__(
        self,
        settings: DatabaseSettings,
        manifest: Manifest,
        *,
        timeout: float,
        allow_replica: bool = False,
        keep_connection: bool = False,
    ) -> None:
        self.settings = settings
        self.manifest = manifest
        self.allow_replica = allow_replica
        self.keep_connection = keep_connection
        statement_ms = max(1, int(timeout * 1000))
        options = f"{settings.params.get('options', '')} -c statement_timeout={statement_ms}"
        self._conninfo_settings = settings.with_params(options=options.strip())
        self._connection: psycopg.Connection[Any] | None = None

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self._conninfo_settings.conninfo(APPLICATION_NAME), autocommit=True)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _read_catalog(self) -> tuple[Any, float]:
        """The snapshot and the connect time; a stale kept connection is replaced once."""
        if self._connection is not None and not self._connection.closed:
            try:
                return read_snapshot(self._connection), 0.0
            except psycopg.OperationalError:
                self.close()
        connect_started = time.monotonic()
        connection = self._connect()
        connect_seconds = time.monotonic() - connect_started
        try:
            snapshot = read_snapshot(connection)
        finally:
            if self.keep_connection:
                self._connection = connection
            else:
                connection.close()
        return snapshot, connect_seconds

    def probe(self) -> Report:
        started = time.monotonic()
        try:
            snapshot, connect_seconds = self._read_catalog()
        except psycopg.Error as exc:
            self.close()
            if exc.sqlstate is not None:  # connected, but the catalog query failed
                detail = f"catalog query failed: {server_message(exc)}"
                return failed_report(self.manifest, detail, started, misconfigured=False)
            error = classify_connection_error(exc, self.settings)
            misconfigured = isinstance(error, ConfigError)
            return failed_report(self.manifest, str(error), started, misconfigured=misconfigured)
        connected = Check(
            "connection",
            "pass",
            f"{self.settings.target} as {self.settings.user}"
            + (f" (connected in {connect_seconds * 1000:.0f} ms)" if connect_seconds else ""),
        )
        checks = [connected, *evaluate(self.manifest, snapshot, allow_replica=self.allow_replica)]
        return Report(checks, time.monotonic() - started)
