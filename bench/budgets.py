"""Budgets at scale: 10,000 budgets over 2M events (in FULL) with the public price list stored.

- the gateway's question: ``costdb_budget_status(project, feature, user)`` for calls drawn from
  the traffic itself (big projects and users ask most), asked 30 s after the last roll-up (the
  Compose service rolls up every minute: the calls since are priced one by one), beside a
  primary-key lookup; p50 and p99 over the same number of calls; and again as if the roll-ups
  had stopped half an hour earlier.
- one check run: ``record_crossings`` over every budget (two periods each: the current and the
  one before), first when it records the alerts, then in the steady state (nothing new),
  beside reading ``costdb_budget_state`` of every budget once.
- the hourly roll-up of the whole range, which now also writes the budgets' hourly spend.
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta

import psycopg

from bench.data import ANCHOR, SPAN, EventBatch
from bench.harness import Figure, create_database, median, percentile, timed_runs
from bench.schema_v2 import copy_events
from costdb.budgets.alerts import record_crossings
from costdb.local.cluster import PostgresCluster
from costdb.maintenance.rollup import roll_up
from costdb.prices.price_list import load_price_list
from costdb.prices.sync import sync_price_list

BUDGETS = 10_000
ASKED_AT = ANCHOR - timedelta(minutes=30)
ROLLED_UNTIL = ASKED_AT - timedelta(seconds=30)  # the last roll-up (Compose: every minute)
STALE = timedelta(minutes=30)  # asked again as if the last roll-up had ended this long before
ZONES = ("UTC", "America/New_York", "Europe/Paris", "Asia/Kolkata")

# Every project a monthly budget, every feature a weekly one, the busiest users a daily one.
CREATE_BUDGETS = """
INSERT INTO budgets (project_id, feature, user_id, period, time_zone, limit_usd)
SELECT project_id, NULL, NULL, 'month', 'UTC', 5000 FROM (
  SELECT DISTINCT project_id FROM events) AS p
UNION ALL
SELECT project_id, feature, NULL, 'week', 'Europe/Paris', 200 FROM (
  SELECT DISTINCT project_id, feature FROM events) AS f
"""
CREATE_USER_BUDGETS = """
INSERT INTO budgets (project_id, user_id, period, time_zone, limit_usd)
SELECT project_id, user_id, 'day', (%(zones)s::text[])[1 + abs(hashtext(user_id)) %% 4], 2
FROM (SELECT project_id, user_id, count(*) AS calls FROM events
      WHERE user_id IS NOT NULL GROUP BY 1, 2) AS u
ORDER BY calls DESC
LIMIT %(count)s
"""
STATUS = "SELECT * FROM costdb_budget_status(%s, %s, %s, %s)"
ALL_STATES = """
SELECT count(*) FROM budgets b
CROSS JOIN LATERAL costdb_budget_state(b.id, b.project_id, b.feature, b.user_id, b.period,
                                       b.time_zone, b.limit_usd, b.alert_thresholds, %s) AS s
