"""Rows of the spec's shape (revision 0001) and an exact snapshot of them: what an earlier
costdb's users wrote, for upgrade tests to prove every later revision keeps them as they are."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

from costdb.settings import DatabaseSettings

EVENT_IDS = [uuid.UUID(int=n) for n in (1, 2, 3)]
ROWS_OF_THE_SPEC: list[tuple[str, tuple[object, ...]]] = [
    (
        "INSERT INTO model_pricing (provider, model, input_price_per_1k, output_price_per_1k,"
        " effective_date) VALUES ('openai', 'gpt-4o', 0.002500, 0.010000, '2026-01-01Z')",
        (),
    ),
    *(
        (
            "INSERT INTO events (id, trace_id, span_id, project_id, feature, user_id, provider,"
            " model, input_tokens, output_tokens, cached_tokens, latency_ms, estimated_cost_usd,"
            " verified_cost_usd, is_cache_hit, metadata, created_at) VALUES (%s, %s, %s, 'acme',"
            " 'chat', %s, 'openai', 'gpt-4o', %s, %s, %s, %s, %s, NULL, %s, %s, %s)",
            (
                event_id,
                f"trace-{n}",
                f"span-{n}",
                f"u-{n}",
                *(1000 * n, 100 * n, 10 * n, 250 * n, Decimal(f"0.01234{n}"), n % 2 == 0),
                json.dumps({"n": n}),
                f"2026-01-0{n}T12:00:00Z",
            ),
        )
        for n, event_id in enumerate(EVENT_IDS, start=1)
    ),
    (
        "INSERT INTO prompt_analysis (event_id, input_token_ratio, redundancy_score, suggestions)"
        " VALUES (%s, 0.7500, 0.1250, '[\"trim the system prompt\"]')",
        (EVENT_IDS[0],),
    ),
    *(
        (
            "INSERT INTO prompt_embeddings (event_id, embedding, prompt_hash) VALUES"
            " (%s, array_fill(%s::real, ARRAY[1536])::vector, %s)",
            (event_id, n / 10, f"hash-{n}"),
        )
        for n, event_id in enumerate(EVENT_IDS[:2], start=1)
    ),
    (
        "INSERT INTO cost_aggregates (project_id, feature, model, period, period_start,"
        " total_cost, total_tokens, call_count, avg_latency) VALUES"
        " ('acme', 'chat', 'gpt-4o', 'day', '2026-01-01Z', 12.345678, 1000000, 420, 812.50)",
        (),
    ),
]
Snapshot = dict[str, dict[str, dict[str, Any]]]
"""Table -> id -> column -> value (decimals exact)."""
SPEC_TABLES = ("events", "model_pricing", "prompt_analysis", "prompt_embeddings", "cost_aggregates")


def spec_rows(database: DatabaseSettings) -> Snapshot:
    """Every row of the spec's tables, by table and id, as JSON with exact decimals."""
    snapshot: Snapshot = {}
    with psycopg.connect(database.conninfo("test")) as connection:
        for table in SPEC_TABLES:
            rows = connection.execute(
                sql.SQL("SELECT id::text, to_jsonb(t)::text FROM {} t").format(
                    sql.Identifier(table)
                )
            )
            snapshot[table] = {
                str(row_id): json.loads(str(row), parse_float=Decimal) for row_id, row in rows
            }
    return snapshot


def write_spec_rows(database: DatabaseSettings) -> None:
    """Three events with an analysis, two embeddings, a price and a roll-up, as the spec's
    client writes them (any role that may insert)."""
    with psycopg.connect(database.conninfo("test"), autocommit=True) as connection:
        for statement, values in ROWS_OF_THE_SPEC:
            connection.execute(statement.encode(), values)


def kept_rows(before: Snapshot, after: Snapshot) -> Snapshot:
    """``after`` cut to the tables, ids and columns ``before`` had (later revisions add
    columns): equal to ``before`` when every row and value was kept."""
    return {
        table: {
            row_id: {column: after[table][row_id].get(column) for column in row}
            for row_id, row in rows.items()
            if row_id in after[table]
        }
        for table, rows in before.items()
    }
