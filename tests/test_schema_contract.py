"""The migrated database matches the spec: every column and index, as a Drizzle client sees it.

The expectations here are written from ``phase-2b-database-schema.md`` and from the schema-v2
issue, not read from the models: this is the test that catches a model that drifted from the
contract, or a v2 change that is not additive.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

# table -> column -> (type, NOT NULL, default) as PostgreSQL reports them.
SPEC_COLUMNS: dict[str, dict[str, tuple[str, bool, str | None]]] = {
    "events": {
        "id": ("uuid", True, "costdb_uuidv7()"),  # v2: time-ordered (a UUID all the same)
        "trace_id": ("text", True, None),
        "span_id": ("text", True, None),
        "parent_span_id": ("text", False, None),
        "project_id": ("text", True, "'default'::text"),
        "feature": ("text", True, None),
        "user_id": ("text", False, None),
        "provider": ("text", True, None),
        "model": ("text", True, None),
        "input_tokens": ("integer", True, None),
        "output_tokens": ("integer", True, None),
        "cached_tokens": ("integer", True, "0"),
        "latency_ms": ("integer", True, None),
        "estimated_cost_usd": ("numeric(12,6)", True, None),
        "verified_cost_usd": ("numeric(12,6)", False, None),
        "is_cache_hit": ("boolean", True, "false"),
        "metadata": ("jsonb", False, None),
        "created_at": ("timestamp with time zone", True, "now()"),
    },
    "model_pricing": {
        "id": ("uuid", True, "gen_random_uuid()"),
        "provider": ("text", True, None),
        "model": ("text", True, None),
        "input_price_per_1k": ("numeric(10,6)", True, None),
        "output_price_per_1k": ("numeric(10,6)", True, None),
        "effective_date": ("timestamp with time zone", True, "now()"),
    },
    "prompt_analysis": {
        "id": ("uuid", True, "gen_random_uuid()"),
        "event_id": ("uuid", True, None),
        "input_token_ratio": ("numeric(8,4)", False, None),
        "redundancy_score": ("numeric(5,4)", False, None),
        "suggestions": ("jsonb", False, None),
        "created_at": ("timestamp with time zone", True, "now()"),
    },
    "prompt_embeddings": {
        "id": ("uuid", True, "gen_random_uuid()"),
        "event_id": ("uuid", True, None),
        "embedding": ("vector(1536)", True, None),
        "prompt_hash": ("text", True, None),
        "created_at": ("timestamp with time zone", True, "now()"),
    },
    "cost_aggregates": {
        "id": ("uuid", True, "gen_random_uuid()"),
        "project_id": ("text", True, "'default'::text"),
        "feature": ("text", True, None),
        "model": ("text", True, None),
        "period": ("text", True, None),
        "period_start": ("timestamp with time zone", True, None),
        "total_cost": ("numeric(12,6)", True, "'0'::numeric"),
        "total_tokens": ("integer", True, "0"),
        "call_count": ("integer", True, "0"),
        "avg_latency": ("numeric(10,2)", True, "'0'::numeric"),
    },
}

# Schema v2, additive: nullable or with a default, so a spec client's INSERT never lacks a value.
V2_COLUMNS: dict[str, dict[str, tuple[str, bool, str | None]]] = {
    "events": {
        "cache_write_tokens": ("integer", True, "0"),
        "reasoning_tokens": ("integer", True, "0"),
        "status": ("text", True, "'ok'::text"),
        "error_type": ("text", False, None),
        "time_to_first_token_ms": ("integer", False, None),
        "operation": ("text", True, "'chat'::text"),
    },
    "model_pricing": {
        "cache_read_price_per_1k": ("numeric", False, None),
        "cache_write_price_per_1k": ("numeric", False, None),
        "source": ("text", True, "'manual'::text"),
    },
    "model_pricing_tiers": {
        "id": ("uuid", True, "gen_random_uuid()"),
        "pricing_id": ("uuid", True, None),
        "min_input_tokens": ("integer", True, None),
        "input_price_per_1k": ("numeric", True, None),
        "output_price_per_1k": ("numeric", True, None),
        "cache_read_price_per_1k": ("numeric", False, None),
        "cache_write_price_per_1k": ("numeric", False, None),
    },
    "costdb_model_names": {
        "provider": ("text", True, None),
        "model": ("text", True, None),
        "priced_provider": ("text", True, None),
        "priced_model": ("text", True, None),
        "rule": ("text", True, None),
        "source": ("text", True, "'manual'::text"),
        "resolved_at": ("timestamp with time zone", True, "now()"),
    },
    "costdb_repricing": {
        "period": ("text", True, None),
        "provider": ("text", True, None),
        "model": ("text", True, None),
        "effective_from": ("timestamp with time zone", True, None),
        "recorded_at": ("timestamp with time zone", True, "clock_timestamp()"),
    },
    # Budgets (revision 0008): new tables only.
    "budgets": {
        "id": ("uuid", True, "gen_random_uuid()"),
        "project_id": ("text", True, None),
        "feature": ("text", False, None),
        "user_id": ("text", False, None),
        "period": ("text", True, None),
        "time_zone": ("text", True, "'UTC'::text"),
        "limit_usd": ("numeric", True, None),
        "alert_thresholds": ("numeric[]", True, "'{50,80,100}'::numeric[]"),
        "active": ("boolean", True, "true"),
        "created_at": ("timestamp with time zone", True, "now()"),
        "updated_at": ("timestamp with time zone", True, "now()"),
    },
    "budget_alerts": {
        "id": ("uuid", True, "gen_random_uuid()"),
        "budget_id": ("uuid", True, None),
        "period_start": ("timestamp with time zone", True, None),
        "threshold_percent": ("numeric", True, None),
        "spend_usd": ("numeric", True, None),
        "limit_usd": ("numeric", True, None),
        "fired_at": ("timestamp with time zone", True, "now()"),
        "delivered_at": ("timestamp with time zone", False, None),
        "attempts": ("integer", True, "0"),
        "next_attempt_at": ("timestamp with time zone", True, "now()"),
        "last_error": ("text", False, None),
    },
    "costdb_spend_hourly": {
        "project_id": ("text", True, None),
        "scope": ("text", True, None),
        "scope_key": ("text", True, None),
        "hour": ("timestamp with time zone", True, None),
        "cost_usd": ("numeric", True, None),
        "calls": ("bigint", True, None),
    },
    "costdb_rollup_coverage": {
        "period": ("text", True, None),
        "covered_from": ("timestamp with time zone", True, None),
        "covered_until": ("timestamp with time zone", True, None),
    },
    "costdb_backups": {
        "label": ("text", True, None),
        "type": ("text", True, None),
        "started_at": ("timestamp with time zone", True, None),
        "finished_at": ("timestamp with time zone", True, None),
        "database_bytes": ("bigint", True, None),
        "repository_bytes": ("bigint", True, None),
    },
    "costdb_model_match_rules": {
        "lookup": ("text", True, None),
        "scope": ("text", True, None),
        "position": ("integer", True, None),
        "alternative": ("integer", True, None),
        "term": ("integer", True, None),
        "kind": ("text", True, None),
        "pattern": ("text", True, None),
        "priced_provider": ("text", True, None),
        "priced_model": ("text", True, None),
        "list_label": ("text", True, None),
    },
}

# The one deliberate change of a spec type (revision 0007): prices per 1k tokens are exact. An
# unconstrained numeric accepts every value numeric(10,6) does and returns it as written, so a
# client that reads prices as strings sees what it wrote (test_schema_behaviour proves it).
WIDENED_SPEC_TYPES = {
    ("model_pricing", "input_price_per_1k"): ("numeric(10,6)", "numeric"),
    ("model_pricing", "output_price_per_1k"): ("numeric(10,6)", "numeric"),
}

# index -> (table, access method, unique, columns in order, operator classes)
SPEC_INDEXES: dict[str, tuple[str, str, bool, tuple[str, ...], tuple[str, ...] | None]] = {
    "idx_events_feature_time": (
        "events",
        "btree",
        False,
        ("project_id", "feature", "created_at"),
        None,
    ),
    "idx_events_user_time": (
        "events",
        "btree",
        False,
        ("project_id", "user_id", "created_at"),
        None,
    ),
    "idx_events_created_at": ("events", "brin", False, ("created_at",), None),
    "idx_events_trace": ("events", "btree", False, ("trace_id",), None),
    "idx_model_pricing_uniq": (
        "model_pricing",
        "btree",
        True,
        ("provider", "model", "effective_date"),
        None,
    ),
    "idx_prompt_analysis_event": ("prompt_analysis", "btree", False, ("event_id",), None),
    "idx_prompt_embeddings_event": ("prompt_embeddings", "btree", True, ("event_id",), None),
    "idx_prompt_embeddings_hash": ("prompt_embeddings", "btree", False, ("prompt_hash",), None),
    "idx_prompt_embeddings_hnsw": (
        "prompt_embeddings",
        "hnsw",
        False,
        ("embedding",),
        ("vector_cosine_ops",),
    ),
    "idx_cost_agg_uniq": (
        "cost_aggregates",
        "btree",
        True,
        ("project_id", "feature", "model", "period", "period_start"),
        None,
    ),
    "idx_cost_agg_period": (
        "cost_aggregates",
        "btree",
        False,
        ("project_id", "period", "period_start"),
        None,
    ),
}
V2_INDEXES: dict[str, tuple[str, str, bool, tuple[str, ...], tuple[str, ...] | None]] = {
    "idx_events_project_time": ("events", "btree", False, ("project_id", "created_at"), None),
    "idx_model_pricing_tiers_uniq": (
        "model_pricing_tiers",
        "btree",
        True,
        ("pricing_id", "min_input_tokens"),
        None,
    ),
    "budgets_project_id_feature_user_id_period_unique": (
        "budgets",
        "btree",
        True,
        ("project_id", "feature", "user_id", "period"),
        None,
    ),
    "idx_budget_alerts_once": (
        "budget_alerts",
        "btree",
        True,
        ("budget_id", "period_start", "threshold_percent"),
        None,
    ),
    "idx_budget_alerts_pending": ("budget_alerts", "btree", False, ("next_attempt_at",), None),
    # The backups' record (0009): the newest one, for the probe.
    "idx_costdb_backups_finished": ("costdb_backups", "btree", False, ("finished_at",), None),
    # The dashboards' read of the hourly spend (0011): one scope, a project or all, hours.
    "idx_costdb_spend_hourly_scope_project_hour": (
        "costdb_spend_hourly",
        "btree",
        False,
        ("scope", "project_id", "hour"),
        None,
    ),
}

COLUMNS_QUERY = """
SELECT c.relname AS table_name, a.attname AS column_name,
       format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
       pg_get_expr(d.adbin, d.adrelid) AS column_default
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
  AND c.relname NOT IN ('alembic_version', 'costdb_migration_history')
  AND a.attnum > 0 AND NOT a.attisdropped
