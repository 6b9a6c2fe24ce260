"""An LLM call's cost from its usage and the price in effect at its time: the database's
``costdb_event_cost`` in Python, to the micro-dollar.

For a backend that prices before it writes (``estimated_cost_usd``) and for tests; the view
``events_with_cost`` is the database's own answer, and a property-based test keeps the two
equal. The rules, the same on both sides:

- Token counts follow the OpenTelemetry GenAI conventions: ``input_tokens`` includes the cache
  reads and cache writes, ``output_tokens`` includes the reasoning tokens (priced as output).
  Fresh input is what remains of ``input_tokens`` (never below zero).
- A missing cache price means those tokens are billed as fresh input.
- The price in effect is the row with the latest ``effective_date`` not after the call; within
  it, the tier with the largest ``min_input_tokens`` that ``input_tokens`` reaches prices the
  whole call.
- Prices are USD per 1k tokens; the sum is exact and rounded once, half up, to 6 places.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

MICRO_DOLLAR = Decimal("0.000001")
PER_TOKEN = Decimal("0.001")  # prices are per 1k tokens


@dataclass(frozen=True)
class Usage:
    """What one call consumed, as ``events`` records it."""

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(frozen=True)
class Rates:
    """USD per 1k tokens; ``None`` cache rates mean "billed as fresh input"."""

    input: Decimal
    output: Decimal
    cache_read: Decimal | None = None
    cache_write: Decimal | None = None


@dataclass(frozen=True)
class Tier:
    """A ``model_pricing_tiers`` row: ``rates`` from ``min_input_tokens`` input tokens up."""

    min_input_tokens: int
    rates: Rates


@dataclass(frozen=True)
class Price:
    """A ``model_pricing`` row and its tiers."""

    effective_date: datetime
    rates: Rates
    tiers: tuple[Tier, ...] = field(default=())

    def rates_for(self, input_tokens: int) -> Rates:
        reached = [tier for tier in self.tiers if tier.min_input_tokens <= input_tokens]
        if not reached:
            return self.rates
        return max(reached, key=lambda tier: tier.min_input_tokens).rates


def usage_cost(usage: Usage, rates: Rates) -> Decimal:
    """``costdb_usage_cost``: the cost of ``usage`` at ``rates``, in USD to the micro-dollar."""
    cached = usage.cache_read_tokens + usage.cache_write_tokens
    fresh = max(usage.input_tokens - cached, 0)
    read_rate = rates.input if rates.cache_read is None else rates.cache_read
    write_rate = rates.input if rates.cache_write is None else rates.cache_write
    exact = (
        fresh * rates.input
        + usage.cache_read_tokens * read_rate
        + usage.cache_write_tokens * write_rate
        + usage.output_tokens * rates.output
    ) * PER_TOKEN
    return exact.quantize(MICRO_DOLLAR, rounding=ROUND_HALF_UP)


def price_in_effect(history: Iterable[Price], at: datetime) -> Price | None:
    """The price with the latest ``effective_date`` not after ``at``; ``None`` before any."""
    known = [price for price in history if price.effective_date <= at]
    return max(known, key=lambda price: price.effective_date, default=None)


def event_cost(history: Iterable[Price], usage: Usage, at: datetime) -> Decimal | None:
    """``costdb_event_cost``: the call's cost at the price in effect at ``at`` (``None``: no
    price known then)."""
    price = price_in_effect(history, at)
    if price is None:
        return None
    return usage_cost(usage, price.rates_for(usage.input_tokens))
