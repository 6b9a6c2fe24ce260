"""A name providers report is priced from its first call, straight after ``costdb prices sync``:
the names the list gives exactly are resolved by the sync, the rest by the database itself
with the list's own rules (revision 0014), and the database's match is genai-prices' own."""

from __future__ import annotations

import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from costdb.prices.match_rules import alternatives, exact_names
from costdb.prices.names import NameMatcher
from costdb.prices.price_list import PriceList, load_price_list
from costdb.prices.sync import sync_price_list
from costdb.settings import DatabaseSettings

USAGE = (100_000, 100_000, 0, 0)  # below every long-context tier
AT = "2026-11-01T12:00Z"
REPORTED = (
    ("openai", "gpt-4o-2024-08-06"),  # a dated id the list names exactly
    ("anthropic", "claude-sonnet-4-5-20250929"),  # a pattern of the list only
    ("bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0"),  # Bedrock's model id
)


@pytest.fixture(scope="module")
def price_list() -> PriceList:
    return load_price_list("bundled")


@pytest.fixture
def synced(
    migrated_database: DatabaseSettings, price_list: PriceList
) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(migrated_database.conninfo("test-names"), autocommit=True) as connection:
        sync_price_list(connection, price_list, dry_run=False)
        yield connection


def _cost(connection: psycopg.Connection[Any], provider: str, model: str) -> Decimal | None:
    row = connection.execute(
        "SELECT costdb_event_cost(%s, %s, %s, %s, %s, %s, %s)", (provider, model, AT, *USAGE)
    ).fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def _variants(name: str) -> list[str]:
    """Names of the shapes providers and gateways report around a listed pattern."""
    return [name, f"{name}-20250929", f"{name}-2025-09-29", f"us.{name}-v1:0", name.upper()]


def _sample_names(price_list: PriceList) -> list[tuple[str, str]]:
    """Every name the list gives exactly (under each provider name), and a seeded sample of
    every other pattern's shapes under listed, aliased, gateway and unknown provider names."""
    names = list(dict.fromkeys(exact_names(price_list.providers)))
    patterns = sorted(
        {
            pattern
            for provider in price_list.providers
            for model in provider.models
            for conjunction in alternatives(model.match)
            for kind, pattern in conjunction
            if kind != "regex"
        }
    )
    providers = [p.id for p in price_list.providers]
    providers += ["bedrock", "vertex_ai", "litellm", "azure_ai", "no-such-provider", " OpenAI "]
    rng = random.Random(20261207)  # noqa: S311  (test data, not secrets)
    for pattern in patterns:
        for variant in _variants(pattern):
            names.append((rng.choice(providers), variant))
    names += [("litellm", f"{provider}/{model}") for provider, model in rng.sample(names, 200)]
    names += [("litellm", "no-such-provider/gpt-4o"), ("", "gpt-4o"), ("openai", "")]
    return names


def test_the_database_matches_every_name_as_genai_prices_does(
    synced: psycopg.Connection[Any], price_list: PriceList
) -> None:
    names = _sample_names(price_list)
    assert len(names) > 10_000
    providers, models = zip(*names, strict=True)
    rows = synced.execute(
        "SELECT m.priced_provider, m.priced_model, m.rule FROM unnest(%s::text[], %s::text[])"
        " WITH ORDINALITY AS n(provider, model, position)"
        " LEFT JOIN LATERAL costdb_match_model_name(n.provider, n.model) m ON true"
        " ORDER BY n.position",
        (list(providers), list(models)),
    ).fetchall()
    matcher = NameMatcher(lambda: price_list)
    differ = []
    for (provider, model), in_sql in zip(names, rows, strict=True):
        found = matcher.match(provider, model)
        in_python = (
            (None, None, None)
            if found is None
            else (found.priced_provider, found.priced_model, found.rule)
        )
        if tuple(in_sql) != in_python:
            differ.append(f"{provider!r} {model!r}: SQL {tuple(in_sql)}, Python {in_python}")
    assert differ == [], f"{len(differ)} of {len(names)} differ, e.g. {differ[:5]}"
    assert sum(row[1] is not None for row in rows) > len(names) // 4  # both find many


