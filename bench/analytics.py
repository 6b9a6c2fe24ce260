"""Analytics at scale: the dashboard's queries, median of repeated runs, on the head schema
(BRIN time index, idx_events_project_time) beside two baselines measured in the same run on the
same rows: the schema before revision 0004 (no idx_events_project_time) and the time index as a
btree without it (the baseline RESULTS.md reported before schema v2); plus the time index's
size as BRIN and as btree. Then the same three dashboards through ``costdb_spend_by`` (the
roll-ups' covered hours, the rest from the calls) after an hourly roll-up of the last 8 days,
beside the same sums computed from ``events_with_cost``, and checked equal to them."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import psycopg

from bench.data import ANCHOR
from bench.harness import Figure, median
from costdb.maintenance.rollup import roll_up
from costdb.settings import DatabaseSettings

QUERIES = {
    "cost by feature, last 24 h, one project": (
        "SELECT feature, sum(estimated_cost_usd) FROM events"
        " WHERE project_id = %(project)s"
        " AND created_at >= %(since_day)s AND created_at < %(until)s"
        " GROUP BY feature ORDER BY 2 DESC"
    ),
    "cost per user, last 7 days, one project": (
        "SELECT user_id, sum(estimated_cost_usd) FROM events"
        " WHERE project_id = %(project)s"
        " AND created_at >= %(since_week)s AND created_at < %(until)s"
        " GROUP BY user_id ORDER BY 2 DESC LIMIT 100"
    ),
    "cost by model, last 24 h, all projects": (
        "SELECT model, sum(estimated_cost_usd), count(*) FROM events"
        " WHERE created_at >= %(since_day)s AND created_at < %(until)s GROUP BY model"
    ),
}
# Each dashboard through costdb_spend_by, and the same answer (cost, calls per key) from the
# calls themselves: the raw query a dashboard would otherwise run.
DASHBOARDS = {
    "cost by feature, last 24 h, one project": (
        "SELECT key, cost_usd, calls FROM costdb_spend_by('feature', %(since_day)s, %(until)s,"
        " %(project)s)",
        "SELECT feature, sum(coalesce(computed_cost_usd, estimated_cost_usd)), count(*)"
        " FROM events_with_cost WHERE project_id = %(project)s"
        " AND created_at >= %(since_day)s AND created_at < %(until)s"
        " GROUP BY 1 ORDER BY 2 DESC, 1",
    ),
    "cost per user, last 7 days, one project": (
        "SELECT key, cost_usd, calls FROM costdb_spend_by('user', %(since_week)s, %(until)s,"
        " %(project)s) LIMIT 100",
        "SELECT user_id, sum(coalesce(computed_cost_usd, estimated_cost_usd)), count(*)"
        " FROM events_with_cost WHERE project_id = %(project)s"
        " AND created_at >= %(since_week)s AND created_at < %(until)s"
        " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 100",
    ),
    "cost by model, last 24 h, all projects": (
        "SELECT key, cost_usd, calls FROM costdb_spend_by('model', %(since_day)s, %(until)s)",
        "SELECT model, sum(coalesce(computed_cost_usd, estimated_cost_usd)), count(*)"
        " FROM events_with_cost WHERE created_at >= %(since_day)s AND created_at < %(until)s"
        " GROUP BY 1 ORDER BY 2 DESC, 1",
    ),
}
ROLLED_UP_DAYS = 8
PARAMETERS = {
    "project": "project-01",
    "since_day": ANCHOR - timedelta(days=1),
    "since_week": ANCHOR - timedelta(days=7),
    "until": ANCHOR,
}


def _plan_indexes(connection: psycopg.Connection[Any], sql: str) -> str:
    row = connection.execute(f"EXPLAIN (FORMAT JSON) {sql}".encode(), PARAMETERS).fetchone()
    assert row is not None
    found = sorted(set(_index_names(row[0])))
    return ", ".join(found) if found else "sequential scan"


def _index_names(node: object) -> list[str]:
    if isinstance(node, dict):
        names = [node["Index Name"]] if "Index Name" in node else []
        return names + [name for value in node.values() for name in _index_names(value)]
    if isinstance(node, list):
        return [name for value in node for name in _index_names(value)]
    return []


def _median_time(connection: psycopg.Connection[Any], sql: str, repeat: int) -> float:
    connection.execute(sql.encode(), PARAMETERS).fetchall()  # warm the cache
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        connection.execute(sql.encode(), PARAMETERS).fetchall()
        times.append(time.perf_counter() - started)
    return median(times)


def query_timings(connection: psycopg.Connection[Any], repeat: int) -> dict[str, tuple[float, str]]:
    return {
        name: (_median_time(connection, sql, repeat), _plan_indexes(connection, sql))
        for name, sql in QUERIES.items()
    }


def dashboard_figures(connection: psycopg.Connection[Any], repeat: int) -> list[Figure]:
    """The dashboards through costdb_spend_by after an hourly roll-up, beside the same sums
    from the calls; each answer compared with the calls' (the note says whether equal)."""
    started = time.perf_counter()
    roll_up(connection, "hour", ANCHOR - timedelta(days=ROLLED_UP_DAYS), ANCHOR)
    rolled_up = time.perf_counter() - started
    figures = []
    for name, (function_sql, raw_sql) in DASHBOARDS.items():
        equal = (
            connection.execute(function_sql.encode(), PARAMETERS).fetchall()
            == connection.execute(raw_sql.encode(), PARAMETERS).fetchall()
        )
        figures.append(
            Figure(
                "analytics",
                f"dashboard via costdb_spend_by: {name} (p50)",
                _median_time(connection, function_sql, repeat) * 1000,
                "ms",
                "the same sums from events_with_cost",
                _median_time(connection, raw_sql, repeat) * 1000,
                note=f"equal to the calls' answer: {equal}; goal <= 20 ms; roll-up of the"
                f" last {ROLLED_UP_DAYS} days beforehand {rolled_up:.1f} s",
            )
        )
    return figures


