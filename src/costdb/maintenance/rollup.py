"""``costdb rollup``: ``cost_aggregates`` recomputed from ``events``, exactly and idempotently.

The closed periods (hours or days, UTC) in the range are recomputed one UTC day per
transaction (a bounded amount of work: one day of events), under a transaction-level advisory
lock on each period, taken in time order: concurrent runs take turns per period instead of
interleaving, and a late event committed in a closed period is picked up by the next run over
it. A period's rows are written with ``INSERT ... ON CONFLICT DO UPDATE ...
WHERE`` the values differ, so a re-run over unchanged events writes nothing.

Cost is the database's: ``events_with_cost.computed_cost_usd`` (the price in effect at each
call, tiers and cache prices included), or the client's ``estimated_cost_usd`` for an event
no price covered. ``total_tokens`` is ``input_tokens + output_tokens`` (cache reads and writes
and reasoning are inside them). The spec's ``integer`` counters and ``numeric(12,6)`` cost
cannot hold more than 2,147,483,647 tokens or calls or $999,999.999999 per key and period:
a period that would exceed them stops the run with an error naming the key, and nothing of
that period is written (never a wrapped or rounded number). A key whose events are all gone
(retention) keeps its roll-up: roll-ups outlive raw events.

An hourly run also writes, in the same transactions and from the same per-call costs, the
spend per hour of each project, feature, user and model (``costdb_spend_hourly``), the hour
in progress up to the run's end included, and every run extends ``costdb_rollup_coverage``:
up to when a reader may take the spend from the roll-ups rather than from the calls.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from costdb.errors import CostdbError
from costdb.maintenance.changed_periods import periods_to_recompute
from costdb.prices.repricing import clear, day_periods, pending_days

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("costdb.rollup")

PERIODS = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
INTEGER_MAX = 2_147_483_647
COST_MAX = Decimal("999999.999999")  # numeric(12,6)
WORK_MEM = "64MB"
LOCK_NAMESPACE = 0x636F7374  # "cost": the first key of the per-period advisory lock

# Each call is priced once, into per-(key, user) sums; cost_aggregates and the hourly spend
# per scope are both regrouped from them. The mean latency is sum / count over the same
# integers avg() would sum and count: the same numeric division, the same value.
DETAIL = """
CREATE TEMPORARY TABLE costdb_rollup_detail ON COMMIT DROP AS
SELECT project_id, feature, model, user_id,
       date_trunc(%(period)s, created_at, 'UTC') AS period_start,
       sum(coalesce(computed_cost_usd, estimated_cost_usd)) AS total_cost,
       sum(input_tokens::bigint + output_tokens) AS total_tokens,
       count(*) AS call_count,
       sum(latency_ms::bigint) AS total_latency
FROM events_with_cost
WHERE created_at >= %(start)s AND created_at < %(end)s
GROUP BY project_id, feature, model, user_id, 5
"""

AGGREGATE = """
CREATE TEMPORARY TABLE costdb_rollup_period ON COMMIT DROP AS
SELECT project_id, feature, model, period_start,
       sum(total_cost) AS total_cost,
       sum(total_tokens) AS total_tokens,
       sum(call_count) AS call_count,
       round(sum(total_latency)::numeric / sum(call_count), 2) AS avg_latency
FROM costdb_rollup_detail
GROUP BY project_id, feature, model, period_start
"""

OVERFLOW = """
SELECT period_start, project_id, feature, model, total_tokens, call_count, total_cost
FROM costdb_rollup_period
WHERE total_tokens > %(integer_max)s OR call_count > %(integer_max)s OR total_cost > %(cost_max)s
ORDER BY period_start, project_id, feature, model LIMIT 1
"""

UPSERT = """
INSERT INTO cost_aggregates AS a (project_id, feature, model, period, period_start,
                                  total_cost, total_tokens, call_count, avg_latency)
SELECT project_id, feature, model, %(period)s, period_start,
       total_cost, total_tokens, call_count, avg_latency
FROM costdb_rollup_period
ON CONFLICT (project_id, feature, model, period, period_start) DO UPDATE
SET total_cost = EXCLUDED.total_cost, total_tokens = EXCLUDED.total_tokens,
    call_count = EXCLUDED.call_count, avg_latency = EXCLUDED.avg_latency
WHERE (a.total_cost, a.total_tokens, a.call_count, a.avg_latency)
      IS DISTINCT FROM
      (EXCLUDED.total_cost, EXCLUDED.total_tokens, EXCLUDED.call_count, EXCLUDED.avg_latency)