"""

INDEXES_QUERY = """
SELECT i.relname AS index_name, t.relname AS table_name, am.amname AS method,
       x.indisunique AS is_unique,
       ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY k(attnum, n)
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
             ORDER BY k.n) AS columns,
       ARRAY(SELECT o.opcname FROM unnest(x.indclass) WITH ORDINALITY k(opc, n)
             JOIN pg_opclass o ON o.oid = k.opc ORDER BY k.n) AS opclasses
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_am am ON am.oid = i.relam
WHERE t.relnamespace = 'public'::regnamespace AND NOT x.indisprimary
  AND t.relname NOT IN ('alembic_version', 'costdb_migration_history')
"""


def test_every_column_has_the_spec_type_nullability_and_default(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as connection:
        rows = connection.execute(text(COLUMNS_QUERY)).all()
    actual: dict[str, dict[str, tuple[str, bool, str | None]]] = {}
    for row in rows:
        actual.setdefault(row.table_name, {})[row.column_name] = (
            row.type,
            row.not_null,
            row.column_default,
        )
    expected = {
        table: SPEC_COLUMNS.get(table, {}) | V2_COLUMNS.get(table, {})
        for table in SPEC_COLUMNS | V2_COLUMNS
    }
    for (table, column), (spec_type, widened) in WIDENED_SPEC_TYPES.items():
        assert expected[table][column][0] == spec_type
        expected[table][column] = (widened, *expected[table][column][1:])
    assert actual == expected


def test_every_column_added_to_a_spec_table_is_nullable_or_has_a_default(
    migrated_engine: Engine,
) -> None:
    """What keeps a spec client's INSERT working: it never has to name a column it lacks."""
    with migrated_engine.connect() as connection:
        rows = connection.execute(text(COLUMNS_QUERY)).all()
    added = [
        row
        for row in rows
        if row.table_name in SPEC_COLUMNS and row.column_name not in SPEC_COLUMNS[row.table_name]
    ]
    assert added, "schema v2 adds columns to spec tables"
    assert [row.column_name for row in added if row.not_null and row.column_default is None] == []