def _index_size(connection: psycopg.Connection[Any], name: str) -> int:
    row = connection.execute("SELECT pg_relation_size(%s::regclass)", (name,)).fetchone()
    assert row is not None
    return int(row[0])


PROJECT_TIME_INDEX = "idx_events_project_time"


def analytics_figures(database: DatabaseSettings, repeat: int) -> list[Figure]:
    with psycopg.connect(database.conninfo("bench"), autocommit=True) as connection:
        connection.prepare_threshold = None  # plan each run against the index that exists now
        rows = connection.execute(b"SELECT count(*) FROM events").fetchone()
        head = query_timings(connection, repeat)
        brin_size = _index_size(connection, "idx_events_created_at")
        project_time_def = _index_definition(connection, PROJECT_TIME_INDEX)
        connection.execute(f"DROP INDEX {PROJECT_TIME_INDEX}".encode())
        connection.execute(b"ANALYZE events")
        before_v2 = query_timings(connection, repeat)
        connection.execute(b"DROP INDEX idx_events_created_at")
        connection.execute(b"CREATE INDEX idx_events_created_at ON events (created_at)")
        connection.execute(b"ANALYZE events")
        btree = query_timings(connection, repeat)
        btree_size = _index_size(connection, "idx_events_created_at")
        connection.execute(b"DROP INDEX idx_events_created_at")
        connection.execute(b"CREATE INDEX idx_events_created_at ON events USING brin (created_at)")
        connection.execute(project_time_def.encode())
        connection.execute(b"ANALYZE events")
        dashboards = dashboard_figures(connection, repeat)
    count = rows[0] if rows else 0
    figures = []
    for name in QUERIES:
        figures += [
            Figure(
                "analytics",
                f"{name} (p50, {count:,} events)",
                head[name][0] * 1000,
                "ms",
                "before 0004 (no idx_events_project_time)",
                before_v2[name][0] * 1000,
                note=f"plan at head: {head[name][1]}; before: {before_v2[name][1]}",
            ),
            Figure(
                "analytics",
                f"{name}: head vs the earlier btree baseline",
                head[name][0] * 1000,
                "ms",
                "time index as btree, no idx_events_project_time",
                btree[name][0] * 1000,
                note=f"plan: {btree[name][1]}",
            ),
        ]
    figures.append(
        Figure(
            "analytics",
            "idx_events_created_at size, BRIN",
            brin_size / 2**10,
            "KiB",
            "as btree",
            btree_size / 2**10,
        )
    )
    return figures + dashboards


def _index_definition(connection: psycopg.Connection[Any], name: str) -> str:
    row = connection.execute("SELECT pg_get_indexdef(%s::regclass)", (name,)).fetchone()
    assert row is not None
    return str(row[0])