"""

# The hourly spend per project, per (project, feature), (project, user) and (project, model):
# the budgets' and the dashboards' (costdb_spend_by).
SPEND_UPSERT = """
INSERT INTO costdb_spend_hourly AS s (project_id, scope, scope_key, hour, cost_usd, calls)
SELECT project_id, 'project', '', period_start, sum(total_cost), sum(call_count)
FROM costdb_rollup_detail GROUP BY project_id, period_start
UNION ALL
SELECT project_id, 'feature', feature, period_start, sum(total_cost), sum(call_count)
FROM costdb_rollup_detail GROUP BY project_id, feature, period_start
UNION ALL
SELECT project_id, 'user', user_id, period_start, sum(total_cost), sum(call_count)
FROM costdb_rollup_detail WHERE user_id IS NOT NULL GROUP BY project_id, user_id, period_start
UNION ALL
SELECT project_id, 'model', model, period_start, sum(total_cost), sum(call_count)
FROM costdb_rollup_detail GROUP BY project_id, model, period_start
ON CONFLICT (project_id, scope, scope_key, hour) DO UPDATE
SET cost_usd = EXCLUDED.cost_usd, calls = EXCLUDED.calls
WHERE (s.cost_usd, s.calls) IS DISTINCT FROM (EXCLUDED.cost_usd, EXCLUDED.calls)
"""

# The one contiguous range of closed periods written: a run that meets or overlaps it extends
# it; a run after a gap starts it again (the periods before the gap are not known to be whole).
COVERAGE = """
INSERT INTO costdb_rollup_coverage AS c (period, covered_from, covered_until)
VALUES (%(period)s, %(start)s, %(end)s)
ON CONFLICT (period) DO UPDATE
SET covered_from = CASE
      WHEN EXCLUDED.covered_from <= c.covered_until AND EXCLUDED.covered_until >= c.covered_from
        THEN least(c.covered_from, EXCLUDED.covered_from)
      WHEN EXCLUDED.covered_until > c.covered_until THEN EXCLUDED.covered_from
      ELSE c.covered_from END,
    covered_until = CASE
      WHEN EXCLUDED.covered_from <= c.covered_until AND EXCLUDED.covered_until >= c.covered_from
        THEN greatest(c.covered_until, EXCLUDED.covered_until)
      WHEN EXCLUDED.covered_until > c.covered_until THEN EXCLUDED.covered_until
      ELSE c.covered_until END
"""


class RollupOverflow(CostdbError):
    """A period's totals do not fit the spec's column types; nothing of it was written."""


@dataclass(frozen=True)
class ChunkResult:
    periods: int
    keys: int
    written: int


def period_start(instant: datetime, period: str) -> datetime:
    """The start (UTC) of the ``period`` containing ``instant``."""
    utc = instant.astimezone(UTC)
    if period == "hour":
        return utc.replace(minute=0, second=0, microsecond=0)
    return utc.replace(hour=0, minute=0, second=0, microsecond=0)


def closed_periods(since: datetime, until: datetime, period: str) -> Iterator[datetime]:
    """Starts of the periods that begin at or after ``since``'s period and end by ``until``."""
    length = PERIODS[period]
    start = period_start(since, period)
    while start + length <= until:
        yield start
        start += length


def _by_day(starts: list[datetime]) -> Iterator[list[datetime]]:
    """Consecutive period starts grouped by their UTC day: one transaction's work."""
    chunk: list[datetime] = []
    for start in starts:
        if chunk and start.date() != chunk[0].date():
            yield chunk
            chunk = []
        chunk.append(start)
    if chunk:
        yield chunk


def _overflow_error(row: tuple[Any, ...], period: str) -> RollupOverflow:
    start, project, feature, model, tokens, calls, cost = row
    what = (
        f"{tokens:,} tokens"
        if tokens > INTEGER_MAX
        else f"{calls:,} calls"
        if calls > INTEGER_MAX
        else f"${cost} of cost"
    )
    return RollupOverflow(
        f"the {period} from {start.astimezone(UTC).isoformat()} for project {project!r}, "
        f"feature {feature!r}, model {model!r} has {what}, more than cost_aggregates can hold "
        "(integer counters, numeric(12,6) cost): roll it up by hour, or split the key; "
        "nothing of that day was written"
    )


