"""Schema v2: billed usage on events, cache and tier prices, cost in SQL, UUIDv7 ids.

Additive and quick on a large ``events``: every new column is nullable or has a constant
default (a catalog-only change since PostgreSQL 11), every new CHECK is added ``NOT VALID``
(no scan under the ``ACCESS EXCLUSIVE`` lock; revision 0003 validates them under a lock that
lets reads and writes go on) and constrains only new columns, and ``ALTER TABLE events`` is
one statement so the lock is taken once. The index on ``(project_id, created_at)`` is built
``CONCURRENTLY`` by 0004, outside a transaction.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 03:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# PostgreSQL 18 has uuidv7() (monotonic within a backend); before it, the RFC 9562 layout
# from a millisecond timestamp over gen_random_uuid()'s random bits, version nibble set to 7.
UUIDV7_FUNCTION = """
DO $do$
BEGIN
  IF current_setting('server_version_num')::int >= 180000 THEN
    CREATE FUNCTION costdb_uuidv7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE
      AS 'SELECT uuidv7()';
  ELSE
    CREATE FUNCTION costdb_uuidv7() RETURNS uuid LANGUAGE sql VOLATILE PARALLEL SAFE AS $fn$
      SELECT encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
          PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint)
          FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid
    $fn$;
  END IF;
END
$do$
"""

EVENT_COLUMNS = """
ALTER TABLE events
  ALTER COLUMN id SET DEFAULT costdb_uuidv7(),
  ADD COLUMN cache_write_tokens integer NOT NULL DEFAULT 0,
  ADD COLUMN reasoning_tokens integer NOT NULL DEFAULT 0,
  ADD COLUMN status text NOT NULL DEFAULT 'ok',
  ADD COLUMN error_type text,
  ADD COLUMN time_to_first_token_ms integer,
  ADD COLUMN operation text NOT NULL DEFAULT 'chat',
  ADD CONSTRAINT events_cache_write_tokens_nonnegative_check
    CHECK (cache_write_tokens >= 0) NOT VALID,
  ADD CONSTRAINT events_reasoning_tokens_nonnegative_check
    CHECK (reasoning_tokens >= 0) NOT VALID,
  ADD CONSTRAINT events_cache_tokens_within_input_check
    CHECK (cache_write_tokens = 0 OR cached_tokens::bigint + cache_write_tokens <= input_tokens)
    NOT VALID,
  ADD CONSTRAINT events_reasoning_within_output_check
    CHECK (reasoning_tokens <= output_tokens) NOT VALID,
  ADD CONSTRAINT events_status_valid_check
    CHECK (status IN ('ok', 'error', 'cancelled')) NOT VALID,
  ADD CONSTRAINT events_error_type_needs_failure_check
    CHECK (error_type IS NULL OR status <> 'ok') NOT VALID,
  ADD CONSTRAINT events_time_to_first_token_range_check
    CHECK (time_to_first_token_ms BETWEEN 0 AND latency_ms) NOT VALID
"""

PRICING_COLUMNS = """
ALTER TABLE model_pricing
  ADD COLUMN cache_read_price_per_1k numeric(10,6),
  ADD COLUMN cache_write_price_per_1k numeric(10,6),
  ADD CONSTRAINT model_pricing_cache_read_price_per_1k_nonnegative_check
    CHECK (cache_read_price_per_1k >= 0) NOT VALID,
  ADD CONSTRAINT model_pricing_cache_write_price_per_1k_nonnegative_check
    CHECK (cache_write_price_per_1k >= 0) NOT VALID
