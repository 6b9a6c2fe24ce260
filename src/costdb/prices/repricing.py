"""Roll-ups that a price change makes stale: recorded by whoever changes a price or a name's
resolution, recomputed by the next ``costdb rollup``, whatever its ``--since``.

``events_with_cost`` prices every call live, so a price added or corrected for the past changes
it at once; ``cost_aggregates`` holds sums computed earlier. ``costdb prices sync`` and name
resolution record, in their own transaction, each (provider, model) they changed and from
when, once per roll-up period kind. ``costdb rollup --period P`` reads P's records, finds the
UTC days that have events of those names (a name resolved to it, or its own) from then on, and
recomputes every closed period of those days beside its own window; a period whose totals did
not change is not written. A record is deleted only if it was not recorded again meanwhile.

A price inserted by hand is not recorded (no trigger): after one for the past, run
``costdb rollup --since <its date>`` once, or insert its record:
``INSERT INTO costdb_repricing (period, provider, model, effective_from) VALUES ('hour', ...)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

PERIOD_KINDS = ("hour", "day")

# The new recorded_at is the inserted row's default (clock_timestamp()), taken through EXCLUDED:
# Citus allows only immutable functions in DO UPDATE SET.
RECORD = """
INSERT INTO costdb_repricing AS r (period, provider, model, effective_from)
SELECT kind, %s, %s, %s FROM unnest(%s::text[]) AS kind
ON CONFLICT (period, provider, model) DO UPDATE
SET effective_from = least(r.effective_from, EXCLUDED.effective_from),
    recorded_at = EXCLUDED.recorded_at
"""
PENDING = """
SELECT provider, model, effective_from, recorded_at FROM costdb_repricing WHERE period = %s
"""
# One pass over the events since the earliest change: their (day, reported name) pairs, then
# the pairs whose resolved or own name changed before the day ended.
AFFECTED_DAYS = """
WITH days AS (
  SELECT date_trunc('day', e.created_at, 'UTC') AS day, e.provider, e.model
  FROM events e
  WHERE e.created_at >= %(earliest)s
  GROUP BY 1, 2, 3
)
SELECT DISTINCT d.day
FROM days d
LEFT JOIN costdb_model_names n ON n.provider = d.provider AND n.model = d.model
JOIN unnest(%(providers)s::text[], %(models)s::text[], %(froms)s::timestamptz[])
  AS c(provider, model, effective_from)
  ON ((c.provider = coalesce(n.priced_provider, d.provider)
       AND c.model = coalesce(n.priced_model, d.model))
      OR (c.provider = d.provider AND c.model = d.model))
 AND d.day + interval '1 day' > c.effective_from
ORDER BY d.day
"""
CLEAR = """
DELETE FROM costdb_repricing
WHERE period = %s AND provider = %s AND model = %s AND recorded_at = %s
"""


@dataclass(frozen=True)
class Pending:
    """What a run found recorded for its period kind: the changes, and the days they touch."""

    changes: list[tuple[str, str, datetime, datetime]]
    days: list[datetime]


def record_repricing(
    cursor: psycopg.Cursor[Any], changes: Iterable[tuple[str, str, datetime]]
) -> None:
    """Record that (provider, model)'s cost changed from a time on, for every period kind."""
    cursor.executemany(
        RECORD, [(provider, model, since, list(PERIOD_KINDS)) for provider, model, since in changes]
    )


def pending_days(connection: psycopg.Connection[Any], period: str) -> Pending:
    """The changes recorded for ``period`` and the UTC days with events they touch."""
    changes = [tuple(row) for row in connection.execute(PENDING, (period,)).fetchall()]
    if not changes:
        return Pending([], [])
    providers, models, froms, _ = (list(column) for column in zip(*changes, strict=True))
    days = connection.execute(
        AFFECTED_DAYS,
        {"earliest": min(froms), "providers": providers, "models": models, "froms": froms},
    ).fetchall()
    return Pending(changes, [row[0] for row in days])


def day_periods(days: Iterable[datetime], length: timedelta) -> list[datetime]:
    """The starts of every period of ``length`` in those days."""
    return [day + length * n for day in days for n in range(int(timedelta(days=1) / length))]


def clear(connection: psycopg.Connection[Any], period: str, pending: Pending) -> None:
    """Delete the records a run recomputed (not those recorded again since it read them)."""
    with connection.transaction(), connection.cursor() as cursor:
        cursor.executemany(
            CLEAR,
            [(period, provider, model, at) for provider, model, _, at in pending.changes],
        )
