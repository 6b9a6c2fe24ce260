"""Analytics at scale: the dashboard's queries, with the spec's BRIN time index and with a
btree in its place (the baseline), median of repeated runs, plus both indexes' sizes."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import psycopg

from bench.data import ANCHOR
from bench.harness import Figure, median
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


def _timings(connection: psycopg.Connection[Any], repeat: int) -> dict[str, tuple[float, str]]:
    results = {}
    for name, sql in QUERIES.items():
        connection.execute(sql.encode(), PARAMETERS).fetchall()  # warm the cache
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            connection.execute(sql.encode(), PARAMETERS).fetchall()
            times.append(time.perf_counter() - started)
        results[name] = (median(times), _plan_indexes(connection, sql))
    return results


def _index_size(connection: psycopg.Connection[Any], name: str) -> int:
    row = connection.execute("SELECT pg_relation_size(%s::regclass)", (name,)).fetchone()
    assert row is not None
    return int(row[0])


def analytics_figures(database: DatabaseSettings, repeat: int) -> list[Figure]:
    with psycopg.connect(database.conninfo("bench"), autocommit=True) as connection:
        connection.prepare_threshold = None  # plan each run against the index that exists now
        rows = connection.execute(b"SELECT count(*) FROM events").fetchone()
        brin = _timings(connection, repeat)
        brin_size = _index_size(connection, "idx_events_created_at")
        connection.execute(b"DROP INDEX idx_events_created_at")
        connection.execute(b"CREATE INDEX idx_events_created_at ON events (created_at)")
        connection.execute(b"ANALYZE events")
        btree = _timings(connection, repeat)
        btree_size = _index_size(connection, "idx_events_created_at")
        connection.execute(b"DROP INDEX idx_events_created_at")
        connection.execute(b"CREATE INDEX idx_events_created_at ON events USING brin (created_at)")
        connection.execute(b"ANALYZE events")
    count = rows[0] if rows else 0
    figures = [
        Figure(
            "analytics",
            f"{name} (p50, {count:,} events)",
            brin[name][0] * 1000,
            "ms",
            "time index as btree",
            btree[name][0] * 1000,
            note=f"plan with BRIN: {brin[name][1]}; with btree: {btree[name][1]}",
        )
        for name in QUERIES
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
    return figures