"""

COMMENTS = {
    "events.input_tokens": (
        "all input tokens, cache reads and cache writes included (OpenTelemetry)"
    ),
    "events.output_tokens": "all output tokens, reasoning included",
    "events.cached_tokens": (
        "cache-read input tokens (gen_ai.usage.cache_read.input_tokens), in input_tokens"
    ),
    "events.cache_write_tokens": (
        "cache-write input tokens (gen_ai.usage.cache_creation.input_tokens), in input_tokens"
    ),
    "events.reasoning_tokens": "reasoning (thinking) tokens, in output_tokens",
    "events.status": "ok | error | cancelled",
    "events.error_type": "error class when status is not ok (OpenTelemetry error.type)",
    "events.time_to_first_token_ms": (
        "ms until the first output token (streaming); NULL when unknown"
    ),
    "events.operation": "gen_ai.operation.name: chat, text_completion, embeddings, ...",
    "model_pricing.cache_read_price_per_1k": (
        "USD per 1k cache-read tokens (events.cached_tokens); NULL: billed as fresh input"
    ),
    "model_pricing.cache_write_price_per_1k": (
        "USD per 1k cache-write tokens (events.cache_write_tokens); NULL: billed as fresh input"
    ),
}

# Exact: products of integers and numeric(10,6) are exact, and * 0.001 (not / 1000, whose
# result scale PostgreSQL chooses) keeps them exact before the one rounding, half away from
# zero, to the micro-dollar. Fresh input is what input_tokens holds beyond the cache reads and
# writes (never below zero: rows written before 0002 did not promise the convention).
USAGE_COST_FUNCTION = """
CREATE FUNCTION costdb_usage_cost(
  input_tokens integer, output_tokens integer,
  cache_read_tokens integer, cache_write_tokens integer,
  input_price_per_1k numeric, output_price_per_1k numeric,
  cache_read_price_per_1k numeric, cache_write_price_per_1k numeric
) RETURNS numeric LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT round((
      greatest(input_tokens::bigint - cache_read_tokens - cache_write_tokens, 0)
        * input_price_per_1k
    + cache_read_tokens::bigint * coalesce(cache_read_price_per_1k, input_price_per_1k)
    + cache_write_tokens::bigint * coalesce(cache_write_price_per_1k, input_price_per_1k)
    + output_tokens::bigint * output_price_per_1k) * 0.001, 6)
$fn$
"""

# Every price as a range of time and input size it applies to: a model_pricing row from its
# effective_date until the next row's of the same provider and model; within it, the base
# prices below the first tier's min_input_tokens and each tier up to the next one. A call is
# priced by the one range holding its (provider, model, created_at, input_tokens): the row
# with the latest effective_date not after the call and the tier with the largest minimum its
# input reaches. Ranges rather than a per-call lookup, so that pricing millions of events
# (the view, roll-ups) is one hash join on (provider, model) against a table of a few rows.
RATES_VIEW = """
CREATE VIEW costdb_rates AS
WITH prices AS (
  SELECT p.id, p.provider, p.model, p.effective_date AS valid_from,
         coalesce(lead(p.effective_date) OVER (PARTITION BY p.provider, p.model
                                               ORDER BY p.effective_date),
                  'infinity'::timestamptz) AS valid_until,
         p.input_price_per_1k, p.output_price_per_1k,
         p.cache_read_price_per_1k, p.cache_write_price_per_1k
  FROM model_pricing p
), tiers AS (
  SELECT t.pricing_id, t.min_input_tokens::bigint AS min_input_tokens,
         coalesce(lead(t.min_input_tokens) OVER (PARTITION BY t.pricing_id
                                                 ORDER BY t.min_input_tokens),
                  2147483648) AS max_input_tokens,
         t.input_price_per_1k, t.output_price_per_1k,
         t.cache_read_price_per_1k, t.cache_write_price_per_1k
  FROM model_pricing_tiers t
)
SELECT p.provider, p.model, p.valid_from, p.valid_until,
       0::bigint AS min_input_tokens,
       coalesce((SELECT min(t.min_input_tokens) FROM tiers t WHERE t.pricing_id = p.id),
                2147483648) AS max_input_tokens,
       p.input_price_per_1k, p.output_price_per_1k,
       p.cache_read_price_per_1k, p.cache_write_price_per_1k
FROM prices p
UNION ALL
SELECT p.provider, p.model, p.valid_from, p.valid_until, t.min_input_tokens, t.max_input_tokens,
       t.input_price_per_1k, t.output_price_per_1k,
       t.cache_read_price_per_1k, t.cache_write_price_per_1k
FROM prices p JOIN tiers t ON t.pricing_id = p.id
"""

# An event's cost at the price in effect at its time; NULL when no price is known then.
EVENT_COST_FUNCTION = """
CREATE FUNCTION costdb_event_cost(
  provider text, model text, at timestamptz,
  input_tokens integer, output_tokens integer,
  cache_read_tokens integer, cache_write_tokens integer
) RETURNS numeric LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
  SELECT (SELECT costdb_usage_cost($4, $5, $6, $7, r.input_price_per_1k, r.output_price_per_1k,
                                   r.cache_read_price_per_1k, r.cache_write_price_per_1k)
          FROM costdb_rates r
          WHERE r.provider = $1 AND r.model = $2 AND $3 >= r.valid_from AND $3 < r.valid_until
            AND $4 >= r.min_input_tokens AND $4 < r.max_input_tokens)
