"""``costdb retention``: delete events older than a horizon, in short batches.

The horizon is ``now - keep`` rounded down to midnight UTC, so a day is deleted whole and a
roll-up is never recomputed from half of its day (roll-ups themselves are kept). Events go
oldest first, one hour of ``created_at`` at a time (the BRIN index reads only that hour's
blocks) and at most ``batch_size`` per statement, each statement its own transaction: row
locks, WAL and the time any one transaction holds them stay bounded, and the application's
reads and writes go on (a DELETE takes no lock that blocks them). Their analyses and embeddings
go with them (``ON DELETE CASCADE``) and are counted. Nothing at or after the horizon is ever
touched: every statement filters ``created_at < horizon``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from costdb.db.maintenance_session import single_row

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("costdb.retention")

WINDOW = timedelta(hours=1)

DELETE_BATCH = """
WITH doomed AS (
  SELECT id FROM events
  WHERE created_at >= %(start)s AND created_at < %(end)s AND created_at < %(horizon)s
  LIMIT %(batch)s
),
analyses AS (SELECT count(*) AS n FROM prompt_analysis WHERE event_id IN (SELECT id FROM doomed)),
embeddings AS (
  SELECT count(*) AS n FROM prompt_embeddings WHERE event_id IN (SELECT id FROM doomed)
),
deleted AS (DELETE FROM events WHERE id IN (SELECT id FROM doomed) RETURNING 1)
SELECT (SELECT count(*) FROM deleted), (SELECT n FROM analyses), (SELECT n FROM embeddings)
"""

COUNT_OLDER = """
SELECT (SELECT count(*) FROM events WHERE created_at < %(horizon)s),
       (SELECT count(*) FROM prompt_analysis a JOIN events e ON e.id = a.event_id
        WHERE e.created_at < %(horizon)s),
       (SELECT count(*) FROM prompt_embeddings p JOIN events e ON e.id = p.event_id
        WHERE e.created_at < %(horizon)s)
"""


@dataclass
class RetentionReport:
    """What was (or, in a dry run, would be) deleted, per table; batch timings."""

    horizon: datetime
    dry_run: bool
    deleted: dict[str, int] = field(
        default_factory=lambda: {"events": 0, "prompt_analysis": 0, "prompt_embeddings": 0}
    )
    batches: int = 0
    longest_batch_seconds: float = 0.0

    def line(self) -> str:
        counts = ", ".join(f"{table} {count:,}" for table, count in self.deleted.items())
        verb = "would delete" if self.dry_run else "deleted"
        longest = self.longest_batch_seconds * 1000
        timing = (
            "" if self.dry_run else f" in {self.batches:,} batch(es), the longest {longest:.0f} ms"
        )
        return f"{verb} everything before {self.horizon.isoformat()}: {counts}{timing}"


def horizon_for(now: datetime, keep: timedelta) -> datetime:
    """``now - keep``, rounded down to midnight UTC."""
    return (now - keep).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _first_hour(connection: psycopg.Connection[Any], horizon: datetime) -> datetime | None:
    """The hour of the oldest event before ``horizon``; ``None`` when there is none."""
    row = connection.execute(
        "SELECT date_trunc('hour', min(created_at), 'UTC') FROM events WHERE created_at < %s",
        (horizon,),
    ).fetchone()
    return row[0] if row and row[0] is not None else None


def _delete_window(
    connection: psycopg.Connection[Any],
    parameters: dict[str, Any],
    batch_size: int,
    report: RetentionReport,
) -> bool:
    """Delete one hour's events in batches; ``True`` when the hour held none."""
    first = True
    while True:
        began = time.perf_counter()
        events, analyses, embeddings = single_row(
            connection.execute(DELETE_BATCH, parameters | {"batch": batch_size})
        )
        report.longest_batch_seconds = max(
            report.longest_batch_seconds, time.perf_counter() - began
        )
        if events == 0:
            return first
        first = False
        report.batches += 1
        report.deleted["events"] += events
        report.deleted["prompt_analysis"] += analyses
        report.deleted["prompt_embeddings"] += embeddings
        if events < batch_size:
            return False


def apply_retention(
    connection: psycopg.Connection[Any], horizon: datetime, *, batch_size: int, dry_run: bool
) -> RetentionReport:
    """Delete (or count, with ``dry_run``) events before ``horizon``; ``connection`` in
    autocommit, so that each batch is its own transaction."""
    report = RetentionReport(horizon, dry_run)
    if dry_run:
        row = single_row(connection.execute(COUNT_OLDER, {"horizon": horizon}))
        report.deleted = dict(zip(report.deleted, row, strict=True))
        return report
    start = _first_hour(connection, horizon)
    while start is not None:
        parameters = {"start": start, "end": start + WINDOW, "horizon": horizon}
        emptied = _delete_window(connection, parameters, batch_size, report)
        # A window with nothing in it: jump to the next event instead of walking empty hours.
        start = start + WINDOW if not emptied else _first_hour(connection, horizon)
    log.info("%s", report.line(), extra={"event": "retention"})
    return report
