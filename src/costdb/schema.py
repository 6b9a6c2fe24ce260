"""The costdb schema: SQLAlchemy 2 models, the one source of truth for tables and indexes.

Names, column types, nullability, server defaults and index names follow the Drizzle schema of
``phase-2b-database-schema.md`` exactly, so a client written against that schema works against
this database unchanged. What is added is stated where it is added:

- CHECK constraints that no valid row violates (non-negative counts, costs and latencies;
  ``period`` in ('hour', 'day'); ``redundancy_score`` in [0, 1]; every money, price and ratio
  column finite, neither NaN nor +-Infinity, since revision 0012) — they turn corrupt writes
  into errors instead of wrong invoices.
- ``idx_events_created_at`` is BRIN, as the spec's key insights ask (append-only data): a
  fraction of a btree's size; range scans on ``created_at`` read only matching block ranges.
- ``prompt_embeddings`` (the spec names its columns only): one embedding per event, an index on
  ``prompt_hash`` for exact duplicates and an HNSW index for cosine similarity search.
- Schema v2 (revisions 0002 to 0005), additive: the usage providers bill (cache writes,
  reasoning, status, time to first token, operation) on ``events``; cache prices on
  ``model_pricing``; long-context tiers in ``model_pricing_tiers``; ``events.id`` defaults to a
  time-ordered UUID version 7; ``idx_events_project_time``. Every new column is nullable or has
  a default, and every new CHECK constrains a new column only, so a client written against the
  spec never sees a new error. The cost functions and the ``events_with_cost`` view live in the
  migrations (``costdb.prices.pricing`` is the same computation in Python).

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
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from costdb import defaults

REQUIRED_EXTENSIONS = {"vector": "0.8.0"}
"""Extensions the schema needs, with the oldest usable version (HNSW arrived in pgvector 0.5.0;
the similar-prompts function needs 0.8.0's iterative index scans)."""

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
TIME_ORDERED_UUID_DEFAULT = text("costdb_uuidv7()")
"""UUID version 7 (RFC 9562): PostgreSQL 18's ``uuidv7()`` where the server has it, otherwise a
SQL function; revision 0002 creates ``costdb_uuidv7()`` either way, so the default reads the
same on every server."""
EVENT_STATUSES = ("ok", "error", "cancelled")
NOW_DEFAULT = text("now()")
PRICE_SOURCES = ("manual", "genai-prices")
"""Where a price row or a resolved name came from: typed by a person or a client (wins), or
``costdb prices sync``."""


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


def _uuid_pk(default: Any = UUID_DEFAULT) -> Mapped[uuid.UUID]:
    return mapped_column(primary_key=True, server_default=default)


def _created_at() -> Mapped[datetime]:
    return mapped_column(server_default=NOW_DEFAULT)


def _non_negative(*columns: str) -> list[CheckConstraint]:
    return [CheckConstraint(f"{column} >= 0", name=f"{column}_nonnegative") for column in columns]


FINITE_SQL = "abs({column}) < 'Infinity'"
"""True for every number, false for NaN and for +-Infinity: ``numeric`` admits all three, and
NaN sorts above every number, so ``x >= 0`` alone lets it through (and one NaN makes every sum
it joins NaN). NULL passes, as in every CHECK."""


def _finite(*columns: str) -> list[CheckConstraint]:
    return [
        CheckConstraint(FINITE_SQL.format(column=column), name=f"{column}_finite")
        for column in columns
    ]


def _price(comment: str | None = None, *, nullable: bool = False) -> Mapped[Any]:
    """USD per 1k tokens, an unconstrained ``numeric`` since revision 0007: every published
    price stored exactly as written (the spec's ``numeric(10,6)`` rounded the cheapest ones)."""
    return mapped_column(Numeric(), nullable=nullable, comment=comment)


PRICE_COLUMNS = (
    "input_price_per_1k",
    "output_price_per_1k",
    "cache_read_price_per_1k",
    "cache_write_price_per_1k",
)
CACHE_READ_PRICE_COMMENT = (
    "USD per 1k cache-read tokens (events.cached_tokens); NULL: billed as fresh input"
)
CACHE_WRITE_PRICE_COMMENT = (
    "USD per 1k cache-write tokens (events.cache_write_tokens); NULL: billed as fresh input"
)


class Event(Base):
    """One LLM call: tokens, latency and cost, append-only.

    Token counts follow the OpenTelemetry GenAI conventions: ``input_tokens`` includes the
    cache reads (``cached_tokens``) and cache writes (``cache_write_tokens``);
    ``output_tokens`` includes ``reasoning_tokens``. The CHECKs enforce that where a new
    column is used (a row that leaves the new columns at their defaults is checked exactly as
    the spec's client expects, nothing more).

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
        Index("idx_events_project_time", "project_id", "created_at"),
        *_non_negative(
            "input_tokens",
            "output_tokens",
            "cached_tokens",
            "latency_ms",
            "estimated_cost_usd",
            "verified_cost_usd",
            "cache_write_tokens",
            "reasoning_tokens",
        ),
        *_finite("estimated_cost_usd", "verified_cost_usd"),
        CheckConstraint(
            "cache_write_tokens = 0 OR cached_tokens::bigint + cache_write_tokens <= input_tokens",
            name="cache_tokens_within_input",
        ),
        CheckConstraint("reasoning_tokens <= output_tokens", name="reasoning_within_output"),
        CheckConstraint(
            f"status IN ({', '.join(repr(status) for status in EVENT_STATUSES)})",
            name="status_valid",
        ),
        CheckConstraint("error_type IS NULL OR status <> 'ok'", name="error_type_needs_failure"),
        CheckConstraint(
            "time_to_first_token_ms BETWEEN 0 AND latency_ms", name="time_to_first_token_range"
        ),
    )

    id: Mapped[uuid.UUID] = _uuid_pk(TIME_ORDERED_UUID_DEFAULT)
    trace_id: Mapped[str]
    span_id: Mapped[str]
    parent_span_id: Mapped[str | None]
    project_id: Mapped[str] = mapped_column(server_default=text("'default'"))
    feature: Mapped[str]
    user_id: Mapped[str | None]
    provider: Mapped[str] = mapped_column(doc="'openai' | 'anthropic'")
    model: Mapped[str]
    input_tokens: Mapped[int] = mapped_column(
        comment="all input tokens, cache reads and cache writes included (OpenTelemetry)"
    )
    output_tokens: Mapped[int] = mapped_column(comment="all output tokens, reasoning included")
    cached_tokens: Mapped[int] = mapped_column(
        server_default=text("0"),
        comment="cache-read input tokens (gen_ai.usage.cache_read.input_tokens), in input_tokens",
    )
    latency_ms: Mapped[int]
    estimated_cost_usd: Mapped[Decimal] = mapped_column(Numeric(12, 6))
    verified_cost_usd: Mapped[Decimal | None] = mapped_column(Numeric(12, 6))
    is_cache_hit: Mapped[bool] = mapped_column(server_default=text("false"))
    # The column is "metadata", a name SQLAlchemy's declarative base reserves: the attribute
    # is metadata_, the column keeps the spec's name.
    metadata_: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSONB)
    created_at: Mapped[datetime] = _created_at()
    cache_write_tokens: Mapped[int] = mapped_column(
        server_default=text("0"),
        comment=(
            "cache-write input tokens (gen_ai.usage.cache_creation.input_tokens), in input_tokens"
        ),
    )
    reasoning_tokens: Mapped[int] = mapped_column(
        server_default=text("0"), comment="reasoning (thinking) tokens, in output_tokens"
    )
    status: Mapped[str] = mapped_column(
        server_default=text("'ok'"), comment="ok | error | cancelled"
    )
    error_type: Mapped[str | None] = mapped_column(
        comment="error class when status is not ok (OpenTelemetry error.type)"
    )
    time_to_first_token_ms: Mapped[int | None] = mapped_column(
        comment="ms until the first output token (streaming); NULL when unknown"
    )
    operation: Mapped[str] = mapped_column(
        server_default=text("'chat'"),
        comment="gen_ai.operation.name: chat, text_completion, embeddings, ...",
    )

    analyses: Mapped[list[PromptAnalysis]] = relationship(
        back_populates="event", passive_deletes=True
    )
    embedding: Mapped[PromptEmbedding | None] = relationship(
        back_populates="event", passive_deletes=True
    )


class ModelPricing(Base):
    """A provider's price for a model from ``effective_date`` on; new rows, never updates.

    An event is priced by the row of its provider and model with the latest
    ``effective_date`` not after the event's ``created_at``; above an input size, by that row's
    tier in ``model_pricing_tiers``. Reasoning tokens are output tokens and priced as such.
    """

    __tablename__ = "model_pricing"
    __table_args__ = (
        Index("idx_model_pricing_uniq", "provider", "model", "effective_date", unique=True),
        *_non_negative(*PRICE_COLUMNS),
        *_finite(*PRICE_COLUMNS),
        CheckConstraint(f"source IN {PRICE_SOURCES!r}", name="source_valid"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    provider: Mapped[str]
    model: Mapped[str]
    input_price_per_1k: Mapped[Decimal] = _price()
    output_price_per_1k: Mapped[Decimal] = _price()
    effective_date: Mapped[datetime] = mapped_column(server_default=NOW_DEFAULT)
    cache_read_price_per_1k: Mapped[Decimal | None] = _price(
        CACHE_READ_PRICE_COMMENT, nullable=True
    )
    cache_write_price_per_1k: Mapped[Decimal | None] = _price(
        CACHE_WRITE_PRICE_COMMENT, nullable=True
    )
    source: Mapped[str] = mapped_column(
        server_default=text("'manual'"),
        comment="manual (typed or written by a client) or genai-prices (costdb prices sync)",
    )

    tiers: Mapped[list[ModelPricingTier]] = relationship(
        back_populates="pricing", passive_deletes=True
    )


class ModelPricingTier(Base):
    """Long-context prices of one ``model_pricing`` row, from ``min_input_tokens`` up.

    A call whose ``input_tokens`` (cache reads and writes included) reach ``min_input_tokens``
    is priced entirely at the tier with the largest such minimum, as Gemini's and Anthropic's
    long-context prices are (e.g. Gemini 2.5 Pro above 200k: ``min_input_tokens`` 200001). Tiers
    have their own table because they cannot join the spec's unique key on ``model_pricing``.
    """

    __tablename__ = "model_pricing_tiers"
    __table_args__ = (
        Index("idx_model_pricing_tiers_uniq", "pricing_id", "min_input_tokens", unique=True),
        CheckConstraint("min_input_tokens > 0", name="min_input_tokens_positive"),
        *_non_negative(*PRICE_COLUMNS),
        *_finite(*PRICE_COLUMNS),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    pricing_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("model_pricing.id", ondelete="CASCADE")
    )
    min_input_tokens: Mapped[int]
    input_price_per_1k: Mapped[Decimal] = _price()
    output_price_per_1k: Mapped[Decimal] = _price()
    cache_read_price_per_1k: Mapped[Decimal | None] = _price(
        CACHE_READ_PRICE_COMMENT, nullable=True
    )
    cache_write_price_per_1k: Mapped[Decimal | None] = _price(
        CACHE_WRITE_PRICE_COMMENT, nullable=True
    )

    pricing: Mapped[ModelPricing] = relationship(back_populates="tiers")


class ModelName(Base):
    """Which price rows a (provider, model) as events record it is priced by, and why.

    ``costdb prices sync`` and ``costdb rollup`` resolve each distinct name once (a dated or
    provider-prefixed name to the model it is, by the price list's own match rules); a row
    with ``source = 'manual'`` is never replaced. An event whose name has no row is priced by
    rows of its own name.
    """

    __tablename__ = "costdb_model_names"
    __table_args__ = (CheckConstraint(f"source IN {PRICE_SOURCES!r}", name="source_valid"),)

    provider: Mapped[str] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(primary_key=True)
    priced_provider: Mapped[str]
    priced_model: Mapped[str]
    rule: Mapped[str]
    source: Mapped[str] = mapped_column(server_default=text("'manual'"))
    resolved_at: Mapped[datetime] = mapped_column(server_default=NOW_DEFAULT)


MATCH_LOOKUPS = ("provider", "maker", "model")
MATCH_KINDS = ("equals", "starts_with", "ends_with", "contains", "regex")


class ModelMatchRule(Base):
    """One term of the price list's match rules, as ``costdb prices sync`` stores them
    (``costdb.prices.match_rules``): what ``costdb_match_model_name()`` applies, so that a
    name is priced from its first call. Replaced whole by each sync whose list changed them."""

    __tablename__ = "costdb_model_match_rules"
    __table_args__ = (
        CheckConstraint(f"lookup IN {MATCH_LOOKUPS!r}", name="lookup_valid"),
        CheckConstraint(f"kind IN {MATCH_KINDS!r}", name="kind_valid"),
    )

    lookup: Mapped[str] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True)
    alternative: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str]
    pattern: Mapped[str]
    priced_provider: Mapped[str]
    priced_model: Mapped[str]
    list_label: Mapped[str]


class Repricing(Base):
    """Roll-up periods to recompute: a (provider, model)'s prices or name changed from
    ``effective_from`` on. ``costdb prices sync`` and name resolution record it; ``costdb
    rollup`` recomputes the closed periods of the affected days of its ``period``, then
    deletes the row (unless it was recorded again meanwhile: ``recorded_at`` moved)."""

    __tablename__ = "costdb_repricing"
    __table_args__ = (CheckConstraint("period IN ('hour', 'day')", name="period_valid"),)

    period: Mapped[str] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(primary_key=True)
    effective_from: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(server_default=text("clock_timestamp()"))


class PromptAnalysis(Base):
    """Optimisation findings for one event; deleted with it."""

    __tablename__ = "prompt_analysis"
    __table_args__ = (
        Index("idx_prompt_analysis_event", "event_id"),
        *_non_negative("input_token_ratio"),
        *_finite("input_token_ratio"),
        CheckConstraint("redundancy_score BETWEEN 0 AND 1", name="redundancy_score_range"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    input_token_ratio: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))
    redundancy_score: Mapped[Decimal | None] = mapped_column(Numeric(5, 4))
    suggestions: Mapped[list[str] | None] = mapped_column(JSONB, info={"typescript": "string[]"})
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
        *_finite("total_cost", "avg_latency"),
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


_THRESHOLDS = ",".join(str(percent) for percent in defaults.BUDGET_ALERT_THRESHOLDS)


class Budget(Base):
    """A spending limit per period for a project, a project's feature or a project's user
    (``feature`` and ``user_id`` never both set), in the budget's time zone; one per scope and
    period. ``costdb_budget_status()`` and the ``budget_status`` view read it; ``costdb budgets
    check`` alerts at each threshold (percent of the limit, ascending, in (0, 100])."""

    __tablename__ = "budgets"
    __table_args__ = (
        UniqueConstraint(
            "project_id", "feature", "user_id", "period", postgresql_nulls_not_distinct=True
        ),
        CheckConstraint("feature IS NULL OR user_id IS NULL", name="one_scope"),
        CheckConstraint(f"period IN {defaults.BUDGET_PERIODS!r}", name="period_valid"),
        CheckConstraint("limit_usd > 0", name="limit_positive"),
        *_finite("limit_usd"),
        CheckConstraint("costdb_thresholds_valid(alert_thresholds)", name="thresholds_valid"),
        CheckConstraint(
            "(timestamptz '2000-01-01 00:00+00' AT TIME ZONE time_zone) IS NOT NULL",
            name="time_zone_valid",
        ),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    project_id: Mapped[str]
    feature: Mapped[str | None]
    user_id: Mapped[str | None]
    period: Mapped[str] = mapped_column(doc="'day' | 'week' | 'month'")
    time_zone: Mapped[str] = mapped_column(server_default=text("'UTC'"))
    limit_usd: Mapped[Decimal] = mapped_column(Numeric())
    alert_thresholds: Mapped[list[Decimal]] = mapped_column(
        ARRAY(Numeric()), server_default=text(f"'{{{_THRESHOLDS}}}'")
    )
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    created_at: Mapped[datetime] = _created_at()
    updated_at: Mapped[datetime] = _created_at()


class BudgetAlert(Base):
    """A threshold of a budget crossed in one period: recorded once (the unique key), with the
    spend and the limit when it fired, then delivered by ``costdb budgets check`` (a webhook,
    at least once: ``attempts``, ``next_attempt_at``, ``last_error``)."""

    __tablename__ = "budget_alerts"
    __table_args__ = (
        Index(
            "idx_budget_alerts_once", "budget_id", "period_start", "threshold_percent", unique=True
        ),
        Index(
            "idx_budget_alerts_pending",
            "next_attempt_at",
            postgresql_where=text("delivered_at IS NULL"),
        ),
        *_non_negative("attempts"),
        *_finite("threshold_percent", "spend_usd", "limit_usd"),
    )

    id: Mapped[uuid.UUID] = _uuid_pk()
    budget_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("budgets.id", ondelete="CASCADE"))
    period_start: Mapped[datetime]
    threshold_percent: Mapped[Decimal] = mapped_column(Numeric())
    spend_usd: Mapped[Decimal] = mapped_column(Numeric())
    limit_usd: Mapped[Decimal] = mapped_column(Numeric())
    fired_at: Mapped[datetime] = _created_at()
    delivered_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(server_default=text("0"))
    next_attempt_at: Mapped[datetime] = _created_at()
    last_error: Mapped[str | None]


SPEND_SCOPES = ("project", "feature", "user", "model")


class SpendHourly(Base):
    """Spend and calls per UTC hour of a project (``scope_key`` empty), of a project's
    feature, of a project's user and of a project's model: written by the hourly roll-up
    beside ``cost_aggregates`` (which has no user and rounds), read by the budget functions
    and ``costdb_spend_by``."""

    __tablename__ = "costdb_spend_hourly"
    __table_args__ = (
        CheckConstraint(f"scope IN {SPEND_SCOPES!r}", name="scope_valid"),
        *_finite("cost_usd"),
        Index("idx_costdb_spend_hourly_scope_project_hour", "scope", "project_id", "hour"),
    )

    project_id: Mapped[str] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(primary_key=True)
    scope_key: Mapped[str] = mapped_column(primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    cost_usd: Mapped[Decimal] = mapped_column(Numeric())
    calls: Mapped[int] = mapped_column(BigInteger())


class RollupCoverage(Base):
    """Per period kind, the one contiguous range the roll-ups have written (for ``hour``, up
    to the last run, the hour in progress included in ``costdb_spend_hourly``): a reader takes
    that range from the roll-ups and everything else from ``events``."""

    __tablename__ = "costdb_rollup_coverage"
    __table_args__ = (
        CheckConstraint("period IN ('hour', 'day')", name="period_valid"),
        CheckConstraint("covered_from < covered_until", name="range"),
    )

    period: Mapped[str] = mapped_column(primary_key=True)
    covered_from: Mapped[datetime]
    covered_until: Mapped[datetime]


class BackupRecord(Base):
    """A pgBackRest backup that completed, as ``costdb backup`` recorded it right after: how a
    probe that reaches only the database knows the age of the last backup."""

    __tablename__ = "costdb_backups"
    __table_args__ = (
        CheckConstraint("type IN ('full', 'diff', 'incr')", name="type_valid"),
        CheckConstraint("started_at <= finished_at", name="order"),
        Index("idx_costdb_backups_finished", "finished_at"),
    )

    label: Mapped[str] = mapped_column(primary_key=True)
    type: Mapped[str]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    database_bytes: Mapped[int] = mapped_column(BigInteger())
    repository_bytes: Mapped[int] = mapped_column(BigInteger())


metadata = Base.metadata
"""The schema's metadata: what Alembic migrates to and what the health probe expects."""
