"""Cost in SQL and in Python agree to the micro-dollar, and both bill what providers publish."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costdb.prices.pricing import Price, Rates, Tier, Usage, event_cost, usage_cost
from costdb.settings import DatabaseSettings
from testsupport.price_rows import rate_values, store_prices

MAX_TOKENS = 2_000_000
# Prices with few decimals too: they make exact half-micro-dollar sums (rounding ties) common;
# and as fine as the public list's (up to 18 decimals per million, 21 per 1k: revision 0007).
PRICES = (
    st.decimals(min_value=0, max_value=Decimal("9999.999999"), places=6)
    | st.integers(0, 99_999).map(lambda tenths_of_a_cent: Decimal(tenths_of_a_cent) / 10_000)
    | st.decimals(min_value=0, max_value=Decimal(1), places=21)
)
CACHE_PRICES = st.none() | PRICES
TIMES = st.datetimes(
    min_value=datetime(2023, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
)


@pytest.fixture
def connection(migrated_database: DatabaseSettings) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(migrated_database.conninfo("test-pricing")) as connection:
        yield connection


rates = st.builds(Rates, PRICES, PRICES, CACHE_PRICES, CACHE_PRICES)


@st.composite
def usages(draw: st.DrawFn) -> Usage:
    """Usage an ``events`` row may hold: with cache writes, the OpenTelemetry convention holds;
    without, cache reads may exceed the input (a row written before schema v2 may)."""
    input_tokens = draw(st.integers(0, MAX_TOKENS))
    output_tokens = draw(st.integers(0, MAX_TOKENS))
    if draw(st.booleans()):
        return Usage(input_tokens, output_tokens, draw(st.integers(0, MAX_TOKENS)), 0)
    read = draw(st.integers(0, input_tokens))
    return Usage(input_tokens, output_tokens, read, draw(st.integers(0, input_tokens - read)))


@st.composite
def histories(draw: st.DrawFn) -> tuple[Price, ...]:
    dates = draw(st.lists(TIMES, min_size=1, max_size=3, unique=True))
    return tuple(
        Price(
            date,
            draw(rates),
            tuple(
                Tier(minimum, draw(rates))
                for minimum in draw(st.lists(st.integers(1, MAX_TOKENS), max_size=2, unique=True))
            ),
        )
        for date in dates
    )


def _store(connection: psycopg.Connection[Any], history: tuple[Price, ...]) -> None:
    store_prices(connection, "p", "m", history)


def _usage_values(usage: Usage) -> tuple[int, ...]:
    return (
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_read_tokens,
        usage.cache_write_tokens,
    )


def _view_cost(
    connection: psycopg.Connection[Any], usage: Usage, at: datetime, provider: str = "p"
) -> Decimal | None:
    """Insert an event with ``usage`` at ``at`` and read its cost back from events_with_cost."""
    row = connection.execute(
        "WITH e AS (INSERT INTO events (trace_id, span_id, feature, provider, model,"
        " input_tokens, output_tokens, cached_tokens, cache_write_tokens, latency_ms,"
        " estimated_cost_usd, created_at)"
        " VALUES ('t', 's', 'f', %s, 'm', %s, %s, %s, %s, 1, 0, %s) RETURNING id)"
        " SELECT id FROM e",
        (provider, *_usage_values(usage), at),
    ).fetchone()
    assert row is not None
    cost = connection.execute(
        "SELECT computed_cost_usd FROM events_with_cost WHERE id = %s", row
    ).fetchone()
    assert cost is not None
    return cost[0]  # type: ignore[no-any-return]


SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(usage=usages(), at_rates=rates)
def test_usage_cost_in_sql_equals_python(
    connection: psycopg.Connection[Any], usage: Usage, at_rates: Rates
) -> None:
    row = connection.execute(
        "SELECT costdb_usage_cost(%s, %s, %s, %s, %s, %s, %s, %s)",
        (*_usage_values(usage), *rate_values(at_rates)),
    ).fetchone()
    assert row == (usage_cost(usage, at_rates),)


@SETTINGS
@given(history=histories(), usage=usages(), at=TIMES)
def test_event_cost_in_the_view_equals_python_with_history_and_tiers(
    connection: psycopg.Connection[Any], history: tuple[Price, ...], usage: Usage, at: datetime
) -> None:
    try:
        _store(connection, history)
        assert _view_cost(connection, usage, at) == event_cost(history, usage, at)
    finally:
        connection.rollback()


@SETTINGS
@given(history=histories(), usage=usages(), at=TIMES)
def test_event_cost_function_equals_python_with_history_and_tiers(
    connection: psycopg.Connection[Any], history: tuple[Price, ...], usage: Usage, at: datetime
) -> None:
    """``costdb_event_cost`` reads the price through the indexes, not the view: same answer."""
    try:
        _store(connection, history)
        row = connection.execute(
            "SELECT costdb_event_cost('p', 'm', %s, %s, %s, %s, %s)", (at, *_usage_values(usage))
        ).fetchone()
        assert row == (event_cost(history, usage, at),)
    finally:
        connection.rollback()


# Published prices, USD per 1M tokens, as the providers' pricing pages listed them on
# 2025-10-01 (divided by 1000 here: the schema stores per 1k).
GPT_4O = Price(  # OpenAI: input $2.50, cached input $1.25, output $10.00; cache writes free
    datetime(2024, 10, 1, tzinfo=UTC),
    Rates(Decimal("0.0025"), Decimal("0.01"), cache_read=Decimal("0.00125")),
)
CLAUDE_SONNET_4_5 = Price(  # Anthropic: $3 / $15, 5-minute cache write $3.75, cache read $0.30;
    # above 200k input tokens (cache included) the whole call at $6 / $22.50, $7.50, $0.60.
    datetime(2025, 9, 29, tzinfo=UTC),
    Rates(Decimal("0.003"), Decimal("0.015"), Decimal("0.0003"), Decimal("0.00375")),
    (
        Tier(
            200_001,
            Rates(Decimal("0.006"), Decimal("0.0225"), Decimal("0.0006"), Decimal("0.0075")),
        ),
    ),
)
GEMINI_2_5_PRO = Price(  # Google: $1.25 / $10 up to 200k prompt tokens, $2.50 / $15 above
    datetime(2025, 6, 17, tzinfo=UTC),
    Rates(Decimal("0.00125"), Decimal("0.01")),
    (Tier(200_001, Rates(Decimal("0.0025"), Decimal("0.015"))),),
)
CALL_TIME = datetime(2025, 10, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("price", "usage", "expected"),
    [
        # 10k input of which 8k cached, 500 output (reasoning included): 2k * 2.5 + 8k * 1.25
        # + 500 * 10 per 1M = 0.005 + 0.01 + 0.005.
        (GPT_4O, Usage(10_000, 500, cache_read_tokens=8_000), "0.020000"),
        # 1,234 input, 567 output, no cache: 0.003085 + 0.00567.
        (GPT_4O, Usage(1_234, 567), "0.008755"),
        # 50k input: 30k cache read, 10k cache write, 10k fresh; 1k output:
        # 0.03 + 0.009 + 0.0375 + 0.015.
        (CLAUDE_SONNET_4_5, Usage(50_000, 1_000, 30_000, 10_000), "0.091500"),
        # 250k input (the long-context tier, cache reads count toward it): 200k read, 50k fresh;
        # 2k output: 0.12 + 0.3 + 0.045.
        (CLAUDE_SONNET_4_5, Usage(250_000, 2_000, cache_read_tokens=200_000), "0.465000"),
        # Exactly 200k input stays in the base tier: 0.6 + 0.015.
        (CLAUDE_SONNET_4_5, Usage(200_000, 1_000), "0.615000"),
        # 300k prompt tokens, 4k output, above Gemini's 200k line: 0.75 + 0.06.
        (GEMINI_2_5_PRO, Usage(300_000, 4_000), "0.810000"),
        # 7 input tokens, 3 output: 0.00000875 + 0.00003 = 0.00003875, half up to 0.000039.
        (GEMINI_2_5_PRO, Usage(7, 3), "0.000039"),
        # 1 input and 1 output token at $1.25 + $10 per 1M = 0.00001125: down to 0.000011.
        (GEMINI_2_5_PRO, Usage(1, 1), "0.000011"),
        # An exact tie, half up (half-even would give 0.000004): 15 cache-read tokens at
        # $0.30/1M = 0.0000045.
        (CLAUDE_SONNET_4_5, Usage(15, 0, cache_read_tokens=15), "0.000005"),
    ],
    ids=[
        "gpt-4o-cached",
        "gpt-4o-plain",
        "sonnet-cache",
        "sonnet-long",
        "sonnet-edge",
        "gemini-long",
        "gemini-rounding",
        "gemini-down",
        "sonnet-tie",
    ],
)
def test_published_prices_are_billed_as_the_providers_bill(
    connection: psycopg.Connection[Any], price: Price, usage: Usage, expected: str
) -> None:
    _store(connection, (price,))
    assert event_cost((price,), usage, CALL_TIME) == Decimal(expected)
    assert _view_cost(connection, usage, CALL_TIME) == Decimal(expected)


def test_the_price_in_effect_is_the_latest_not_after_the_call(
    connection: psycopg.Connection[Any],
) -> None:
    cut = Price(
        GPT_4O.effective_date + timedelta(days=30), Rates(Decimal("0.001"), Decimal("0.004"))
    )
    _store(connection, (GPT_4O, cut))
    usage = Usage(1_000, 1_000)
    before = _view_cost(connection, usage, cut.effective_date - timedelta(microseconds=1))
    at = _view_cost(connection, usage, cut.effective_date)
    too_early = _view_cost(connection, usage, GPT_4O.effective_date - timedelta(days=1))
    assert (before, at, too_early) == (Decimal("0.012500"), Decimal("0.005000"), None)
