"""The costdb schema: SQLAlchemy 2 models, the one source of truth for tables and indexes.

Names, column types, nullability, server defaults and index names follow the Drizzle schema of
``phase-2b-database-schema.md`` exactly, so a client written against that schema works against
this database unchanged. What is added is stated where it is added:

- CHECK constraints that no valid row violates (non-negative counts, costs and latencies;
  ``period`` in ('hour', 'day'); ``redundancy_score`` in [0, 1]) — they turn corrupt writes
  into errors instead of wrong invoices.
- ``idx_events_created_at`` is BRIN, as the spec's key insights ask (append-only data): a
  fraction of a btree's size; range scans on ``created_at`` read only matching block ranges.
- ``prompt_embeddings`` (the spec names its columns only): one embedding per event, an index on
  ``prompt_hash`` for exact duplicates and an HNSW index for cosine similarity search.

Constraint names follow the conventions PostgreSQL and drizzle-kit use (``events_pkey``,
``prompt_analysis_event_id_events_id_fk``), so introspection from either side agrees.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pgvector.sqlalchemy import VECTOR
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

REQUIRED_EXTENSIONS = {"vector": "0.5.0"}
"""Extensions the schema needs, with the oldest usable version (HNSW arrived in pgvector 0.5.0)."""

EMBEDDING_DIMENSIONS = 1536
"""OpenAI ``text-embedding-3-small`` / ``ada-002`` size, as the spec fixes it."""

NAMING_CONVENTION = {
    "pk": "%(table_name)s_pkey",
    "fk": "%(table_name)s_%(column_0_name)s_%(referred_table_name)s_%(referred_column_0_name)s_fk",
    "ck": "%(table_name)s_%(constraint_name)s_check",
    "uq": "%(table_name)s_%(column_0_N_name)s_unique",
    "ix": "idx_%(table_name)s_%(column_0_N_name)s",
}

UUID_DEFAULT = text("gen_random_uuid()")
NOW_DEFAULT = text("now()")


class Base(DeclarativeBase):
    """Declarative base whose metadata names every constraint deterministically."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012  (SQLAlchemy reads this class attribute)
        uuid.UUID: UUID(as_uuid=True),
        str: Text(),
        datetime: DateTime(timezone=True),
        bool: Boolean(),
        int: Integer(),
    }


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, server_default=UUID_DEFAULT)


def _created_at() -> Mapped[datetime]:
    return mapped_column(server_default=NOW_DEFAULT)


def _non_negative(*columns: str) -> list[CheckConstraint]:
    return [CheckConstraint(f"{column} >= 0", name=f"{column}_nonnegative") for column in columns]