def roll_up_chunk(
    connection: psycopg.Connection[Any], period: str, starts: list[datetime]
) -> ChunkResult:
    """Recompute consecutive closed periods of one day in one transaction."""
    parameters = {
        "period": period,
        "start": starts[0],
        "end": starts[-1] + PERIODS[period],
        "integer_max": INTEGER_MAX,
        "cost_max": COST_MAX,
    }
    with connection.transaction():
        # A day's keys fit in memory: hash aggregation instead of sorting text keys on disk.
        connection.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        for start in starts:  # in time order, the same in every run: no deadlock
            connection.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                (LOCK_NAMESPACE, f"{period}:{start.isoformat()}"),
            )
        connection.execute(DETAIL, parameters)
        keys = connection.execute(AGGREGATE, parameters).rowcount  # CREATE TABLE AS: rows
        overflow = connection.execute(OVERFLOW, parameters).fetchone()
        if overflow is not None:
            raise _overflow_error(overflow, period)
        written = connection.execute(UPSERT, parameters).rowcount
        if period == "hour":
            connection.execute(SPEND_UPSERT)
    return ChunkResult(len(starts), keys, max(written, 0))


def _extend_coverage(
    connection: psycopg.Connection[Any], period: str, start: datetime, end: datetime
) -> None:
    """Record the contiguous range [start, end) just written (``costdb_rollup_coverage``)."""
    connection.execute(COVERAGE, {"period": period, "start": start, "end": end})


def _roll_up_open_hour(connection: psycopg.Connection[Any], until: datetime) -> None:
    """The budgets' spend of the hour in progress, from its start to ``until``, and the
    coverage moved to ``until``: a budget then prices only the calls since this run one by one.
    Only at the frontier: a run whose ``until`` is older than what is covered leaves the newer
    partial hour alone. The next run recomputes it (and, once it has ended, as a closed hour)."""
    start = period_start(until, "hour")
    if start == until:
        return
    with connection.transaction():
        connection.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
            (LOCK_NAMESPACE, f"hour:{start.isoformat()}"),
        )
        frontier = connection.execute(
            "SELECT covered_until FROM costdb_rollup_coverage WHERE period = 'hour' FOR UPDATE"
        ).fetchone()
        if frontier is None or not start <= frontier[0] <= until:
            return
        connection.execute(DETAIL, {"period": "hour", "start": start, "end": until})
        connection.execute(SPEND_UPSERT)
        _extend_coverage(connection, "hour", start, until)


@dataclass(frozen=True)
class RollupSummary:
    period: str
    periods: int
    keys: int
    written: int


def roll_up(
    connection: psycopg.Connection[Any],
    period: str,
    since: datetime,
    until: datetime,
    *,
    full: bool = False,
) -> RollupSummary:
    """Every closed ``period`` from ``since`` to ``until`` whose events changed since it was
    rolled up (all of them with ``full``; ``costdb.maintenance.changed_periods``), and every
    closed period of the days a recorded price change touches (``repricing``), oldest first,
    a day per transaction; the records are cleared once all of it is written."""
    if period not in PERIODS:
        raise CostdbError(f"--period must be hour or day, not {period!r}")
    pending = pending_days(connection, period)
    repriced = [
        start
        for start in day_periods(pending.days, PERIODS[period])
        if start + PERIODS[period] <= until
    ]
    in_range = list(closed_periods(since, until, period))
    starts = sorted(set(in_range) | set(repriced))
    if not full:
        starts = periods_to_recompute(connection, period, PERIODS[period], starts, set(repriced))
    results = [roll_up_chunk(connection, period, chunk) for chunk in _by_day(starts)]
    clear(connection, period, pending)
    if in_range:
        with connection.transaction():
            _extend_coverage(connection, period, in_range[0], in_range[-1] + PERIODS[period])
    if period == "hour":
        _roll_up_open_hour(connection, until)
    summary = RollupSummary(
        period,
        sum(result.periods for result in results),
        sum(result.keys for result in results),
        sum(result.written for result in results),
    )
    log.info(
        "rolled up %d closed %s period(s) from %s to %s%s: %d key(s), %d row(s) written, "
        "%d unchanged (periods whose events had not changed: skipped)",
        summary.periods,
        period,
        period_start(since, period).isoformat(),
        until.isoformat(),
        f" and {len(pending.days)} day(s) whose prices changed" if pending.days else "",
        summary.keys,
        summary.written,
        summary.keys - summary.written,
        extra={"event": "rollup"},
    )
    return summary