def test_after_a_sync_each_reported_name_is_priced_before_and_from_its_first_call(
    synced: psycopg.Connection[Any], price_list: PriceList
) -> None:
    """No event recorded and no roll-up run: the cost function prices every name; then the
    calls, recorded, are priced by the cost view and counted by a budget check."""
    gpt_4o = _cost(synced, "openai", "gpt-4o")
    sonnet = _cost(synced, "anthropic", "claude-sonnet-4-5")
    assert (gpt_4o, sonnet) == (Decimal("1.250000"), Decimal("1.800000"))
    matcher = NameMatcher(lambda: price_list)
    expected: dict[str, Decimal] = {}
    for provider, model in REPORTED:
        found = matcher.match(provider, model)
        assert found is not None
        cost = _cost(synced, found.priced_provider, found.priced_model)
        assert cost is not None and cost > 0
        assert _cost(synced, provider, model) == cost, model
        expected[model] = cost
    assert expected["gpt-4o-2024-08-06"] == gpt_4o
    assert expected["claude-sonnet-4-5-20250929"] == sonnet
    resolved = dict(synced.execute("SELECT model, priced_model FROM costdb_model_names").fetchall())
    assert resolved["gpt-4o-2024-08-06"] == "gpt-4o"  # by the sync, before any call
    assert "claude-sonnet-4-5-20250929" not in resolved  # a pattern: left to the first call

    synced.execute(
        "INSERT INTO budgets (project_id, period, limit_usd) VALUES ('acme', 'month', 100)"
    )
    for provider, model in REPORTED:
        synced.execute(
            "INSERT INTO events (trace_id, span_id, project_id, feature, provider, model,"
            " input_tokens, output_tokens, latency_ms, estimated_cost_usd, created_at)"
            " VALUES ('t', 's', 'acme', 'chat', %s, %s, %s, %s, 10, 0, now())",
            (provider, model, *USAGE[:2]),
        )
    viewed = dict(
        synced.execute("SELECT model, computed_cost_usd FROM events_with_cost").fetchall()
    )
    assert viewed == expected
    spend = synced.execute(
        "SELECT spend_usd FROM costdb_budget_status('acme', 'chat', NULL)"
    ).fetchone()
    assert spend == (sum(expected.values()),)
    rules = dict(synced.execute("SELECT model, rule FROM costdb_model_names").fetchall())
    assert "matches anthropic model 'claude-sonnet-4-5'" in rules["claude-sonnet-4-5-20250929"]


def test_a_name_is_resolved_on_insert_for_a_writer_that_may_only_insert_events(
    migrated_database: DatabaseSettings, synced: psycopg.Connection[Any]
) -> None:
    """The application role writes events and reads prices, nothing else: the trigger records
    the resolution as the schema's owner (SECURITY DEFINER), in the writer's transaction."""
    synced.execute("CREATE ROLE test_writer LOGIN PASSWORD 'writer'")
    synced.execute("GRANT INSERT ON events TO test_writer")
    synced.execute("GRANT SELECT ON events, costdb_model_names TO test_writer")
    writer = migrated_database.with_params(user="test_writer", password="writer")
    with psycopg.connect(writer.conninfo("test-names")) as connection:
        connection.execute(
            "INSERT INTO events (trace_id, span_id, feature, provider, model, input_tokens,"
            " output_tokens, latency_ms, estimated_cost_usd) VALUES"
            " ('t', 's', 'chat', 'anthropic', 'claude-sonnet-4-5-20250929', 1, 1, 1, 0),"
            " ('t', 's', 'chat', 'anthropic', 'claude-sonnet-4-5-20250929', 1, 1, 1, 0),"
            " ('t', 's', 'chat', 'acme', 'no-such-model', 1, 1, 1, 0)"
        )
        resolved = connection.execute(
            "SELECT model, priced_model FROM costdb_model_names WHERE provider <> 'openai'"
            " AND model IN ('claude-sonnet-4-5-20250929', 'no-such-model')"
        ).fetchall()
        assert resolved == [("claude-sonnet-4-5-20250929", "claude-sonnet-4-5")]
        connection.rollback()  # the resolution is the writer's transaction's
    assert synced.execute(
        "SELECT count(*) FROM costdb_model_names WHERE model = 'claude-sonnet-4-5-20250929'"
    ).fetchone() == (0,)
    synced.execute("DROP OWNED BY test_writer")
    synced.execute("DROP ROLE test_writer")
