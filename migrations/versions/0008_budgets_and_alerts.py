"""Budgets and their alerts, and the hourly spend per scope that answers "how much so far?".

- ``budgets``: a limit in USD per period (``day``, ``week`` from Monday, ``month``; in the
  budget's IANA time zone, UTC by default) for a project, a project's feature or a project's
  user (``feature`` and ``user_id`` never both set), with ascending alert thresholds in
  percent of the limit. One budget per scope and period (a unique key, ``NULLS NOT DISTINCT``).
- ``budget_alerts``: a threshold crossed in one period, recorded once (the unique key) with the
  spend and limit when it fired, then delivered (``costdb budgets check``).
- ``costdb_spend_hourly``: spend and calls per project, per (project, feature) and per
  (project, user) and UTC hour, written by ``costdb rollup --period hour`` beside
  ``cost_aggregates`` (which has no user) from the same per-call costs, the hour in progress
  up to the run included; and ``costdb_rollup_coverage``: per period kind, the one contiguous
  range the roll-ups have written, so that a reader knows what it may take from them.
- ``costdb_budget_status(project, feature, user_id[, at])`` and the ``budget_status`` view: each
  applicable active budget's spend in its current period: the covered hours from
  ``costdb_spend_hourly`` plus, priced call by call with the cost view's rules, the calls
  outside them (the hour in progress, a period edge that is not on the hour). A handful of
  index probes per budget, however long the period.

``costdb_event_cost`` keeps its query and becomes PL/pgSQL (its plan kept for the session).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 06:00:00
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

THRESHOLDS_VALID_FUNCTION = """
CREATE FUNCTION costdb_thresholds_valid(thresholds numeric[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT array_ndims(thresholds) = 1 AND array_lower(thresholds, 1) = 1
     AND cardinality(thresholds) BETWEEN 1 AND 10
     AND NOT EXISTS (
       SELECT FROM unnest(thresholds) WITH ORDINALITY AS t(percent, position)
       WHERE percent IS NULL OR percent <= 0 OR percent > 100
          OR (position > 1 AND percent <= thresholds[position::integer - 1]))
$fn$
"""

BUDGETS_TABLE = """
CREATE TABLE budgets (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  project_id text NOT NULL,
  feature text,
  user_id text,
  period text NOT NULL,
  time_zone text NOT NULL DEFAULT 'UTC',
  limit_usd numeric NOT NULL,
  alert_thresholds numeric[] NOT NULL DEFAULT '{50,80,100}',
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT budgets_pkey PRIMARY KEY (id),
  CONSTRAINT budgets_project_id_feature_user_id_period_unique
    UNIQUE NULLS NOT DISTINCT (project_id, feature, user_id, period),
  CONSTRAINT budgets_one_scope_check CHECK (feature IS NULL OR user_id IS NULL),
  CONSTRAINT budgets_period_valid_check CHECK (period IN ('day', 'week', 'month')),
  CONSTRAINT budgets_limit_positive_check CHECK (limit_usd > 0),
  CONSTRAINT budgets_thresholds_valid_check CHECK (costdb_thresholds_valid(alert_thresholds)),
  CONSTRAINT budgets_time_zone_valid_check
    CHECK ((timestamptz '2000-01-01 00:00+00' AT TIME ZONE time_zone) IS NOT NULL)
)
"""

BUDGET_ALERTS_TABLE = """
CREATE TABLE budget_alerts (
  id uuid NOT NULL DEFAULT gen_random_uuid(),
  budget_id uuid NOT NULL,
  period_start timestamptz NOT NULL,
  threshold_percent numeric NOT NULL,
  spend_usd numeric NOT NULL,
  limit_usd numeric NOT NULL,
  fired_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz,
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error text,
  CONSTRAINT budget_alerts_pkey PRIMARY KEY (id),
  CONSTRAINT budget_alerts_budget_id_budgets_id_fk FOREIGN KEY (budget_id)
    REFERENCES budgets (id) ON DELETE CASCADE,
  CONSTRAINT budget_alerts_attempts_nonnegative_check CHECK (attempts >= 0)
)
"""

BUDGET_ALERTS_INDEXES = (
    "CREATE UNIQUE INDEX idx_budget_alerts_once"
    " ON budget_alerts (budget_id, period_start, threshold_percent)",
    "CREATE INDEX idx_budget_alerts_pending ON budget_alerts (next_attempt_at)"
    " WHERE delivered_at IS NULL",
)

SPEND_HOURLY_TABLE = """
CREATE TABLE costdb_spend_hourly (
  project_id text NOT NULL,
  scope text NOT NULL,
  scope_key text NOT NULL,
  hour timestamptz NOT NULL,
  cost_usd numeric NOT NULL,
  calls bigint NOT NULL,
  CONSTRAINT costdb_spend_hourly_pkey PRIMARY KEY (project_id, scope, scope_key, hour),
  CONSTRAINT costdb_spend_hourly_scope_valid_check CHECK (scope IN ('project', 'feature', 'user'))
)
"""

ROLLUP_COVERAGE_TABLE = """
CREATE TABLE costdb_rollup_coverage (
  period text NOT NULL,
  covered_from timestamptz NOT NULL,
  covered_until timestamptz NOT NULL,
  CONSTRAINT costdb_rollup_coverage_pkey PRIMARY KEY (period),
  CONSTRAINT costdb_rollup_coverage_period_valid_check CHECK (period IN ('hour', 'day')),
  CONSTRAINT costdb_rollup_coverage_range_check CHECK (covered_from < covered_until)
)
"""

# The period containing ``at`` in ``time_zone``: local midnight to local midnight (23 or 25
# hours on a daylight-saving day), Monday to Monday, first to first.
BUDGET_PERIOD_FUNCTION = """
CREATE FUNCTION costdb_budget_period(
  period text, time_zone text, at timestamptz,
  OUT period_start timestamptz, OUT period_end timestamptz
) LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
  SELECT s, (s AT TIME ZONE time_zone + ('1 ' || period)::interval) AT TIME ZONE time_zone
  FROM (SELECT date_trunc(period, at, time_zone) AS s) AS start
$fn$
"""

# A scope: a project (feature and user NULL), one of its features, or one of its users.
# Calls of a scope in [since, until), priced as the cost view prices them (its computed cost,
# else the client's estimate). One static query per kind of scope, each read through that
# scope's index on events and planned once per session (a generic plan over "feature IS NULL
# OR ..." could use no index; a query built per call is planned per call). On plain PostgreSQL
# each call is priced by costdb_event_cost (two index probes), not by the view's join, which
# ranks every stored price first (milliseconds with the public list stored, for the few calls
# since the last roll-up). On Citus the shards run the query, where a function that reads the
# price tables would be a distributed query nested in another: there the view's join prices.
PER_CALL_COST = (
    "costdb_event_cost(e.provider, e.model, e.created_at, e.input_tokens, e.output_tokens,"
    " e.cached_tokens, e.cache_write_tokens)"
)
SCOPE_FILTERS = (
    ("feature IS NOT NULL", " AND e.feature = feature"),
    ("user_id IS NOT NULL", " AND e.user_id = user_id"),
    (None, ""),
)


def _scope_queries(cost: str, source: str) -> str:
    """The IF over the kinds of scope, one static query each."""
    branches = []
    for keyword, (condition, scope_filter) in zip(
        ("IF", "ELSIF", "ELSE"), SCOPE_FILTERS, strict=True
    ):
        head = f"    {keyword} {condition} THEN" if condition else "    ELSE"
        branches.append(  # the module's own constants, no input
            f"{head}\n      SELECT sum(coalesce({cost}, e.estimated_cost_usd)) INTO spend"  # noqa: S608
            f" FROM {source} e\n      WHERE e.project_id = project AND e.created_at >= since"
            f" AND e.created_at < until{scope_filter};"
        )
    return "\n".join(branches) + "\n    END IF;"


SCOPE_CALLS_SPEND_FUNCTION = f"""
CREATE FUNCTION costdb_scope_calls_spend(
  project text, feature text, user_id text, since timestamptz, until timestamptz
) RETURNS numeric LANGUAGE plpgsql STABLE AS $fn$
#variable_conflict use_variable
DECLARE
  spend numeric;
BEGIN
  IF since >= until THEN
    RETURN 0;
  END IF;
  IF EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
{_scope_queries("e.computed_cost_usd", "events_with_cost")}
  ELSE
{_scope_queries(PER_CALL_COST, "events")}
  END IF;
  RETURN coalesce(spend, 0);
END
$fn$
"""

# A scope's spend in [since, until): what the hourly roll-up has covered from
# costdb_spend_hourly (the whole hours inside the range, and the hour in progress up to the
# coverage's end when the range reaches it), the calls before and after that priced one by one.
SCOPE_SPEND_FUNCTION = """
CREATE FUNCTION costdb_scope_spend(
  project text, feature text, user_id text, since timestamptz, until timestamptz
) RETURNS numeric LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  covered_from timestamptz;
  covered_until timestamptz;
  covered_hour timestamptz;
  from_hour timestamptz := date_trunc('hour', since, 'UTC');
  hours_from timestamptz;
  hours_until timestamptz;
  hours_spend numeric;
BEGIN
  SELECT c.covered_from, c.covered_until INTO covered_from, covered_until
  FROM costdb_rollup_coverage c WHERE c.period = 'hour';
  IF covered_from IS NULL THEN
    RETURN costdb_scope_calls_spend(project, feature, user_id, since, until);
  END IF;
  IF from_hour < since THEN
    from_hour := from_hour + interval '1 hour';
  END IF;
  covered_hour := date_trunc('hour', covered_until, 'UTC');
  hours_from := greatest(from_hour, covered_from);
  hours_until := least(date_trunc('hour', until, 'UTC'), covered_hour);  -- whole hours
  IF covered_until > covered_hour AND hours_until = covered_hour AND covered_until <= until THEN
    hours_until := covered_until;  -- and the hour in progress, as far as it is covered
  END IF;
  IF hours_from >= hours_until THEN
    RETURN costdb_scope_calls_spend(project, feature, user_id, since, until);
  END IF;
  SELECT coalesce(sum(h.cost_usd), 0) INTO hours_spend
  FROM costdb_spend_hourly h
  WHERE h.project_id = project
    AND h.scope = CASE WHEN feature IS NOT NULL THEN 'feature'
                       WHEN user_id IS NOT NULL THEN 'user' ELSE 'project' END
    AND h.scope_key = coalesce(feature, user_id, '')
    AND h.hour >= hours_from AND h.hour < hours_until;
  RETURN hours_spend
    + costdb_scope_calls_spend(project, feature, user_id, since, hours_from)
    + costdb_scope_calls_spend(project, feature, user_id, hours_until, until);
END
$fn$
"""

# One budget's state at ``at``: its current period, the spend so far, what remains. "warning"
# from the lowest alert threshold on, "exceeded" from the limit on. (A budget is passed as its
# columns: Citus refuses a function over a table's row type that a view over the same table
# uses, as a circular dependency.)
BUDGET_STATE_FUNCTION = """
CREATE FUNCTION costdb_budget_state(
  budget_id uuid, project_id text, feature text, user_id text, period text, time_zone text,
  limit_usd numeric, alert_thresholds numeric[], at timestamptz,
  OUT budget_id uuid, OUT project_id text, OUT feature text, OUT user_id text, OUT period text,
  OUT time_zone text, OUT period_start timestamptz, OUT period_end timestamptz,
  OUT limit_usd numeric, OUT spend_usd numeric, OUT remaining_usd numeric,
  OUT used_percent numeric, OUT state text
) LANGUAGE sql STABLE AS $fn$
  SELECT $1, $2, $3, $4, $5, $6, p.period_start, p.period_end, $7, s.spend, $7 - s.spend,
         round(100 * s.spend / $7, 2),
         CASE WHEN s.spend >= $7 THEN 'exceeded'
              WHEN 100 * s.spend >= $7 * $8[1] THEN 'warning'
              ELSE 'ok' END
  FROM costdb_budget_period($5, $6, $9) AS p
  CROSS JOIN LATERAL (
    -- OFFSET 0: computed once; pulled up, the call would be repeated for each use of spend
    SELECT costdb_scope_spend($2, $3, $4, p.period_start, $9) AS spend OFFSET 0
  ) AS s
$fn$
"""

# What a gateway asks before a call: the active budgets that apply to it (its project's, its
# feature's, its user's), each found through the unique index on the scope.
BUDGET_STATUS_FUNCTION = """
CREATE FUNCTION costdb_budget_status(
  call_project text, call_feature text DEFAULT NULL, call_user text DEFAULT NULL,
  at timestamptz DEFAULT now()
) RETURNS TABLE (
  budget_id uuid, project_id text, feature text, user_id text, period text, time_zone text,
  period_start timestamptz, period_end timestamptz, limit_usd numeric, spend_usd numeric,
  remaining_usd numeric, used_percent numeric, state text
) LANGUAGE plpgsql STABLE AS $fn$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  SELECT s.*
  FROM (
    SELECT * FROM budgets b
    WHERE b.project_id = $1 AND b.feature IS NULL AND b.user_id IS NULL
    UNION ALL
    SELECT * FROM budgets b
    WHERE $2 IS NOT NULL AND b.project_id = $1 AND b.feature = $2 AND b.user_id IS NULL
    UNION ALL
    SELECT * FROM budgets b
    WHERE $3 IS NOT NULL AND b.project_id = $1 AND b.feature IS NULL AND b.user_id = $3
  ) AS b
  CROSS JOIN LATERAL costdb_budget_state(b.id, b.project_id, b.feature, b.user_id, b.period,
                                         b.time_zone, b.limit_usd, b.alert_thresholds, $4) AS s
  WHERE b.active
  ORDER BY s.used_percent DESC, s.budget_id;
END
$fn$
"""

BUDGET_STATUS_VIEW = """
CREATE VIEW budget_status AS
SELECT s.*
FROM budgets b
CROSS JOIN LATERAL costdb_budget_state(b.id, b.project_id, b.feature, b.user_id, b.period,
                                       b.time_zone, b.limit_usd, b.alert_thresholds, now()) AS s
WHERE b.active
"""

FUNCTIONS = (
    "costdb_budget_status(text, text, text, timestamptz)",
    "costdb_budget_state(uuid, text, text, text, text, text, numeric, numeric[], timestamptz)",
    "costdb_scope_spend(text, text, text, timestamptz, timestamptz)",
    "costdb_scope_calls_spend(text, text, text, timestamptz, timestamptz)",
    "costdb_budget_period(text, text, timestamptz)",
)


def _v7() -> object:
    """0007's module: the SQL ``costdb_event_cost`` this revision wraps in PL/pgSQL."""
    script = context.script.get_revision("0007")
    if script is None:  # 0008 descends from 0007: it is always there
        raise RuntimeError("revision 0007 not found beside 0008")
    return script.module


def _event_cost_in_plpgsql(sql_function: str) -> str:
    """0007's ``costdb_event_cost``, the same query, as PL/pgSQL: a SQL function that cannot
    be inlined is planned again in every statement that calls it (a third of a millisecond
    per budget question); PL/pgSQL keeps the plan for the session."""
    head, body, tail = sql_function.split("$fn$")
    return (
        head.replace("LANGUAGE sql", "LANGUAGE plpgsql")
        + "$fn$\n#variable_conflict use_column\nBEGIN\n  RETURN ("
        + body.strip()
        + ");\nEND\n$fn$"
        + tail
    )


def upgrade() -> None:
    op.execute(_event_cost_in_plpgsql(_v7().EVENT_COST_FUNCTION))  # type: ignore[attr-defined]
    op.execute(THRESHOLDS_VALID_FUNCTION)
    op.execute(BUDGETS_TABLE)
    op.execute(BUDGET_ALERTS_TABLE)
    for statement in BUDGET_ALERTS_INDEXES:
        op.execute(statement)
    op.execute(SPEND_HOURLY_TABLE)
    op.execute(ROLLUP_COVERAGE_TABLE)
    for statement in (
        BUDGET_PERIOD_FUNCTION,
        SCOPE_CALLS_SPEND_FUNCTION,
        SCOPE_SPEND_FUNCTION,
        BUDGET_STATE_FUNCTION,
        BUDGET_STATUS_FUNCTION,
        BUDGET_STATUS_VIEW,
    ):
        op.execute(statement)


def downgrade() -> None:
    """Back to 0007: budgets, their alerts and the hourly spend are dropped with their rows
    (the spend is recomputed from events by a roll-up after a re-upgrade)."""
    op.execute("DROP VIEW budget_status")
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    op.execute("DROP TABLE costdb_rollup_coverage")
    op.execute("DROP TABLE costdb_spend_hourly")
    op.execute("DROP TABLE budget_alerts")
    op.execute("DROP TABLE budgets")
    op.execute("DROP FUNCTION costdb_thresholds_valid(numeric[])")
    op.execute(_v7().EVENT_COST_FUNCTION)  # type: ignore[attr-defined]
