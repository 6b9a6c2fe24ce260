"""An independent oracle: after a sync of the bundled list, the database's ``costdb_event_cost``
equals genai-prices' own ``calc_price`` (its computation, called, not re-implemented), rounded
half up to the micro-dollar, for every model with token prices, on random usages and on both
sides of every tier boundary, at a time within every dated price.

Models the oracle cannot hold costdb to are computed from the list and named: time-of-day
prices (off-peak discounts costdb does not apply: it stores the standard price) and per-request
fees (events record no request count)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg
import pytest

from costdb.prices.conversion import ListedModel, convert
from costdb.prices.price_list import load_price_list
from costdb.prices.pricing import MICRO_DOLLAR
from costdb.prices.sync import sync_price_list
from costdb.settings import DatabaseSettings

pytestmark = pytest.mark.slow  # every model of the list

COSTS = """
SELECT costdb_event_cost(provider, model, at, input_tokens, output_tokens, cache_read, cache_write)
FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::int[], %s::int[], %s::int[], %s::int[])
  AS u(provider, model, at, input_tokens, output_tokens, cache_read, cache_write)
"""
Case = tuple[str, str, datetime, int, int, int, int]


def _excluded(model: Any) -> str | None:
    from genai_prices.types import ModelPrice, TimeOfDateConstraint  # noqa: PLC0415

    variants = [model.prices] if isinstance(model.prices, ModelPrice) else model.prices
    if not isinstance(model.prices, ModelPrice) and any(
        isinstance(c.constraint, TimeOfDateConstraint) for c in variants
    ):
        return "time-of-day prices"
    prices = (
        [model.prices] if isinstance(model.prices, ModelPrice) else [c.prices for c in variants]
    )
    if any(getattr(price, "requests_kcount", None) is not None for price in prices):
        return "a per-request fee"
    return None


def _usages(listed: ListedModel, rng: random.Random) -> list[tuple[int, int, int, int]]:
    usages = []
    for _ in range(4):
        input_tokens = rng.randrange(0, 1_500_000)
        cache_read = rng.randrange(0, input_tokens + 1) if rng.random() < 0.5 else 0
        cache_write = rng.randrange(0, input_tokens - cache_read + 1) if rng.random() < 0.5 else 0
        usages.append((input_tokens, rng.randrange(0, 200_000), cache_read, cache_write))
    for price in listed.history:
        for tier in price.tiers:  # both sides of the boundary: start and start + 1
            for input_tokens in (tier.min_input_tokens - 1, tier.min_input_tokens):
                usages.append((input_tokens, 1234, input_tokens // 4, input_tokens // 8))
    return usages


def test_the_database_prices_every_listed_model_as_genai_prices_does(
    migrated_database: DatabaseSettings,
) -> None:
    from genai_prices import Usage  # noqa: PLC0415

    price_list = load_price_list("bundled")
    conversion = convert(price_list.providers)
    with psycopg.connect(migrated_database.conninfo("test"), autocommit=True) as connection:
        sync_price_list(connection, price_list, dry_run=False)
    listed = {(m.provider, m.model): m for m in conversion.models}
    rng = random.Random(20261205)  # noqa: S311  (test data, not secrets)
    cases: list[Case] = []
    expected: list[Decimal] = []
    excluded: dict[str, list[str]] = {}
    for provider in price_list.providers:
        for model in provider.models:
            history = listed.get((provider.id, model.id))
            if history is None:
                continue
            reason = _excluded(model)
            if reason is not None:
                excluded.setdefault(reason, []).append(f"{provider.id}/{model.id}")
                continue
            for price in history.history:
                at = price.effective_date + timedelta(hours=12)
                for inp, out, read, write in _usages(history, rng):
                    usage = Usage(
                        input_tokens=inp,
                        output_tokens=out,
                        cache_read_tokens=read,
                        cache_write_tokens=write,
                    )
                    total = model.calc_price(
                        usage, provider, genai_request_timestamp=at
                    ).total_price
                    expected.append(total.quantize(MICRO_DOLLAR, rounding=ROUND_HALF_UP))
                    cases.append((provider.id, model.id, at, inp, out, read, write))
    with psycopg.connect(migrated_database.conninfo("test")) as connection:
        columns = [list(column) for column in zip(*cases, strict=True)]
        actual = [row[0] for row in connection.execute(COSTS, columns).fetchall()]
    different = [
        (case, want, got)
        for case, want, got in zip(cases, expected, actual, strict=True)
        if want != got
    ]
    assert different == []
    covered = {(case[0], case[1]) for case in cases}
    assert len(covered) > 1900
    assert excluded == {
        "time-of-day prices": [
            "deepseek/deepseek-chat",
            "deepseek/deepseek-flash",
            "deepseek/deepseek-reasoner",
            "deepseek/deepseek-v4-flash",
            "deepseek/deepseek-v4-pro",
        ],
        "a per-request fee": [
            "perplexity/sonar",
            "perplexity/sonar-pro",
            "perplexity/sonar-reasoning",
            "perplexity/sonar-reasoning-pro",
        ],
    }
