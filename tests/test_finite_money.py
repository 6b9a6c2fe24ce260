"""Money is finite: every numeric column of every table refuses NaN and +-Infinity, an upgrade
over rows that hold them stops in one line and changes nothing, and no price a table accepts
can make a cost NaN or infinite (revisions 0012 and 0013)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import errors, sql

from costdb.exit_codes import ExitCode
from costdb.settings import DatabaseSettings
from testsupport.cli_runner import run_module, url_environment
from testsupport.migration_fixtures import HEAD
from testsupport.servers import migrate_to

ONE = "'00000000-0000-0000-0000-000000000001'"
ONE_ROW_EACH = (
    "INSERT INTO events (id, trace_id, span_id, feature, provider, model, input_tokens,"
    " output_tokens, latency_ms, estimated_cost_usd) VALUES (:one, 't', 's', 'chat',"
    " 'openai', 'gpt-4o', 10, 10, 10, 0.1)",
    "INSERT INTO model_pricing (id, provider, model, input_price_per_1k, output_price_per_1k,"
    " effective_date) VALUES (:one, 'openai', 'gpt-4o', 0.0025, 0.01, '2026-01-01Z')",
    "INSERT INTO model_pricing_tiers (pricing_id, min_input_tokens, input_price_per_1k,"
    " output_price_per_1k) VALUES (:one, 200001, 0.005, 0.02)",
    "INSERT INTO prompt_analysis (event_id, input_token_ratio, redundancy_score)"
    " VALUES (:one, 0.5, 0.25)",
    "INSERT INTO cost_aggregates (feature, model, period, period_start, total_cost, avg_latency)"
    " VALUES ('chat', 'gpt-4o', 'hour', '2026-01-01Z', 0.1, 10)",
    "INSERT INTO budgets (id, project_id, period, limit_usd) VALUES (:one, 'acme', 'day', 10)",
    "INSERT INTO budget_alerts (budget_id, period_start, threshold_percent, spend_usd, limit_usd)"
    " VALUES (:one, '2026-01-01Z', 50, 5, 10)",
    "INSERT INTO costdb_spend_hourly (project_id, scope, scope_key, hour, cost_usd, calls)"
    " VALUES ('acme', 'project', '', '2026-01-01Z', 0.1, 1)",
)
"""A valid row in every table that has a numeric column (``:one``: the shared id)."""

NUMERIC_COLUMNS = """
SELECT c.table_name, c.column_name, c.data_type = 'ARRAY'
FROM information_schema.columns c
JOIN information_schema.tables t USING (table_schema, table_name)
WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE'
  AND (c.data_type = 'numeric' OR c.udt_name = '_numeric')
ORDER BY 1, 2
"""
NOT_FINITE = ("NaN", "Infinity", "-Infinity")


@pytest.fixture
def connection(migrated_database: DatabaseSettings) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(migrated_database.conninfo("test-finite")) as connection:
        for statement in ONE_ROW_EACH:
            connection.execute(statement.replace(":one", ONE).encode())
        yield connection
        connection.rollback()


def _refusal(
    connection: psycopg.Connection[Any], table: str, column: str, value: str, array: bool
) -> psycopg.Error | None:
    """The error that setting ``column`` of the table's one row to ``value`` raises, if any."""
    literal = f"{{{value}}}" if array else value
    cast = "numeric[]" if array else "numeric"
    statement = sql.SQL("UPDATE {} SET {} = {}::{}").format(
        sql.Identifier(table), sql.Identifier(column), sql.Literal(literal), sql.SQL(cast)
    )
    try:
        with connection.transaction():
            updated = connection.execute(statement)
            assert updated.rowcount == 1, f"no {table} row to update: add one to ONE_ROW_EACH"
    except psycopg.Error as exc:
        return exc
    return None


def test_every_numeric_column_of_every_table_refuses_nan_and_infinity(
    connection: psycopg.Connection[Any],
) -> None:
    """From the catalog, not from a list: a numeric column added later without its CHECK
    fails here. A CHECK refuses (23514); a numeric(p,s) column refuses an infinity before its
    CHECK is asked, by its type (22003)."""
    columns = connection.execute(NUMERIC_COLUMNS).fetchall()
    assert len(columns) >= 19
    accepted = []
    for table, column, array in columns:
        for value in NOT_FINITE:
            refused = _refusal(connection, table, column, value, array)
            if refused is None:
                accepted.append(f"{table}.{column} = {value}")
            elif isinstance(refused, errors.CheckViolation):
                assert refused.diag.constraint_name, refused
            else:
                assert isinstance(refused, errors.NumericValueOutOfRange), refused
                assert value != "NaN", refused
    assert accepted == []