def test_every_spec_index_exists_with_its_columns_and_access_method(
    migrated_engine: Engine,
) -> None:
    with migrated_engine.connect() as connection:
        rows = connection.execute(text(INDEXES_QUERY)).all()
    actual = {
        row.index_name: (
            row.table_name,
            row.method,
            row.is_unique,
            tuple(row.columns),
            tuple(row.opclasses) if row.method == "hnsw" else None,
        )
        for row in rows
    }
    assert actual == SPEC_INDEXES | V2_INDEXES


def test_primary_keys_and_cascading_foreign_keys(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as connection:
        constraints = connection.execute(
            text(
                "SELECT conrelid::regclass::text AS table_name, conname, contype, confdeltype,"
                " pg_get_constraintdef(oid) AS definition FROM pg_constraint"
                " WHERE connamespace = 'public'::regnamespace AND contype IN ('p', 'f')"
                " AND conrelid::regclass::text"
                " NOT IN ('alembic_version', 'costdb_migration_history')"
            )
        ).all()
    primary = {c.table_name: c.definition for c in constraints if c.contype == "p"}
    foreign = {c.conname: (c.definition, c.confdeltype) for c in constraints if c.contype == "f"}
    assert primary == {table: "PRIMARY KEY (id)" for table in SPEC_COLUMNS | V2_COLUMNS} | {
        "costdb_model_names": "PRIMARY KEY (provider, model)",  # one resolution per name
        "costdb_repricing": "PRIMARY KEY (period, provider, model)",
        "costdb_spend_hourly": "PRIMARY KEY (project_id, scope, scope_key, hour)",
        "costdb_rollup_coverage": "PRIMARY KEY (period)",
        "costdb_backups": "PRIMARY KEY (label)",
        "costdb_model_match_rules": 'PRIMARY KEY (lookup, scope, "position", alternative, term)',
    }
    assert foreign == {
        "budget_alerts_budget_id_budgets_id_fk": (
            "FOREIGN KEY (budget_id) REFERENCES budgets(id) ON DELETE CASCADE",
            "c",
        ),
        "model_pricing_tiers_pricing_id_model_pricing_id_fk": (
            "FOREIGN KEY (pricing_id) REFERENCES model_pricing(id) ON DELETE CASCADE",
            "c",
        ),
        "prompt_analysis_event_id_events_id_fk": (
            "FOREIGN KEY (event_id) REFERENCES events(id) ON DELETE CASCADE",
            "c",
        ),
        "prompt_embeddings_event_id_events_id_fk": (
            "FOREIGN KEY (event_id) REFERENCES events(id) ON DELETE CASCADE",
            "c",
        ),
    }
