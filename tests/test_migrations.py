"""The migration history: linear, complete, reversible, in step with the models, lossless."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from alembic import command
from pytest_alembic import MigrationContext
from pytest_alembic.tests import (
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from sqlalchemy import Engine, inspect, text

from costdb.migrate.scripts import alembic_config, script_directory
from costdb.schema import metadata

__all__ = [
    "test_model_definitions_match_ddl",
    "test_single_head_revision",
    "test_up_down_consistency",
    "test_upgrade",
]

SPEC_TABLES = {"events", "model_pricing", "prompt_analysis", "prompt_embeddings", "cost_aggregates"}
V2_TABLES = {
    "model_pricing_tiers",
    "costdb_model_names",
    "costdb_repricing",
    "costdb_model_match_rules",
}
BUDGET_TABLES = {"budgets", "budget_alerts", "costdb_spend_hourly", "costdb_rollup_coverage"}
BACKUP_TABLES = {"costdb_backups"}
SPEC_REVISION = "0001"


def _first_revision() -> str:
    bases = script_directory().get_bases()
    assert len(bases) == 1
    return bases[0]


def test_models_declare_the_spec_tables_the_tiers_the_names_and_the_budgets() -> None:
    assert set(metadata.tables) == SPEC_TABLES | V2_TABLES | BUDGET_TABLES | BACKUP_TABLES


def test_upgrade_creates_the_extension_and_every_table(
    alembic_runner: MigrationContext, alembic_engine: Engine
) -> None:
    alembic_runner.migrate_up_to("heads")
    with alembic_engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        extensions = connection.execute(text("SELECT extname FROM pg_extension")).scalars().all()
    assert tables == SPEC_TABLES | V2_TABLES | BUDGET_TABLES | BACKUP_TABLES | {"alembic_version"}
    assert "vector" in extensions


def test_alembic_check_finds_no_drift_after_upgrade(
    alembic_runner: MigrationContext, alembic_engine: Engine
) -> None:
    alembic_runner.migrate_up_to("heads")
    with alembic_engine.connect() as connection:
        command.check(alembic_config(connection))  # raises on any difference


def test_downgrade_to_base_leaves_no_table_behind(
    alembic_runner: MigrationContext, alembic_engine: Engine
) -> None:
    alembic_runner.migrate_up_to("heads")
    alembic_runner.migrate_down_to("base")
    with alembic_engine.connect() as connection:
        assert set(inspect(connection).get_table_names()) == {"alembic_version"}


SEED_EVENT = {
    "trace_id": "t-1",
    "span_id": "s-1",
    "feature": "chat",
    "provider": "openai",
    "model": "gpt-4o",
    "input_tokens": 1200,
    "output_tokens": 300,
    "latency_ms": 950,
    "estimated_cost_usd": "0.012345",
    "created_at": "2026-01-02T00:00:00Z",
}


def test_data_inserted_at_the_first_revision_survives_upgrade_to_head(
    alembic_runner: MigrationContext, alembic_engine: Engine
) -> None:
    alembic_runner.migrate_up_to(SPEC_REVISION)
    event_id = uuid.uuid4()
    alembic_runner.insert_into("events", {"id": event_id, **SEED_EVENT})
    alembic_runner.insert_into(
        "prompt_analysis", {"event_id": event_id, "redundancy_score": "0.2500"}
    )
    alembic_runner.insert_into(
        "model_pricing",
        {
            "provider": "openai",
            "model": "gpt-4o",
            "input_price_per_1k": "0.002500",
            "output_price_per_1k": "0.010000",
            "effective_date": "2026-01-01T00:00:00Z",
        },
    )
    alembic_runner.migrate_up_to("heads")
    with alembic_engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT feature, input_tokens, estimated_cost_usd, cache_write_tokens,"
                " reasoning_tokens, status, error_type, time_to_first_token_ms, operation,"
                " computed_cost_usd, cost_drift_usd FROM events_with_cost WHERE id = :id"
            ),
            {"id": event_id},
        ).one()
        analyses = connection.execute(
            text("SELECT count(*) FROM prompt_analysis WHERE event_id = :id"), {"id": event_id}
        ).scalar_one()
    assert (row.feature, row.input_tokens, str(row.estimated_cost_usd)) == (
        "chat",
        1200,
        "0.012345",
    )
    assert (row.cache_write_tokens, row.reasoning_tokens, row.status, row.operation) == (
        0,
        0,
        "ok",
        "chat",
    )
    assert (row.error_type, row.time_to_first_token_ms) == (None, None)
    # 1200 * 0.0025 / 1000 + 300 * 0.01 / 1000, priced by the row that was already there.
    assert (str(row.computed_cost_usd), str(row.cost_drift_usd)) == ("0.006000", "0.006345")
    assert analyses == 1


def test_downgrade_to_the_spec_revision_keeps_rows_written_at_head(
    alembic_runner: MigrationContext, alembic_engine: Engine
) -> None:
    alembic_runner.migrate_up_to("heads")
    alembic_runner.insert_into(
        "events", {**SEED_EVENT, "reasoning_tokens": 100, "cache_write_tokens": 200}
    )
    alembic_runner.migrate_down_to(SPEC_REVISION)
    with alembic_engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        columns = {column["name"] for column in inspect(connection).get_columns("events")}
        count = connection.execute(text("SELECT count(*) FROM events")).scalar_one()
        default = connection.execute(
            text(
                "SELECT pg_get_expr(adbin, adrelid) FROM pg_attrdef"
                " WHERE adrelid = 'events'::regclass AND adnum = 1"
            )
        ).scalar_one()
        functions = connection.execute(
            text("SELECT count(*) FROM pg_proc WHERE proname LIKE 'costdb\\_%'")
        ).scalar_one()
    assert tables == SPEC_TABLES | {"alembic_version"}
    assert "reasoning_tokens" not in columns
    assert count == 1
    assert default == "gen_random_uuid()"
    assert functions == 0


def test_the_hours_already_rolled_up_get_their_model_spend_at_0010(
    alembic_runner: MigrationContext, alembic_engine: Engine
) -> None:
    """0010 adds the per-model spend that dashboards read: the hours a roll-up covered
    before it are filled from the calls (priced as the roll-up prices them); later hours are
    the roll-up's to write."""
    alembic_runner.migrate_up_to("0009")
    for model, minutes, cost in (
        ("gpt-4o", 5, "0.250000"),
        ("gpt-4o", 50, "0.125000"),
        ("o3", 70, "1.000000"),
        ("o3", 200, "2.000000"),
    ):
        alembic_runner.insert_into(
            "events",
            {
                **SEED_EVENT,
                "model": model,
                "estimated_cost_usd": cost,
                "created_at": datetime(2026, 11, 1, 10, tzinfo=UTC) + timedelta(minutes=minutes),
            },
        )
    alembic_runner.insert_into(
        "costdb_rollup_coverage",
        {
            "period": "hour",
            "covered_from": datetime(2026, 11, 1, 10, tzinfo=UTC),
            "covered_until": datetime(2026, 11, 1, 12, 30, tzinfo=UTC),
        },
    )
    alembic_runner.migrate_up_to("heads")
    with alembic_engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT scope_key, hour, cost_usd, calls FROM costdb_spend_hourly"
                " WHERE scope = 'model' ORDER BY hour, scope_key"
            )
        ).all()
    hour = datetime(2026, 11, 1, 10, tzinfo=UTC)
    assert [tuple(row) for row in rows] == [
        ("gpt-4o", hour, Decimal("0.375000"), 2),
        ("o3", hour + timedelta(hours=1), Decimal("1.000000"), 1),
    ]  # the call at 13:20 is after the coverage: not rolled up yet
