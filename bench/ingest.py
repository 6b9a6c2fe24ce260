"""Ingest: events per second into ``events`` with all its indexes, by COPY and by batched
INSERT, beside the same rows into a copy of the table with no secondary index (the cost of
the indexes is the ratio)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import psycopg

from bench.data import COLUMNS, EventBatch
from bench.harness import Figure
from costdb.settings import DatabaseSettings

BARE_TABLE = "events_no_secondary_indexes"
INSERT_BATCH = 1_000
RESOLVING_TRIGGER = (
    f"CREATE TRIGGER resolve_names AFTER INSERT ON {BARE_TABLE} REFERENCING NEW TABLE AS"
    " inserted FOR EACH STATEMENT EXECUTE FUNCTION costdb_resolve_inserted_names()"
)


def create_bare_table(connection: psycopg.Connection[Any]) -> None:
    connection.execute(f"DROP TABLE IF EXISTS {BARE_TABLE}".encode())
    connection.execute(
        f"CREATE TABLE {BARE_TABLE} (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS,"
        " PRIMARY KEY (id))".encode()
    )


def copy_rows(
    connection: psycopg.Connection[Any],
    table: str,
    batch: EventBatch,
    columns: Sequence[str] = COLUMNS,
) -> float:
    """COPY ``batch``'s ``columns`` into ``table`` and commit: seconds taken."""
    data = batch.csv(columns)
    started = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN".encode()) as copy,
    ):
        while chunk := data.read(1 << 20):
            copy.write(chunk)
    connection.commit()
    return time.perf_counter() - started


_COLUMN_TYPES = {
    "id": "uuid",
    "input_tokens": "integer",
    "output_tokens": "integer",
    "cached_tokens": "integer",
    "latency_ms": "integer",
    "estimated_cost_usd": "numeric",
    "is_cache_hit": "boolean",
    "created_at": "timestamptz",
}


def _insert(connection: psycopg.Connection[Any], table: str, batch: EventBatch) -> float:
    """INSERT ... SELECT FROM unnest(one array per column): one statement per batch of rows.

    The usual way to batch inserts with a driver that parses its queries: a VALUES list with
    a placeholder per value costs the client more to build than the server to run.
    """
    rows = list(batch.rows())
    arrays = ", ".join(f"%s::{_COLUMN_TYPES.get(name, 'text')}[]" for name in COLUMNS)
    sql = f"INSERT INTO {table} ({', '.join(COLUMNS)}) SELECT * FROM unnest({arrays})".encode()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        for start in range(0, len(rows), INSERT_BATCH):
            columns = [
                list(column) for column in zip(*rows[start : start + INSERT_BATCH], strict=True)
            ]
            columns[COLUMNS.index("is_cache_hit")] = [
                v == "t" for v in columns[COLUMNS.index("is_cache_hit")]
            ]
            cursor.execute(sql, columns)
            connection.commit()
    return time.perf_counter() - started


def _table_sizes(connection: psycopg.Connection[Any], table: str) -> tuple[int, int]:
    row = connection.execute(
        "SELECT pg_table_size(%s::regclass), pg_indexes_size(%s::regclass)", (table, table)
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def ingest_figures(
    database: DatabaseSettings, copy_batch: EventBatch, insert_batch: EventBatch
) -> list[Figure]:
    """Load ``copy_batch`` by COPY into both tables (it stays in ``events`` for the analytics),
    then ``insert_batch`` by batched INSERT into both."""
    count, inserted = len(copy_batch.ids), len(insert_batch.ids)
    with psycopg.connect(database.conninfo("bench")) as connection:
        create_bare_table(connection)
        connection.commit()
        copy_indexed = copy_rows(connection, "events", copy_batch)
        copy_bare = copy_rows(connection, BARE_TABLE, copy_batch)
        insert_indexed = _insert(connection, "events", insert_batch)
        insert_bare = _insert(connection, BARE_TABLE, insert_batch)
        connection.execute(f"TRUNCATE {BARE_TABLE}".encode())
        connection.execute(RESOLVING_TRIGGER.encode())  # revision 0014's, on the bare table
        connection.commit()
        insert_resolving = _insert(connection, BARE_TABLE, insert_batch)
        connection.autocommit = True  # VACUUM runs outside a transaction
        connection.execute(b"VACUUM (ANALYZE) events")
        table_bytes, index_bytes = _table_sizes(connection, "events")
        connection.execute(f"DROP TABLE {BARE_TABLE}".encode())
        connection.commit()
    return [
        Figure(
            "ingest",
            f"COPY, {count:,} events, all indexes",
            count / copy_indexed,
            "events/s",
            "same rows, no secondary index",
            count / copy_bare,
        ),
        Figure(
            "ingest",
            f"batched INSERT (unnest, {INSERT_BATCH:,} rows/statement), "
            f"{inserted:,} events, all indexes",
            inserted / insert_indexed,
            "events/s",
            "same rows, no secondary index",
            inserted / insert_bare,
        ),
        Figure(
            "ingest",
            f"batched INSERT ({INSERT_BATCH:,} rows/statement), {inserted:,} events, with the"
            " trigger that resolves new names (0014), no secondary index",
            inserted / insert_resolving,
            "events/s",
            "same rows, no trigger",
            inserted / insert_bare,
        ),
        Figure(
            "ingest",
            "events: indexes size / table size",
            index_bytes / 2**20,
            "MiB",
            "table size",
            table_bytes / 2**20,
            note=f"{count + inserted:,} rows",
        ),
    ]