class Event(Base):
    """One LLM call: tokens, latency and cost, append-only.

    Limits kept from the spec: token counts and ``latency_ms`` are ``integer`` (at most
    2,147,483,647 — ample for one call); costs are ``numeric(12,6)``, at most $999,999.999999
    per call, exact to a millionth of a dollar.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("idx_events_feature_time", "project_id", "feature", "created_at"),
        Index("idx_events_user_time", "project_id", "user_id", "created_at"),
        Index("idx_events_created_at", "created_at", postgresql_using="brin"),
        Index("idx_events_trace", "trace_id"),
        *_non_negative(
            "input_tokens",
            "output_tokens",
            "cached_tokens",
            "latency_ms",
            "estimated_cost_usd",
            "verified_cost_usd",
        ),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    trace_id: Mapped[str]
    span_id: Mapped[str]
    parent_span_id: Mapped[str | None]
    project_id: Mapped[str] = mapped_column(server_default=text("'default'"))
    feature: Mapped[str]
    user_id: Mapped[str | None]
    provider: Mapped[str] = mapped_column(doc="'openai' | 'anthropic'")
    model: Mapped[str]
    input_tokens: Mapped[int]
    output_tokens: Mapped[int]
    cached_tokens: Mapped[int] = mapped_column(server_default=text("0"))
    latency_ms: Mapped[int]
    estimated_cost_usd: Mapped[Decimal] = mapped_column(Numeric(12, 6))
    verified_cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 6))
    is_cache_hit: Mapped[bool] = mapped_column(server_default=text("false"))
    # The column is "metadata", a name SQLAlchemy's declarative base reserves: the attribute
    # is metadata_, the column keeps the spec's name.
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONB)
    created_at: Mapped[datetime] = _created_at()

    analyses: Mapped[list[PromptAnalysis]] = relationship(
        back_populates="event", passive_deletes=True
    )
    embedding: Mapped[PromptEmbedding | None] = relationship(
        back_populates="event", passive_deletes=True
    )


class ModelPricing(Base):
    """A provider's price for a model from ``effective_date`` on; new rows, never updates.

    Prices are ``numeric(10,6)`` USD per 1k tokens (at most $9,999.999999).
    """

    __tablename__ = "model_pricing"
    __table_args__ = (
        Index("idx_model_pricing_uniq", "provider", "model", "effective_date", unique=True),
        *_non_negative("input_price_per_1k", "output_price_per_1k"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    provider: Mapped[str]
    model: Mapped[str]
    input_price_per_1k: Mapped[Decimal] = mapped_column(Numeric(10, 6))
    output_price_per_1k: Mapped[Decimal] = mapped_column(Numeric(10, 6))
    effective_date: Mapped[datetime] = mapped_column(server_default=NOW_DEFAULT)


class PromptAnalysis(Base):
    """Optimisation findings for one event; deleted with it."""

    __tablename__ = "prompt_analysis"
    __table_args__ = (
        Index("idx_prompt_analysis_event", "event_id"),
        *_non_negative("input_token_ratio"),
        CheckConstraint("redundancy_score BETWEEN 0 AND 1", name="redundancy_score_range"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    input_token_ratio: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))
    redundancy_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 4))
    suggestions: Mapped[list[str] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = _created_at()

    event: Mapped[Event] = relationship(back_populates="analyses")


class PromptEmbedding(Base):
    """The embedding of one event's prompt, for similarity (HNSW) and duplicate (hash) lookup.

    The HNSW index uses ``vector_cosine_ops``: query with ``embedding <=> :query`` (cosine
    distance), ``ORDER BY`` it and ``LIMIT k``; other operators cannot use the index. Build
    parameters are pgvector's defaults (m=16, ef_construction=64), written out so that a change
    of pgvector's defaults cannot change the index silently.
    """

    __tablename__ = "prompt_embeddings"
    __table_args__ = (
        Index("idx_prompt_embeddings_event", "event_id", unique=True),
        Index("idx_prompt_embeddings_hash", "prompt_hash"),
        Index(
            "idx_prompt_embeddings_hnsw",
            "embedding",
            postgresql_using="hnsw",
            postgresql_with={"m": 16, "ef_construction": 64},
            postgresql_ops={"embedding": "vector_cosine_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    embedding: Mapped[list[float]] = mapped_column(VECTOR(EMBEDDING_DIMENSIONS))
    prompt_hash: Mapped[str]
    created_at: Mapped[datetime] = _created_at()

    event: Mapped[Event] = relationship(back_populates="embedding")


class CostAggregate(Base):
    """Hourly or daily roll-up of cost, tokens, calls and latency per project/feature/model.

    Limits kept from the spec: ``total_tokens`` and ``call_count`` are ``integer`` and overflow
    at 2,147,483,647 per period and key (about 600k tokens/s sustained for an hour, or 25k/s for
    a day): an aggregator that can exceed that must split the key or the period.
    ``total_cost`` is ``numeric(12,6)``: at most $999,999.999999 per period and key.
    """

    __tablename__ = "cost_aggregates"
    __table_args__ = (
        Index(
            "idx_cost_agg_uniq",
            "project_id",
            "feature",
            "model",
            "period",
            "period_start",
            unique=True,
        ),
        Index("idx_cost_agg_period", "project_id", "period", "period_start"),
        CheckConstraint("period IN ('hour', 'day')", name="period_valid"),
        *_non_negative("total_cost", "total_tokens", "call_count", "avg_latency"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    project_id: Mapped[str] = mapped_column(server_default=text("'default'"))
    feature: Mapped[str]
    model: Mapped[str]
    period: Mapped[str] = mapped_column(doc="'hour' | 'day'")
    period_start: Mapped[datetime]
    total_cost: Mapped[Decimal] = mapped_column(Numeric(12, 6), server_default=text("'0'"))
    total_tokens: Mapped[int] = mapped_column(server_default=text("0"))
    call_count: Mapped[int] = mapped_column(server_default=text("0"))
    avg_latency: Mapped[Decimal] = mapped_column(Numeric(10, 2), server_default=text("'0'"))


metadata = Base.metadata
"""The schema's metadata: what Alembic migrates to and what the health probe expects."""