"""


def _store_prices(connection: psycopg.Connection[object]) -> None:
    """The bundled public list, as ``costdb prices sync`` stores it."""
    sync_price_list(connection, load_price_list("bundled"), dry_run=False)


def budgets_figures(cluster: PostgresCluster, batch: EventBatch, calls: int) -> list[Figure]:
    database = create_database(cluster, "bench_budgets", migrate=True)
    copy_events(database, "events", batch)
    with psycopg.connect(database.conninfo("bench"), autocommit=True) as connection:
        connection.execute(b"VACUUM (ANALYZE) events")
        _store_prices(connection)
        started = time.perf_counter()
        roll_up(connection, "hour", ANCHOR - SPAN, ROLLED_UNTIL)
        rollup_seconds = time.perf_counter() - started
        scoped = connection.execute(CREATE_BUDGETS.encode()).rowcount
        connection.execute(
            CREATE_USER_BUDGETS.encode(), {"zones": list(ZONES), "count": BUDGETS - scoped}
        )
        connection.execute(b"VACUUM (ANALYZE) budgets, costdb_spend_hourly")
        stored = connection.execute("SELECT count(*) FROM budgets").fetchone()
        rng = random.Random(31)  # noqa: S311  (reproducible benchmark sampling)
        columns = [batch.columns[name] for name in ("project_id", "feature", "user_id")]
        asked = [
            (columns[0][i], columns[1][i], columns[2][i])
            for i in (rng.randrange(len(batch.ids)) for _ in range(calls))
        ]
        event_ids = connection.execute(
            "SELECT id FROM events ORDER BY random() LIMIT %s", (calls,)
        ).fetchall()
        status, lookup = _latencies(connection, asked, event_ids, ASKED_AT)
        connection.execute(  # as if the last roll-up had ended half an hour before the question
            "UPDATE costdb_rollup_coverage SET covered_until = %s WHERE period = 'hour'",
            (ASKED_AT - STALE,),
        )
        stale, stale_lookup = _latencies(connection, asked, event_ids, ASKED_AT)
        connection.execute(
            "UPDATE costdb_rollup_coverage SET covered_until = %s WHERE period = 'hour'",
            (ROLLED_UNTIL,),
        )
        first_check = timed_runs(lambda: record_crossings(connection, ASKED_AT, webhook=False), 1)
        recorded = connection.execute("SELECT count(*) FROM budget_alerts").fetchone()
        steady_check = timed_runs(lambda: record_crossings(connection, ASKED_AT, webhook=False), 3)
        states = timed_runs(lambda: connection.execute(ALL_STATES, (ASKED_AT,)).fetchall(), 3)
    budgets = stored[0] if stored else 0
    events = len(batch.ids)
    return [
        Figure(
            "budgets",
            f"costdb_budget_status p50, {budgets:,} budgets, {events:,} events",
            percentile(status, 0.5) * 1000,
            "ms",
            "primary-key lookup of one event, p50",
            percentile(lookup, 0.5) * 1000,
            note=f"{calls:,} calls drawn from the traffic, asked 30 s after the last roll-up",
        ),
        Figure(
            "budgets",
            "costdb_budget_status p99",
            percentile(status, 0.99) * 1000,
            "ms",
            "primary-key lookup of one event, p99",
            percentile(lookup, 0.99) * 1000,
            note="goal: p50 <= 2 ms, p99 <= 10 ms",
        ),
        Figure(
            "budgets",
            "costdb_budget_status p50 / p99, the last roll-up 30 min old",
            percentile(stale, 0.5) * 1000,
            "ms",
            "primary-key lookup of one event, p50",
            percentile(stale_lookup, 0.5) * 1000,
            note=f"p99 {percentile(stale, 0.99) * 1000:.1f} ms: every call since the last roll-up "
            "is priced one by one (a big project's half hour: hundreds)",
        ),
        Figure(
            "budgets",
            f"one budget check over {budgets:,} budgets, steady state",
            median(steady_check),
            "s",
            "the state of every budget read once",
            median(states),
            note=f"two periods per budget; the first run took {first_check[0]:.2f} s and "
            f"recorded {recorded[0] if recorded else 0:,} alerts",
        ),
        Figure(
            "budgets",
            f"hourly roll-up of {events:,} events over {SPAN.days} days, spend per scope included",
            rollup_seconds,
            "s",
            note="cost_aggregates and costdb_spend_hourly from one pricing of each call",
        ),
    ]


def _latencies(
    connection: psycopg.Connection[object],
    asked: list[tuple[str, str, str | None]],
    event_ids: list[tuple[object, ...]],
    at: datetime,
) -> tuple[list[float], list[float]]:
    """Each status question and each lookup timed alone, interleaved (the same noise)."""
    status: list[float] = []
    lookup: list[float] = []
    for (project, feature, user), event_id in zip(asked, event_ids, strict=True):
        started = time.perf_counter()
        connection.execute(STATUS, (project, feature, user, at)).fetchall()
        status.append(time.perf_counter() - started)
        started = time.perf_counter()
        connection.execute("SELECT * FROM events WHERE id = %s", event_id).fetchall()
        lookup.append(time.perf_counter() - started)
    return status, lookup
