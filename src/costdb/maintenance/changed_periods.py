"""Which closed periods a roll-up must recompute: those whose events changed since they were
rolled up, those never rolled up by this version, and those whose prices changed.

A period inside ``costdb_rollup_coverage`` (written, with the budgets' spend, by an earlier
run) is skipped when its events still count and sum as its roll-ups say: the same number of
calls and the same tokens as the sum of its ``cost_aggregates`` rows. Events are append-only,
so a late call, a retention delete or a changed token count all change that fingerprint; a
price change is recorded apart (``costdb.prices.repricing``) and always recomputed. What
it cannot see is an event moved between keys with its tokens unchanged (an UPDATE of its
project, feature, user or model): ``costdb rollup --full`` recomputes every period in range.
One grouped count over the range replaces recomputing it: a run every minute over the last two
days costs milliseconds when nothing arrived late.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

COVERAGE = "SELECT covered_from, covered_until FROM costdb_rollup_coverage WHERE period = %s"

DIFFERING = """
WITH seen AS (
  SELECT date_trunc(%(period)s, created_at, 'UTC') AS period_start, count(*) AS calls,
         sum(input_tokens::bigint + output_tokens) AS tokens
  FROM events
  WHERE created_at >= %(start)s AND created_at < %(end)s
  GROUP BY 1
), rolled AS (
  SELECT period_start, sum(call_count)::bigint AS calls, sum(total_tokens)::bigint AS tokens
  FROM cost_aggregates
  WHERE period = %(period)s AND period_start >= %(start)s AND period_start < %(end)s
  GROUP BY 1
)
SELECT coalesce(seen.period_start, rolled.period_start)
FROM seen FULL JOIN rolled ON rolled.period_start = seen.period_start
WHERE (seen.calls, seen.tokens) IS DISTINCT FROM (rolled.calls, rolled.tokens)
"""


def periods_to_recompute(
    connection: psycopg.Connection[Any],
    period: str,
    length: timedelta,
    starts: list[datetime],
    always: set[datetime],
) -> list[datetime]:
    """The subset of ``starts`` (sorted) to recompute; ``always`` are kept whatever."""
    covered = connection.execute(COVERAGE, (period,)).fetchone()
    if covered is None or not starts:
        return starts
    covered_from, covered_until = covered
    checked = [s for s in starts if covered_from <= s and s + length <= covered_until]
    if not checked:
        return starts
    rows = connection.execute(
        DIFFERING, {"period": period, "start": checked[0], "end": checked[-1] + length}
    ).fetchall()
    differing = {row[0] for row in rows}
    checked_set = set(checked)
    return [s for s in starts if s not in checked_set or s in differing or s in always]