$fn$
"""

EVENTS_WITH_COST_VIEW = """
CREATE VIEW events_with_cost AS
SELECT e.*, c.computed_cost_usd, e.estimated_cost_usd - c.computed_cost_usd AS cost_drift_usd
FROM events e
LEFT JOIN costdb_rates r
  ON r.provider = e.provider AND r.model = e.model
 AND e.created_at >= r.valid_from AND e.created_at < r.valid_until
 AND e.input_tokens >= r.min_input_tokens AND e.input_tokens < r.max_input_tokens
CROSS JOIN LATERAL (
  SELECT costdb_usage_cost(e.input_tokens, e.output_tokens, e.cached_tokens,
                           e.cache_write_tokens, r.input_price_per_1k, r.output_price_per_1k,
                           r.cache_read_price_per_1k, r.cache_write_price_per_1k)
           AS computed_cost_usd) c
"""


def _price_column(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Numeric(precision=10, scale=6), nullable=True)


def upgrade() -> None:
    op.execute(UUIDV7_FUNCTION)
    op.execute(EVENT_COLUMNS)
    op.execute(PRICING_COLUMNS)
    for column, comment in COMMENTS.items():
        op.execute(f"COMMENT ON COLUMN {column} IS '{comment}'")
    op.create_table(
        "model_pricing_tiers",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("pricing_id", sa.UUID(), nullable=False),
        sa.Column("min_input_tokens", sa.Integer(), nullable=False),
        sa.Column("input_price_per_1k", sa.Numeric(precision=10, scale=6), nullable=False),
        sa.Column("output_price_per_1k", sa.Numeric(precision=10, scale=6), nullable=False),
        _price_column("cache_read_price_per_1k"),
        _price_column("cache_write_price_per_1k"),
        sa.CheckConstraint(
            "min_input_tokens > 0", name=op.f("model_pricing_tiers_min_input_tokens_positive_check")
        ),
        *(
            sa.CheckConstraint(
                f"{price} >= 0", name=op.f(f"model_pricing_tiers_{price}_nonnegative_check")
            )
            for price in (
                "input_price_per_1k",
                "output_price_per_1k",
                "cache_read_price_per_1k",
                "cache_write_price_per_1k",
            )
        ),
        sa.ForeignKeyConstraint(
            ["pricing_id"],
            ["model_pricing.id"],
            name=op.f("model_pricing_tiers_pricing_id_model_pricing_id_fk"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("model_pricing_tiers_pkey")),
    )
    for price in ("cache_read_price_per_1k", "cache_write_price_per_1k"):
        comment = COMMENTS[f"model_pricing.{price}"]
        op.execute(f"COMMENT ON COLUMN model_pricing_tiers.{price} IS '{comment}'")
    # The table is new and empty: no concurrent build needed.
    op.create_index(
        "idx_model_pricing_tiers_uniq",
        "model_pricing_tiers",
        ["pricing_id", "min_input_tokens"],
        unique=True,
    )
    op.execute(USAGE_COST_FUNCTION)
    op.execute(RATES_VIEW)
    op.execute(EVENT_COST_FUNCTION)
    op.execute(EVENTS_WITH_COST_VIEW)


def downgrade() -> None:
    op.execute("DROP VIEW events_with_cost")
    op.execute("DROP VIEW costdb_rates")
    op.execute(
        "DROP FUNCTION costdb_event_cost(text, text, timestamptz, integer, integer, integer,"
        " integer)"
    )
    op.execute(
        "DROP FUNCTION costdb_usage_cost(integer, integer, integer, integer, numeric, numeric,"
        " numeric, numeric)"
    )
    op.drop_index("idx_model_pricing_tiers_uniq", table_name="model_pricing_tiers")
    op.drop_table("model_pricing_tiers")
    op.execute(
        "ALTER TABLE model_pricing DROP COLUMN cache_read_price_per_1k,"
        " DROP COLUMN cache_write_price_per_1k"
    )
    for column in ("input_tokens", "output_tokens", "cached_tokens"):
        op.execute(f"COMMENT ON COLUMN events.{column} IS NULL")
    op.execute(
        "ALTER TABLE events ALTER COLUMN id SET DEFAULT gen_random_uuid(),"
        " DROP COLUMN cache_write_tokens, DROP COLUMN reasoning_tokens, DROP COLUMN status,"
        " DROP COLUMN error_type, DROP COLUMN time_to_first_token_ms, DROP COLUMN operation"
    )
    op.execute("DROP FUNCTION costdb_uuidv7()")
