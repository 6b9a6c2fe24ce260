"""The CLI's catalog read: one connection through libpq, one query, closed.

libpq through ctypes (``costdb.db.libpq``) instead of psycopg: this is the probe that is
compared against ``pg_isready``, and importing a driver would cost more than the probe.
"""

from __future__ import annotations

import json
import time

from costdb.db.connection import classify_connection_error, server_message
from costdb.db.libpq import LibpqError, query_one_value
from costdb.health.report import APPLICATION_NAME, CatalogQueryFailed, CatalogRead, probe_settings
from costdb.settings import DatabaseSettings
from costdb.verify.catalog import SNAPSHOT_QUERY, Snapshot


def read_once(settings: DatabaseSettings, timeout: float) -> CatalogRead:
    """Connect, read the snapshot, close; raise a classified failure if any step fails."""
    started = time.monotonic()
    try:
        text = query_one_value(
            probe_settings(settings, timeout).conninfo(APPLICATION_NAME), SNAPSHOT_QUERY
        )
    except LibpqError as exc:
        if exc.sqlstate is not None:  # connected: the server rejected the query
            raise CatalogQueryFailed(server_message(exc)) from None
        raise classify_connection_error(exc, settings) from None
    return Snapshot.from_document(json.loads(text)), time.monotonic() - started
