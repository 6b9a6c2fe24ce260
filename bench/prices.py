"""Prices at scale: the whole public list synced into an empty database and re-synced,
``costdb prices missing`` over the events, and one call's ``costdb_event_cost`` with the whole
list stored, each beside a baseline measured in the same run.

- sync: ``costdb prices sync`` of the bundled list, as a process (imports, parse, convert,
  write), beside the same process re-syncing the same list (reads and compares; writes 0 rows).
- missing: ``costdb prices missing --since 30d`` beside a plain count of the same events.
- a call's cost: ``costdb_event_cost`` for a reported (dated) name, beside a primary-key lookup.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import psycopg

from bench.data import ANCHOR, SPAN, EventBatch
from bench.harness import Figure, create_database, median, timed_runs
from bench.schema_v2 import copy_events
from costdb.local.cluster import PostgresCluster
from costdb.settings import DatabaseSettings

MISSING_SINCE = (ANCHOR - SPAN).isoformat()


def _costdb(database: DatabaseSettings, *args: str) -> tuple[float, str]:
    """Wall seconds of one ``costdb`` process, and what it printed."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "DATABASE_URL"))}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "costdb", *args],
        env=environment | {"DATABASE_URL": database.url},
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return time.perf_counter() - started, result.stdout


def prices_figures(cluster: PostgresCluster, batch: EventBatch, repeat: int) -> list[Figure]:
    database = create_database(cluster, "bench_prices", migrate=True)
    copy_events(database, "events", batch)
    with psycopg.connect(database.conninfo("bench"), autocommit=True) as connection:
        connection.execute(b"VACUUM (ANALYZE) events")
    sync_seconds, first = _costdb(database, "prices", "sync", "--json")
    resync_seconds, second = _costdb(database, "prices", "sync", "--json")
    written, rewritten = json.loads(first)["rows_written"], json.loads(second)["rows_written"]
    missing = [
        _costdb(database, "prices", "missing", "--since", MISSING_SINCE)[0] for _ in range(3)
    ]
    with psycopg.connect(database.conninfo("bench")) as connection:
        count = [
            timed_runs(
                lambda: connection.execute(
                    "SELECT count(*) FROM events WHERE created_at >= %s", (ANCHOR - SPAN,)
                ).fetchall(),
                1,
            )[0]
            for _ in range(3)
        ]
        event_id = connection.execute("SELECT id FROM events LIMIT 1").fetchone()
        cost = timed_runs(
            lambda: connection.execute(
                "SELECT costdb_event_cost('openai', 'gpt-4o-2024-08-06', now(), 1000, 100, 0, 0)"
            ).fetchall(),
            repeat * 20,
        )
        pattern_cost = timed_runs(
            lambda: connection.execute(
                "SELECT costdb_event_cost('anthropic', 'claude-sonnet-4-5-20260101', now(), 1000,"
                " 100, 0, 0)"
            ).fetchall(),
            repeat * 20,
        )
        lookup = timed_runs(
            lambda: connection.execute("SELECT * FROM events WHERE id = %s", event_id).fetchall(),
            repeat * 20,
        )
        stored = connection.execute("SELECT count(*) FROM model_pricing").fetchone()
    return [
        Figure(
            "prices",
            "costdb prices sync of the bundled list into an empty database (process)",
            sync_seconds,
            "s",
            "the same process re-syncing the same list",
            resync_seconds,
            note=f"{written:,} price rows written, then {rewritten} on the re-sync",
        ),
        Figure(
            "prices",
            f"costdb prices missing --since 30d over {len(batch.ids):,} events (process)",
            median(missing),
            "s",
            "SELECT count(*) of the same events",
            median(count),
            note="median of 3; the process includes Python's start-up and imports",
        ),
        Figure(
            "prices",
            f"costdb_event_cost of a dated name with {stored[0] if stored else 0:,} prices stored",
            median(cost) * 1000,
            "ms",
            "primary-key lookup of one event",
            median(lookup) * 1000,
            note="resolved name, then two index probes (price row, tier)",
        ),
        Figure(
            "prices",
            "costdb_event_cost of a name only a pattern of the list matches, never seen",
            median(pattern_cost) * 1000,
            "ms",
            "primary-key lookup of one event",
            median(lookup) * 1000,
            note="no resolved row: the list's rules applied in SQL (revision 0014)",
        ),
    ]
