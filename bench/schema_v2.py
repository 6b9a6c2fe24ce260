"""Schema v2, before and after in the same run: ids by COPY, and the upgrade of a full table.

- COPY of the same events, ids left to the database: ``events`` with all its indexes beside a
  copy of it with only its primary key, at revision 0001 (random ``gen_random_uuid()`` ids)
  and at head (time-ordered ``costdb_uuidv7()``). A random id lands on a random leaf of the
  primary key; a time-ordered one appends to the rightmost.
- The upgrade 0001 -> head of a database holding those events, while a writer inserts one
  event at a time and a reader counts the last hour: the upgrade's duration per revision and
  the longest single insert and read during it (how long the application waited on a lock).
"""

from __future__ import annotations

import threading
import time

import psycopg

from bench.data import COLUMNS, EventBatch
from bench.harness import Figure, create_database
from bench.ingest import copy_rows
from costdb.db.engine import connect
from costdb.local.cluster import PostgresCluster
from costdb.migrate.runner import Applied, upgrade_to_head
from costdb.settings import DatabaseSettings
from testsupport.migration_fixtures import SHIPPED_REVISIONS
from testsupport.servers import migrate_to

BARE_TABLE = "events_primary_key_only"
LOADED_COLUMNS = COLUMNS[1:]  # every column but the id: the database's default makes it


def copy_events(database: DatabaseSettings, table: str, batch: EventBatch) -> float:
    """COPY ``batch`` into ``table`` without ids (the database's default makes them): seconds."""
    with psycopg.connect(database.conninfo("bench")) as connection:
        return copy_rows(connection, table, batch, LOADED_COLUMNS)


def _copy_ratio(database: DatabaseSettings, batch: EventBatch) -> tuple[float, float]:
    """Events/s into ``events`` (all indexes) and into a primary-key-only copy of it."""
    with psycopg.connect(database.conninfo("bench")) as connection:
        connection.execute(
            f"CREATE TABLE {BARE_TABLE} (LIKE events INCLUDING DEFAULTS, PRIMARY KEY (id))".encode()
        )
        connection.commit()
        indexed = copy_rows(connection, "events", batch, LOADED_COLUMNS)
        bare = copy_rows(connection, BARE_TABLE, batch, LOADED_COLUMNS)
        connection.execute(f"DROP TABLE {BARE_TABLE}".encode())
        connection.commit()
    count = len(batch.ids)
    return count / indexed, count / bare


class _Traffic:
    """One writer and one reader in a loop, each recording its slowest statement."""

    def __init__(self, database: DatabaseSettings) -> None:
        self.database = database
        self.stop = threading.Event()
        self.slowest = {"insert": 0.0, "read": 0.0}
        self.counts = {"insert": 0, "read": 0}
        self.threads = [
            threading.Thread(target=self._loop, args=(name, sql))
            for name, sql in (
                (
                    "insert",
                    "INSERT INTO events (trace_id, span_id, feature, provider, model,"
                    " input_tokens, output_tokens, latency_ms, estimated_cost_usd)"
                    " VALUES ('live', 'live', 'f', 'openai', 'gpt-4o', 10, 10, 100, 0)",
                ),
                ("read", "SELECT count(*) FROM events WHERE created_at > now() - interval '1h'"),
            )
        ]

    def _loop(self, name: str, sql: str) -> None:
        with psycopg.connect(self.database.conninfo("bench-traffic"), autocommit=True) as c:
            while not self.stop.is_set():
                started = time.perf_counter()
                c.execute(sql.encode())
                self.slowest[name] = max(self.slowest[name], time.perf_counter() - started)
                self.counts[name] += 1
                time.sleep(0.002)

    def __enter__(self) -> _Traffic:
        for thread in self.threads:
            thread.start()
        time.sleep(0.2)
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def _upgrade_under_traffic(database: DatabaseSettings) -> tuple[float, list[Applied], _Traffic]:
    with _Traffic(database) as traffic, connect(database, "bench") as connection:
        started = time.perf_counter()
        applied = upgrade_to_head(connection)
        elapsed = time.perf_counter() - started
    return elapsed, applied, traffic


def _traffic_alone(database: DatabaseSettings, seconds: float) -> _Traffic:
    """The same traffic for as long, nothing else running: its own slowest statements."""
    with _Traffic(database) as traffic:
        time.sleep(seconds)
    return traffic


def schema_v2_figures(cluster: PostgresCluster, batch: EventBatch) -> list[Figure]:
    count = len(batch.ids)
    before = create_database(cluster, "bench_v1", migrate=False)
    migrate_to(before, SHIPPED_REVISIONS[0])
    after = create_database(cluster, "bench_v2", migrate=True)
    indexed_v1, bare_v1 = _copy_ratio(before, batch)
    indexed_v2, bare_v2 = _copy_ratio(after, batch)
    with psycopg.connect(before.conninfo("bench"), autocommit=True) as connection:
        connection.execute(b"VACUUM (ANALYZE) events")
    elapsed, applied, traffic = _upgrade_under_traffic(before)
    alone = _traffic_alone(before, elapsed)
    steps = ", ".join(f"{a.revision} {a.duration_ms} ms" for a in applied)
    return [
        Figure(
            "schema v2",
            f"COPY {count:,} events (ids by default), all indexes / primary key only, "
            "at head (UUIDv7, with idx_events_project_time)",
            indexed_v2 / bare_v2,
            "x",
            "the same at 0001 (gen_random_uuid)",
            indexed_v1 / bare_v1,
            note=(
                f"events/s: head {indexed_v2:,.0f} / {bare_v2:,.0f}; "
                f"0001 {indexed_v1:,.0f} / {bare_v1:,.0f}"
            ),
        ),
        Figure(
            "schema v2",
            f"upgrade 0001 -> head with {count:,} events, under traffic",
            elapsed * 1000,
            "ms",
            note=f"per revision: {steps}",
        ),
        *(
            Figure(
                "schema v2",
                f"longest {what} during the upgrade",
                traffic.slowest[kind] * 1000,
                "ms",
                "the same traffic as long, no upgrade",
                alone.slowest[kind] * 1000,
                note=f"{traffic.counts[kind]:,} {kind}s during the upgrade",
            )
            for kind, what in (
                ("insert", "single INSERT into events"),
                ("read", "read of events (last hour)"),
            )
        ),
    ]
