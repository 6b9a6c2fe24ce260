"""Exact prices, where each price came from, and the names providers report resolved once.

Prices: every price column becomes an unconstrained ``numeric``. ``numeric(10,6)`` per 1k
tokens rounds $0.0375 per million (0.0000375 per 1k) to 0.000038, +1.3 %, and a fixed wider
scale would either still round some published price (the public lists carry up to 18 decimals
per million) or pad every price with zeros a client then reads back. An unconstrained numeric
stores each value exactly as written ("0.002500" stays "0.002500") and the cost functions were
already exact over any numeric. Removing a numeric's typmod is a catalog-only change (no table
rewrite); the two views that read the columns are dropped and created again around it.

``model_pricing.source``: ``manual`` (the default: every row a person or the spec's client
writes) or ``genai-prices`` (``costdb prices sync``). A sync never changes or shadows a model
that has a manual row.

``costdb_model_names``: which price row a (provider, model) as recorded on events resolves to,
and why (``rule``). ``costdb prices sync`` and ``costdb rollup`` fill it once per distinct
name; a row with ``source = 'manual'`` is never replaced. The cost view and ``costdb_event_cost``
price an event by its resolved name, or by its own name where none is recorded.

``costdb_repricing``: per roll-up period kind, the (provider, model) whose prices or name
changed and from when; the writers (``costdb prices sync``, name resolution) record it and
``costdb rollup`` recomputes the closed periods of the days it affects, then clears it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 03:00:00
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRICE_COLUMNS = (
    "input_price_per_1k",
    "output_price_per_1k",
    "cache_read_price_per_1k",
    "cache_write_price_per_1k",
)

MODEL_NAMES_TABLE = """
CREATE TABLE costdb_model_names (
  provider text NOT NULL,
  model text NOT NULL,
  priced_provider text NOT NULL,
  priced_model text NOT NULL,
  rule text NOT NULL,
  source text NOT NULL DEFAULT 'manual',
  resolved_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT costdb_model_names_pkey PRIMARY KEY (provider, model),
  CONSTRAINT costdb_model_names_source_valid_check
    CHECK (source IN ('manual', 'genai-prices'))
)
"""

# One call's cost: the price rows of its resolved name (else its own), the row with the latest
# effective_date not after the call and its tier with the largest minimum the input reaches;
# the same answer as the cost view's ranges (costdb_rates), but read through the unique indexes
# on (provider, model, effective_date) and (pricing_id, min_input_tokens): a call costs two
# index probes however long the price list, where the ranges view sorts every price.
REPRICING_TABLE = """
CREATE TABLE costdb_repricing (
  period text NOT NULL,
  provider text NOT NULL,
  model text NOT NULL,
  effective_from timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  CONSTRAINT costdb_repricing_pkey PRIMARY KEY (period, provider, model),
  CONSTRAINT costdb_repricing_period_valid_check CHECK (period IN ('hour', 'day'))
)
"""

EVENT_COST_FUNCTION = """
CREATE OR REPLACE FUNCTION costdb_event_cost(
  provider text, model text, at timestamptz,
  input_tokens integer, output_tokens integer,
  cache_read_tokens integer, cache_write_tokens integer
) RETURNS numeric LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
  WITH named AS (
    SELECT coalesce(n.priced_provider, $1) AS provider, coalesce(n.priced_model, $2) AS model
    FROM (SELECT) AS one
    LEFT JOIN costdb_model_names n ON n.provider = $1 AND n.model = $2
  ), price AS (
    SELECT p.id, p.input_price_per_1k, p.output_price_per_1k,
           p.cache_read_price_per_1k, p.cache_write_price_per_1k
    FROM named JOIN model_pricing p ON p.provider = named.provider AND p.model = named.model
    WHERE p.effective_date <= $3
    ORDER BY p.effective_date DESC
    LIMIT 1
  ), tier AS (
    SELECT t.input_price_per_1k, t.output_price_per_1k,
           t.cache_read_price_per_1k, t.cache_write_price_per_1k
    FROM price JOIN model_pricing_tiers t ON t.pricing_id = price.id
    WHERE t.min_input_tokens <= $4
    ORDER BY t.min_input_tokens DESC
    LIMIT 1
  )
  SELECT CASE WHEN tier.input_price_per_1k IS NULL
    THEN costdb_usage_cost($4, $5, $6, $7, price.input_price_per_1k, price.output_price_per_1k,
                           price.cache_read_price_per_1k, price.cache_write_price_per_1k)
    ELSE costdb_usage_cost($4, $5, $6, $7, tier.input_price_per_1k, tier.output_price_per_1k,
                           tier.cache_read_price_per_1k, tier.cache_write_price_per_1k)
  END
  FROM price LEFT JOIN tier ON true
