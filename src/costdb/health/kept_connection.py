"""The HTTP server's prober: one psycopg connection, kept between probes.

A kept connection that went stale (the server restarted, an operator killed it) is replaced
once within the same probe, so that a restart does not make readiness flap. A probe stuck on
a frozen backend or a silent network can be abandoned from another thread: its socket is shut
down, the blocked read returns, and the next probe connects afresh.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import psycopg

from costdb.db.connection import classify_connection_error, open_connection, server_message
from costdb.health.report import (
    APPLICATION_NAME,
    CatalogQueryFailed,
    CatalogRead,
    Report,
    judge,
    probe_settings,
)
from costdb.health.server_certificate import CertificateExpiry, certificate_expiry
from costdb.settings import DatabaseSettings
from costdb.verify.catalog import read_snapshot
from costdb.verify.manifest import Manifest

CERTIFICATE_RECHECK_SECONDS = 60.0
"""A certificate's expiry is counted in days: one handshake a minute is plenty, whatever the
probe rate (a renewal shows within a minute)."""


class KeptConnectionProber:
    """Probes one database against one manifest over a kept connection."""

    def __init__(
        self,
        settings: DatabaseSettings,
        manifest: Manifest,
        *,
        timeout: float,
        allow_replica: bool = False,
    ) -> None:
        self.settings = settings
        self.manifest = manifest
        self.allow_replica = allow_replica
        self._probe_settings = probe_settings(settings, timeout)
        self._connection: psycopg.Connection[Any] | None = None
        self._timeout = timeout
        self._expiry: tuple[float, CertificateExpiry] | None = None

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def abandon(self) -> None:
        """Unblock a probe stuck on this connection (called from another thread).

        Shutting the socket down makes the blocked read fail at once, whatever the server or
        the network does; the probe then reports the failure and the connection is replaced.
        """
        connection = self._connection
        if connection is None or connection.closed:
            return
        with contextlib.suppress(OSError, psycopg.Error):
            duplicate = socket.socket(fileno=os.dup(connection.pgconn.socket))
            duplicate.shutdown(socket.SHUT_RDWR)
            duplicate.close()

    def _read(self) -> CatalogRead:
        if self._connection is not None and not self._connection.closed:
            try:
                return read_snapshot(self._connection), 0.0
            except psycopg.OperationalError:
                self.close()
        started = time.monotonic()
        self._connection = open_connection(self._probe_settings, APPLICATION_NAME)
        connect_seconds = time.monotonic() - started
        try:
            return read_snapshot(self._connection), connect_seconds
        except psycopg.Error as exc:
            self.close()
            if exc.sqlstate is not None:
                raise CatalogQueryFailed(server_message(exc)) from None
            raise classify_connection_error(exc, self.settings) from None

    def read_data(self, read: Callable[[psycopg.Connection[Any]], object]) -> None:
        """``read`` over the kept connection, within the probe's statement timeout; nothing
        when there is no connection or it fails. Data, not health: it never fails a probe."""
        if self._connection is None or self._connection.closed:
            return
        with contextlib.suppress(psycopg.Error):
            read(self._connection)

    def _server_certificate(self) -> CertificateExpiry:
        now = time.monotonic()
        if self._expiry is None or now - self._expiry[0] > CERTIFICATE_RECHECK_SECONDS:
            self._expiry = (now, certificate_expiry(self.settings, self._timeout))
        return self._expiry[1]

    def probe(self) -> Report:
        return judge(
            self._read,
            self.settings,
            self.manifest,
            allow_replica=self.allow_replica,
            server_certificate=self._server_certificate,
        )
