"""The migration history: linear, complete, reversible, in step with the models, lossless."""

from __future__ import annotations

import uuid

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


def _first_revision() -> str:
    bases = script_directory().get_bases()
    assert len(bases) == 1
    return bases[0]


def test_models_declare_exactly_the_spec_tables() -> None:
    assert set(metadata.tables) == SPEC_TABLES


def test_upgrade_creates_the_extension_and_every_table(
    alembic_runner: MigrationContext, alembic_engine: Engine
) -> None:
    alembic_runner.migrate_up_to("heads")
    with alembic_engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        extensions = connection.execute(text("SELECT extname FROM pg_extension")).scalars().all()
    assert tables == SPEC_TABLES | {"alembic_version"}
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


def test_data_inserted_at_the_first_revision_survives_upgrade_to_head(
    alembic_runner: MigrationContext, alembic_engine: Engine
) -> None:
    alembic_runner.migrate_up_to(_first_revision())
    event_id = uuid.uuid4()
    alembic_runner.insert_into(
        "events",
        {
            "id": event_id,
            "trace_id": "t-1",
            "span_id": "s-1",
            "feature": "chat",
            "provider": "openai",
            "model": "gpt-4o",
            "input_tokens": 1200,
            "output_tokens": 300,
            "latency_ms": 950,
            "estimated_cost_usd": "0.012345",
        },
    )
    alembic_runner.insert_into(
        "prompt_analysis", {"event_id": event_id, "redundancy_score": "0.2500"}
    )
    alembic_runner.migrate_up_to("heads")
    with alembic_engine.connect() as connection:
        row = connection.execute(
            text("SELECT feature, input_tokens, estimated_cost_usd FROM events WHERE id = :id"),
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
    assert analyses == 1