@pytest.mark.parametrize(
    ("table", "column"),
    [
        ("events", "estimated_cost_usd"),
        ("events", "verified_cost_usd"),
        ("model_pricing", "input_price_per_1k"),
        ("model_pricing", "cache_write_price_per_1k"),
        ("model_pricing_tiers", "output_price_per_1k"),
        ("prompt_analysis", "input_token_ratio"),
        ("cost_aggregates", "total_cost"),
        ("cost_aggregates", "avg_latency"),
        ("budgets", "limit_usd"),
        ("budget_alerts", "spend_usd"),
        ("costdb_spend_hourly", "cost_usd"),
    ],
)
def test_nan_is_refused_by_the_columns_own_named_check(
    connection: psycopg.Connection[Any], table: str, column: str
) -> None:
    refused = _refusal(connection, table, column, "NaN", array=False)
    assert isinstance(refused, errors.CheckViolation)
    assert refused.diag.constraint_name == f"{table}_{column}_finite_check"


@pytest.mark.slow  # costdb migrate as processes
def test_an_upgrade_over_non_finite_rows_stops_in_one_line_and_changes_nothing(
    owner_role: DatabaseSettings,
) -> None:
    migrate_to(owner_role, "0011")
    with psycopg.connect(owner_role.conninfo("test"), autocommit=True) as connection:
        for statement in ONE_ROW_EACH:
            connection.execute(statement.replace(":one", ONE).encode())
        connection.execute("UPDATE events SET estimated_cost_usd = 'NaN'")
        connection.execute("UPDATE model_pricing SET input_price_per_1k = 'NaN'")
        connection.execute("UPDATE budgets SET limit_usd = 'Infinity'")

    refused = run_module("costdb", "migrate", env=url_environment(owner_role), timeout=120)

    assert refused.returncode == ExitCode.FAILED
    (line,) = refused.stderr.strip().splitlines()
    assert line.startswith("costdb: error: migration 0012 failed: NaN or an infinite amount")
    for found in (
        "events.estimated_cost_usd: 1 row,",
        "model_pricing.input_price_per_1k: 1 row,",
        "budgets.limit_usd: 1 row;",
        "UPDATE events SET estimated_cost_usd = <the right amount>"
        " WHERE NOT abs(estimated_cost_usd) < 'Infinity'",
        "the database stays at 0011",
    ):
        assert found in line, line
    with psycopg.connect(owner_role.conninfo("test"), autocommit=True) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("0011",)
        ]
        assert connection.execute("SELECT estimated_cost_usd::text FROM events").fetchall() == [
            ("NaN",)
        ]  # nothing changed silently
        connection.execute(
            "UPDATE events SET estimated_cost_usd = 0.1 WHERE NOT abs(estimated_cost_usd) < "
            "'Infinity'"
        )
        connection.execute("UPDATE model_pricing SET input_price_per_1k = 0.0025")
        connection.execute("UPDATE budgets SET limit_usd = 10")

    upgraded = run_module("costdb", "migrate", env=url_environment(owner_role), timeout=120)

    assert upgraded.returncode == 0, upgraded.stderr
    with psycopg.connect(owner_role.conninfo("test"), autocommit=True) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchall() == [(HEAD,)]
        validated = connection.execute(
            "SELECT count(*), count(*) FILTER (WHERE convalidated) FROM pg_constraint"
            " WHERE conname LIKE '%\\_finite\\_check'"
        ).fetchone()
        assert validated == (18, 18)
        assert connection.execute("SELECT count(*) FROM budget_alerts").fetchone() == (1,)


