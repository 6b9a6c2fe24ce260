"""``costdb.prices.pricing`` prices written as ``model_pricing`` and ``model_pricing_tiers``
rows: the same history the Python computation is given, for the database's to be
compared with it."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import psycopg

from costdb.prices.pricing import Price, Rates

INSERT_PRICE = """
INSERT INTO model_pricing (provider, model, input_price_per_1k, output_price_per_1k,
                           cache_read_price_per_1k, cache_write_price_per_1k, effective_date)
VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id
"""
INSERT_TIER = """
INSERT INTO model_pricing_tiers (pricing_id, min_input_tokens, input_price_per_1k,
                                 output_price_per_1k, cache_read_price_per_1k,
                                 cache_write_price_per_1k)
VALUES (%s, %s, %s, %s, %s, %s)
"""


def rate_values(rates: Rates) -> tuple[Decimal | None, ...]:
    """The four prices in the tables' column order."""
    return (rates.input, rates.output, rates.cache_read, rates.cache_write)


def store_prices(
    connection: psycopg.Connection[Any], provider: str, model: str, history: Iterable[Price]
) -> None:
    for price in history:
        inserted = connection.execute(
            INSERT_PRICE, (provider, model, *rate_values(price.rates), price.effective_date)
        ).fetchone()
        assert inserted is not None
        for tier in price.tiers:
            connection.execute(
                INSERT_TIER, (inserted[0], tier.min_input_tokens, *rate_values(tier.rates))
            )
