"""The TypeScript side: the generated Drizzle schema equals the migrations, and clients work.

drizzle-kit (pinned in clients/drizzle/package-lock.json) generates SQL from the committed
schema module; that SQL, run on an empty database, must build the same catalog (columns with
types, nullability and defaults; index and constraint definitions, as PostgreSQL prints them)
as costdb's migrations. Comparing catalogs rather than SQL text makes formatting irrelevant and
every real difference visible. Then two programs run against a migrated database: the example
(the generated schema: usage in, the database's cost out) and the seed's client (the spec's
schema, verbatim: it must keep working on schema v2).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from costdb.prices.pricing import Price, Rates, Tier, Usage, event_cost
from costdb.schema import metadata
from costdb.settings import DatabaseSettings
from costdb.verify.catalog import read_snapshot
from testsupport.cli_runner import clean_environment, run_module
from testsupport.node_client import CLIENT, npm, run_program


def test_the_committed_schema_module_is_the_export_of_the_models() -> None:
    result = run_module("costdb", "export", "drizzle", env=clean_environment())
    assert result.returncode == 0, result.stderr
    assert result.stdout == (CLIENT / "schema.ts").read_text(encoding="utf-8"), (
        "clients/drizzle/schema.ts is stale: costdb export drizzle -o clients/drizzle/schema.ts"
    )


def test_an_export_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "schema.ts"
    result = run_module("costdb", "export", "drizzle", "-o", str(target), env=clean_environment())
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"costdb: error: cannot write {target}: No such file or directory"
    ]


def _catalog(database: DatabaseSettings) -> dict[str, Any]:
    """Tables, indexes and constraint definitions of the models' tables, as PostgreSQL prints
    them (validation state aside: the migrations validate in a later revision)."""
    with psycopg.connect(database.conninfo("test-drizzle"), autocommit=True) as connection:
        snapshot = read_snapshot(connection)
    tables = set(metadata.tables)
    return {
        "tables": {name: snapshot.tables[name] for name in tables if name in snapshot.tables},
        "indexes": {
            name: entry["definition"]
            for name, entry in snapshot.indexes.items()
            if entry["table"] in tables
        },
        "constraints": {
            table: {name: entry["definition"] for name, entry in named.items()}
            for table, named in snapshot.constraints.items()
            if table in tables
        },
    }


@pytest.mark.slow
def test_drizzle_kit_generates_what_the_migrations_build(
    node_client: Path,
    empty_database: DatabaseSettings,
    migrated_database: DatabaseSettings,
    tmp_path: Path,
) -> None:
    npm("run", "generate", env=clean_environment(DRIZZLE_OUT=str(tmp_path)))
    (generated,) = tmp_path.glob("*.sql")
    statements = generated.read_text(encoding="utf-8").split("--> statement-breakpoint")
    with psycopg.connect(migrated_database.conninfo("test-drizzle")) as source:
        functions = [
            source.execute("SELECT pg_get_functiondef(%s::regproc)", (name,)).fetchone()
            for name in ("costdb_uuidv7", "costdb_thresholds_valid")
        ]
    with psycopg.connect(empty_database.conninfo("test-drizzle"), autocommit=True) as target:
        # What drizzle-kit leaves to the migrations: the extension, the id default's function
        # and the function the budgets' thresholds CHECK calls.
        target.execute("CREATE EXTENSION IF NOT EXISTS vector")
        for function in functions:
            assert function is not None
            target.execute(function[0])
        for statement in statements:
            target.execute(statement)  # generated SQL from a pinned tool, not user input
    assert _catalog(empty_database) == _catalog(migrated_database)


def _run_program(script: str, database: DatabaseSettings) -> dict[str, Any]:
    return run_program(script, database.url)


@pytest.mark.slow
def test_the_typescript_programs_typecheck(node_client: Path) -> None:
    npm("run", "typecheck")


@pytest.mark.slow
def test_the_example_reads_the_cost_the_database_computed(
    node_client: Path, migrated_database: DatabaseSettings
) -> None:
    first = _run_program("example", migrated_database)
    second = _run_program("example", migrated_database)  # the price rows are not duplicated
    sonnet = Price(
        datetime(2025, 9, 29, tzinfo=UTC),
        Rates(Decimal("0.003"), Decimal("0.015"), Decimal("0.0003"), Decimal("0.00375")),
        (Tier(200_001, Rates(Decimal("0.006"), Decimal("0.0225"))),),
    )
    expected = event_cost(
        (sonnet,), Usage(50_000, 1_000, 30_000, 10_000), datetime(2025, 10, 1, 12, tzinfo=UTC)
    )
    assert expected == Decimal("0.091500")
    for priced in (first, second):
        assert Decimal(priced["computedCostUsd"]) == expected
        assert Decimal(priced["costDriftUsd"]) == Decimal("0.090000") - expected
        assert priced["status"] == "ok"
    assert first["id"] != second["id"]


@pytest.mark.slow
def test_the_seed_client_works_unchanged_on_schema_v2(
    node_client: Path, migrated_database: DatabaseSettings
) -> None:
    result = _run_program("seed-client", migrated_database)
    assert result == {
        "id": result["id"],
        "projectId": "default",
        "cachedTokens": 2000,
        "isCacheHit": False,
        "estimatedCostUsd": "0.012345",
        "suggestions": ["trim the system prompt"],
        "callCount": 2,
        "orphans": 0,
        "rejected": {
            "code": "23503",
            "constraint": "prompt_analysis_event_id_events_id_fk",
            "table": "prompt_analysis",
        },
    }


@pytest.mark.slow
def test_the_seed_client_works_on_citus_but_errors_lose_their_fields(
    node_client: Path, distributed_database: DatabaseSettings
) -> None:
    """The same program against a Citus coordinator: the same answers, except that an error
    relayed from a worker keeps its SQLSTATE only (docs/citus.md, a documented limit)."""
    result = _run_program("seed-client", distributed_database)
    assert result["callCount"] == 2 and result["orphans"] == 0
    assert result["cachedTokens"] == 2000 and result["suggestions"] == ["trim the system prompt"]
    assert result["rejected"] == {"code": "23503", "constraint": None, "table": None}
