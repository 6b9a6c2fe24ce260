"""Valid rows for every table, with overridable fields: what the tests insert."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from costdb.schema import (
    EMBEDDING_DIMENSIONS,
    CostAggregate,
    Event,
    ModelPricing,
    ModelPricingTier,
    PromptAnalysis,
    PromptEmbedding,
)


def make_event(**overrides: Any) -> Event:
    fields: dict[str, Any] = {
        "trace_id": f"trace-{uuid.uuid4().hex[:8]}",
        "span_id": f"span-{uuid.uuid4().hex[:8]}",
        "feature": "chat",
        "provider": "anthropic",
        "model": "claude-sonnet-4",
        "input_tokens": 1500,
        "output_tokens": 400,
        "latency_ms": 1200,
        "estimated_cost_usd": Decimal("0.010500"),
    }
    return Event(**(fields | overrides))


def make_pricing(**overrides: Any) -> ModelPricing:
    fields: dict[str, Any] = {
        "provider": "openai",
        "model": "gpt-4o",
        "input_price_per_1k": Decimal("0.002500"),
        "output_price_per_1k": Decimal("0.010000"),
    }
    return ModelPricing(**(fields | overrides))


def make_tier(pricing: ModelPricing, **overrides: Any) -> ModelPricingTier:
    fields: dict[str, Any] = {
        "pricing": pricing,
        "min_input_tokens": 200_001,
        "input_price_per_1k": Decimal("0.006000"),
        "output_price_per_1k": Decimal("0.022500"),
        "cache_read_price_per_1k": Decimal("0.000600"),
    }
    return ModelPricingTier(**(fields | overrides))


def make_analysis(event: Event, **overrides: Any) -> PromptAnalysis:
    fields: dict[str, Any] = {
        "event": event,
        "input_token_ratio": Decimal("0.7500"),
        "redundancy_score": Decimal("0.1250"),
        "suggestions": ["trim the system prompt"],
    }
    return PromptAnalysis(**(fields | overrides))


def unit_vector(index: int) -> list[float]:
    vector = [0.0] * EMBEDDING_DIMENSIONS
    vector[index % EMBEDDING_DIMENSIONS] = 1.0
    return vector


def make_embedding(event: Event, **overrides: Any) -> PromptEmbedding:
    fields: dict[str, Any] = {
        "event": event,
        "embedding": unit_vector(0),
        "prompt_hash": uuid.uuid4().hex,
    }
    return PromptEmbedding(**(fields | overrides))


def make_aggregate(**overrides: Any) -> CostAggregate:
    fields: dict[str, Any] = {
        "feature": "chat",
        "model": "gpt-4o",
        "period": "hour",
        "period_start": datetime(2026, 11, 1, 12, tzinfo=UTC),
        "total_cost": Decimal("12.345678"),
        "total_tokens": 1_000_000,
        "call_count": 420,
        "avg_latency": Decimal("812.50"),
    }
    return CostAggregate(**(fields | overrides))
