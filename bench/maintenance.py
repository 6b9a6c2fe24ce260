"""Maintenance at scale: ``costdb rollup`` over 1M events, and a retention pass deleting them,
each beside the one-statement way it replaces, on the same rows in the same run.

- roll-up: every closed hour of the 30 days, one transaction per day (prices from the
  database's cost view), beside one ``GROUP BY`` of the whole range without prices.
- retention: every event, deleted in batches of 2,000 (the default; one transaction each),
  beside one ``DELETE`` of the same rows in one transaction: the longest transaction is what
  blocks vacuum and holds row locks.
"""

from __future__ import annotations

import time
from datetime import timedelta

import psycopg

from bench.data import ANCHOR, MODELS, SPAN, EventBatch
from bench.harness import Figure, create_database
from bench.schema_v2 import copy_events
from costdb.local.cluster import PostgresCluster
from costdb.maintenance.retention import apply_retention
from costdb.maintenance.rollup import roll_up
from costdb.settings import DatabaseSettings

BATCH_SIZE = 2_000  # costdb retention's default
PLAIN_GROUP_BY = """
SELECT project_id, feature, model, date_trunc('hour', created_at, 'UTC'),
       sum(estimated_cost_usd), sum(input_tokens::bigint + output_tokens), count(*),
       round(avg(latency_ms), 2)
FROM events GROUP BY 1, 2, 3, 4
"""


def _store_prices(database: DatabaseSettings) -> None:
    with psycopg.connect(database.conninfo("bench"), autocommit=True) as connection:
        for provider, model, price_in, price_out in MODELS:
            connection.execute(
                "INSERT INTO model_pricing (provider, model, input_price_per_1k,"
                " output_price_per_1k, cache_read_price_per_1k, effective_date)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (provider, model, price_in, price_out, price_in / 10, ANCHOR - 2 * SPAN),
            )


def _one_delete(database: DatabaseSettings) -> float:
    with psycopg.connect(database.conninfo("bench")) as connection:
        started = time.perf_counter()
        connection.execute(b"DELETE FROM events")
        connection.commit()
        return time.perf_counter() - started


def maintenance_figures(cluster: PostgresCluster, batch: EventBatch) -> list[Figure]:
    count = len(batch.ids)
    database = create_database(cluster, "bench_maintenance", migrate=True)
    _store_prices(database)
    copy_events(database, "events", batch)
    with psycopg.connect(database.conninfo("bench"), autocommit=True) as connection:
        connection.execute(b"VACUUM (ANALYZE) events")
        started = time.perf_counter()
        summary = roll_up(
            connection, "hour", ANCHOR - SPAN - timedelta(hours=1), ANCHOR - timedelta(hours=1)
        )
        rollup_seconds = time.perf_counter() - started
        # The steady state: the service's next run over its last two days, one new hour closed.
        started = time.perf_counter()
        steady = roll_up(connection, "hour", ANCHOR - timedelta(days=2), ANCHOR)
        steady_seconds = time.perf_counter() - started
        started = time.perf_counter()
        connection.execute(
            "SELECT count(*) FROM events WHERE created_at >= %s", (ANCHOR - timedelta(days=2),)
        ).fetchall()
        count_seconds = time.perf_counter() - started
        started = time.perf_counter()
        roll_up(connection, "hour", ANCHOR - SPAN - timedelta(hours=1), ANCHOR)
        rerun_seconds = time.perf_counter() - started
        started = time.perf_counter()
        connection.execute(PLAIN_GROUP_BY.encode()).fetchall()
        group_by_seconds = time.perf_counter() - started
        report = apply_retention(
            connection, ANCHOR + timedelta(days=1), batch_size=BATCH_SIZE, dry_run=False
        )
    copy_events(database, "events", batch)
    single_delete = _one_delete(database)
    return [
        Figure(
            "maintenance",
            f"costdb rollup --period hour over {count:,} events (30 days)",
            rollup_seconds,
            "s",
            "one GROUP BY of the range, unpriced, nothing written",
            group_by_seconds,
            note=f"{summary.periods} hours, {summary.keys:,} keys written, one transaction per "
            f"day; a re-run over the unchanged events (writes nothing): {rerun_seconds:.1f} s",
        ),
        Figure(
            "maintenance",
            f"costdb rollup steady state: the last 2 days, one new hour, {count:,} events",
            steady_seconds,
            "s",
            "SELECT count(*) of the same 2 days",
            count_seconds,
            note=f"{steady.periods} period(s) recomputed, the others skipped (unchanged calls "
            "and tokens); goal <= 1 s",
        ),
        Figure(
            "maintenance",
            f"costdb retention deleting {report.deleted['events']:,} events: longest batch",
            report.longest_batch_seconds * 1000,
            "ms",
            "one DELETE of the same rows (one transaction)",
            single_delete * 1000,
            note=f"{report.batches:,} batches of at most {BATCH_SIZE:,}",
        ),
    ]