$fn$
"""

EVENTS_WITH_COST_VIEW = """
CREATE VIEW events_with_cost AS
SELECT e.*, c.computed_cost_usd, e.estimated_cost_usd - c.computed_cost_usd AS cost_drift_usd
FROM events e
LEFT JOIN costdb_model_names n ON n.provider = e.provider AND n.model = e.model
LEFT JOIN costdb_rates r
  ON r.provider = coalesce(n.priced_provider, e.provider)
 AND r.model = coalesce(n.priced_model, e.model)
 AND e.created_at >= r.valid_from AND e.created_at < r.valid_until
 AND e.input_tokens >= r.min_input_tokens AND e.input_tokens < r.max_input_tokens
CROSS JOIN LATERAL (
  SELECT costdb_usage_cost(e.input_tokens, e.output_tokens, e.cached_tokens,
                           e.cache_write_tokens, r.input_price_per_1k, r.output_price_per_1k,
                           r.cache_read_price_per_1k, r.cache_write_price_per_1k)
           AS computed_cost_usd) c
"""


def _v2() -> object:
    """0002's module: the views and the function this revision re-creates or restores."""
    script = context.script.get_revision("0002")
    if script is None:  # 0007 descends from 0002: it is always there
        raise RuntimeError("revision 0002 not found beside 0007")
    return script.module


# squawk's rules, answered where they do not apply (its ignore comments travel in the SQL):
# numeric(10,6) -> numeric removes a typmod, which PostgreSQL does without a rewrite (the
# downgrade's numeric(10,6) rewrites the two price tables: thousands of rows at most); the
# views dropped are costdb's own, re-created in the same transaction; the CHECK on a new column
# with a constant default scans a table of a few thousand rows.
RETYPE = "-- squawk-ignore changing-column-type\n"
DROP_OWN_VIEW = "-- squawk-ignore ban-drop-view\n"
SMALL_TABLE_CHECK = "-- squawk-ignore constraint-missing-not-valid\n"


def _retype_prices(type_: str) -> None:
    for table in ("model_pricing", "model_pricing_tiers"):
        changes = ", ".join(f"ALTER COLUMN {column} TYPE {type_}" for column in PRICE_COLUMNS)
        op.execute(f"{RETYPE}ALTER TABLE {table} {changes}")


def upgrade() -> None:
    v2 = _v2()
    op.execute(f"{DROP_OWN_VIEW}DROP VIEW events_with_cost")
    op.execute(f"{DROP_OWN_VIEW}DROP VIEW costdb_rates")
    _retype_prices("numeric")
    op.execute(
        f"{SMALL_TABLE_CHECK}ALTER TABLE model_pricing"
        " ADD COLUMN source text NOT NULL DEFAULT 'manual',"
        " ADD CONSTRAINT model_pricing_source_valid_check"
        " CHECK (source IN ('manual', 'genai-prices'))"
    )
    op.execute(
        "COMMENT ON COLUMN model_pricing.source IS"
        " 'manual (typed or written by a client) or genai-prices (costdb prices sync)'"
    )
    op.execute(MODEL_NAMES_TABLE)
    op.execute(REPRICING_TABLE)
    op.execute(v2.RATES_VIEW)  # type: ignore[attr-defined]
    op.execute(EVENT_COST_FUNCTION)
    op.execute(EVENTS_WITH_COST_VIEW)


def downgrade() -> None:
    """Back to 0006: prices rounded to numeric(10,6) again (they were stored exactly: the
    downgrade is lossy for prices finer than a millionth of a dollar per 1k tokens)."""
    v2 = _v2()
    op.execute(f"{DROP_OWN_VIEW}DROP VIEW events_with_cost")
    op.execute(f"{DROP_OWN_VIEW}DROP VIEW costdb_rates")
    op.execute("DROP TABLE costdb_repricing")
    op.execute("DROP TABLE costdb_model_names")
    op.execute("ALTER TABLE model_pricing DROP COLUMN source")
    _retype_prices("numeric(10,6)")
    op.execute(v2.RATES_VIEW)  # type: ignore[attr-defined]
    previous_cost = v2.EVENT_COST_FUNCTION  # type: ignore[attr-defined]
    op.execute(previous_cost.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.execute(v2.EVENTS_WITH_COST_VIEW)  # type: ignore[attr-defined]
