"""A price list's models as costdb's price history: rows of ``model_pricing`` and their tiers.

What costdb stores, and how it maps genai-prices' model:

- Per model of each provider that prices input and output tokens: its prices per million
  become prices per 1k, exactly (``scaleb(-3)``: no rounding ever). Models billed otherwise
  only (audio, images, per request) are skipped and counted.
- Cache reads and cache writes map to ``cache_read_price_per_1k`` and
  ``cache_write_price_per_1k``. Events record one number of cache-write tokens, so the
  5-minute write price is stored and 1-hour writes (``cache_write_1h_mtok``) are priced at it.
  Reasoning is priced as output, as events record it; per-request fees, searches, audio and
  image tokens are not columns: events carry no such usage.
- Long-context tiers: genai-prices applies a key's tier when the call's input tokens *exceed*
  its start; costdb applies a tier row when ``input_tokens`` *reach* ``min_input_tokens``, so
  the row's minimum is start + 1. Tiers are per key there and per call here: every start of
  any key becomes a tier row holding, for each key, the price that key has above that start.
- Dated prices (``StartDateConstraint``) become rows from their date (midnight UTC, as
  genai-prices compares UTC dates); the price before the first date is in effect from
  ``ALWAYS`` (the epoch). Time-of-day prices (off-peak discounts) cannot be a row of a price
  history: they are left out, so such calls are priced at the standard rate, an upper bound.
  Service-tier variants (batch, flex, priority) are left out: events do not record the tier.

Every listed value is checked (finite, not negative); a duplicate (provider, model) stops the
sync with one line, as a malformed list does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from costdb.errors import ConfigError
from costdb.prices.pricing import Price, Rates, Tier

if TYPE_CHECKING:
    from genai_prices.types import ConditionalPrice, ModelInfo, ModelPrice, Provider

ALWAYS = datetime(1970, 1, 1, tzinfo=UTC)
"""The effective date of a price the list gives no date for: in effect for every call."""
_KEYS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")


@dataclass(frozen=True)
class ListedModel:
    """One model's price history as costdb stores it, under the list's own names."""

    provider: str
    model: str
    history: tuple[Price, ...]


@dataclass
class Conversion:
    """What a list gives costdb: the models it can store, and how many it could not, why."""

    models: list[ListedModel] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


def _check(value: Any, where: str) -> None:
    """A listed price: a finite, non-negative Decimal, or tiers of them."""
    from genai_prices.types import TieredPrices  # noqa: PLC0415

    values = (
        [value.base, *(t.price for t in value.tiers)]
        if isinstance(value, TieredPrices)
        else [value]
    )
    for price in values:
        if not isinstance(price, Decimal) or not price.is_finite() or price < 0:
            raise ConfigError(f"{where}: {price!r} is not a price (a finite amount >= 0)")


def _price_at(value: Any, input_tokens: int) -> Decimal | None:
    """One key's price per 1k for a call of ``input_tokens`` (tiers: start < input)."""
    from genai_prices.types import TieredPrices  # noqa: PLC0415

    if value is None:
        return None
    if isinstance(value, TieredPrices):
        applicable = value.base
        for tier in value.tiers:
            if input_tokens > tier.start:
                applicable = tier.price
        value = applicable
    return Decimal(value).scaleb(-3)


def _rates_at(prices: dict[str, Any], input_tokens: int) -> Rates:
    input_, output, read, write = (_price_at(prices[key], input_tokens) for key in _KEYS)
    if input_ is None or output is None:  # _price_row skips such models before asking
        raise RuntimeError("token rates asked of a model without input and output prices")
    return Rates(input_, output, read, write)


def _price_row(model_price: ModelPrice, effective: datetime, where: str) -> Price | None:
    from genai_prices.types import TieredPrices  # noqa: PLC0415

    prices = {key: getattr(model_price, key, None) for key in _KEYS}
    if prices["input_mtok"] is None or prices["output_mtok"] is None:
        return None
    for key, value in prices.items():
        if value is not None:
            _check(value, f"{where} {key}")
    starts = sorted(
        {
            tier.start
            for value in prices.values()
            if isinstance(value, TieredPrices)
            for tier in value.tiers
        }
    )
    tiers = tuple(Tier(start + 1, _rates_at(prices, start + 1)) for start in starts)
    return Price(effective, _rates_at(prices, 0), tiers)


def _in_effect(conditionals: Sequence[ConditionalPrice], at: datetime) -> ModelPrice:
    """genai-prices' rule over date constraints: the last active price, else the first."""
    for conditional in reversed(conditionals):
        if conditional.constraint is None or conditional.constraint.active(at):
            return conditional.prices
    return conditionals[0].prices


def _history(model: ModelInfo, where: str) -> tuple[Price, ...] | None:
    from genai_prices.types import ModelPrice, StartDateConstraint  # noqa: PLC0415

    if isinstance(model.prices, ModelPrice):
        row = _price_row(model.prices, ALWAYS, where)
        return None if row is None else (row,)
    dated = [
        c
        for c in model.prices
        if c.constraint is None or isinstance(c.constraint, StartDateConstraint)
    ]
    if not dated:
        return None
    starts: list[date] = sorted(
        {c.constraint.start_date for c in dated if isinstance(c.constraint, StartDateConstraint)}
    )
    boundaries = [ALWAYS, *(datetime.combine(start, time(), UTC) for start in starts)]
    history: list[Price] = []
    for boundary in boundaries:
        row = _price_row(_in_effect(dated, boundary), boundary, where)
        if row is None:
            return None
        if not history or (history[-1].rates, history[-1].tiers) != (row.rates, row.tiers):
            history.append(row)
    return tuple(history)


def _models(providers: list[Provider]) -> Iterator[tuple[Provider, ModelInfo]]:
    for provider in providers:
        for model in provider.models:
            yield provider, model


def convert(providers: list[Provider]) -> Conversion:
    """Every model the list prices by tokens, as costdb's price history."""
    conversion = Conversion()
    seen: set[tuple[str, str]] = set()
    for provider, model in _models(providers):
        key = (provider.id, model.id)
        if key in seen:
            raise ConfigError(f"price list: model {model.id!r} of {provider.id!r} is listed twice")
        seen.add(key)
        history = _history(model, f"price list: {provider.id} {model.id}")
        if history is None:
            conversion.skip("not priced by input and output tokens")
            continue
        conversion.models.append(ListedModel(provider.id, model.id, history))
    return conversion