ANY_AMOUNT = (
    # PostgreSQL's numeric has one NaN: no signed or signalling one
    st.decimals(allow_nan=True, allow_infinity=True).map(
        lambda amount: Decimal("NaN") if amount.is_nan() else amount
    )
    | st.sampled_from([Decimal("NaN"), Decimal("Infinity"), Decimal("-Infinity"), Decimal(0)])
    | st.decimals(min_value=0, max_value=Decimal("1e12"), places=9)
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    prices=st.tuples(ANY_AMOUNT, ANY_AMOUNT, st.none() | ANY_AMOUNT, st.none() | ANY_AMOUNT),
    tokens=st.tuples(*(st.integers(0, 2**31 - 1) for _ in range(4))),
)
def test_no_price_a_table_accepts_makes_a_cost_nan_or_infinite(
    migrated_database: DatabaseSettings,
    prices: tuple[Decimal | None, ...],
    tokens: tuple[int, ...],
) -> None:
    """Whatever amount a client tries to store as a price: it is refused (negative, NaN or
    infinite), or every cost computed from it is a finite number."""
    at = datetime(2026, 6, 1, tzinfo=UTC)
    with psycopg.connect(migrated_database.conninfo("test-finite")) as connection:
        try:
            connection.execute(
                "INSERT INTO model_pricing (provider, model, input_price_per_1k,"
                " output_price_per_1k, cache_read_price_per_1k, cache_write_price_per_1k,"
                " effective_date) VALUES ('p', 'm', %s, %s, %s, %s, '2026-01-01Z')",
                prices,
            )
        except errors.CheckViolation:
            assert any(p is not None and (not p.is_finite() or p < 0) for p in prices)
            return
        row = connection.execute(
            "SELECT costdb_event_cost('p', 'm', %s, %s, %s, %s, %s)", (at, *tokens)
        ).fetchone()
        connection.rollback()
    assert row is not None
    cost = row[0]
    assert isinstance(cost, Decimal) and cost.is_finite() and cost >= 0


@pytest.mark.slow  # the probe as a process
def test_a_dropped_finite_check_is_reported_by_the_probe(
    migrated_database: DatabaseSettings,
) -> None:
    with psycopg.connect(migrated_database.conninfo("test"), autocommit=True) as connection:
        connection.execute(
            "ALTER TABLE events DROP CONSTRAINT events_estimated_cost_usd_finite_check"
        )
    probe = run_module("healthcheck", env=url_environment(migrated_database))
    assert probe.returncode == ExitCode.FAILED
    assert "events_estimated_cost_usd_finite_check" in probe.stdout


CALL = st.tuples(
    st.sampled_from(["chat", "search"]),
    st.integers(0, 2**31 - 1),
    st.integers(0, 2**31 - 1),
    st.decimals(min_value=0, max_value=Decimal("999999.999999"), places=6),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    price=st.decimals(min_value=0, max_value=Decimal("1e9"), places=12),
    calls=st.lists(CALL, min_size=1, max_size=6),
)
def test_spend_is_a_finite_number_whatever_finite_rows_it_sums(
    migrated_database: DatabaseSettings, price: Decimal, calls: list[tuple[str, int, int, Decimal]]
) -> None:
    """The budgets' and dashboards' answers over calls of extreme (finite) usage, prices and
    estimates: every amount a finite number."""
    with psycopg.connect(migrated_database.conninfo("test-finite")) as connection:
        connection.execute(
            "INSERT INTO model_pricing (provider, model, input_price_per_1k, output_price_per_1k,"
            " effective_date) VALUES ('p', 'priced', %s, %s, '2020-01-01Z')",
            (price, price),
        )
        connection.execute(
            "INSERT INTO budgets (project_id, period, limit_usd) VALUES ('acme', 'month', 1)"
        )
        for n, (feature, input_tokens, output_tokens, estimate) in enumerate(calls):
            connection.execute(
                "INSERT INTO events (trace_id, span_id, project_id, feature, provider, model,"
                " input_tokens, output_tokens, latency_ms, estimated_cost_usd, created_at)"
                " VALUES ('t', 's', 'acme', %s, 'p', %s, %s, %s, 1, %s, now())",
                (feature, "priced" if n % 2 else "unpriced", input_tokens, output_tokens, estimate),
            )
        amounts = [
            *connection.execute(
                "SELECT spend_usd FROM costdb_budget_status('acme', 'chat', NULL)"
            ).fetchall(),
            *connection.execute(
                "SELECT cost_usd FROM costdb_spend_by('feature', now() - interval '1 day',"
                " now() + interval '1 hour', 'acme')"
            ).fetchall(),
        ]
        connection.rollback()
    assert amounts
    assert all(isinstance(a, Decimal) and a.is_finite() and a >= 0 for (a,) in amounts), amounts
