"""Per-project similarity without the exact-scan fallback, and dashboards from the roll-ups.

- ``costdb_similar_prompts`` (same signature, results and settings): a project with few
  earlier prompts (at most ``costdb.similar_exact_prompts``, 1,000 unless set, among fewer
  than 10,000 earlier calls) is searched exactly over its own embeddings, found through
  ``idx_events_project_time`` and ``idx_prompt_embeddings_event``; a larger one through the
  HNSW index, by ``costdb_nearest_prompts``, whose plan is the index scan and nothing else. The
  planner used to choose, for a small project, a scan of every embedding with a distance
  computed for each (an exact scan of the whole table: hundreds of milliseconds at 100k
  embeddings), and for a middle-sized one an exact sort of the project's rows.
- ``costdb_spend_hourly`` gains the ``model`` scope (the spend per project, model and hour),
  written by the hourly roll-up from now on; the hours the roll-ups already cover are filled
  here from ``events`` with the roll-up's own per-call costs.
- ``costdb_spend_by(dimension, since, until[, project])``: cost and calls per feature, user or
  model over any range, one project or all: the covered whole hours from
  ``costdb_spend_hourly``, the calls outside them (the hour in progress, an edge that is not on
  the hour) priced one by one, as the budgets read their spend. Equal to the same sums over
  ``events_with_cost``, up to the last roll-up's view of closed hours. Which range is covered
  is one function, ``costdb_covered_hours``, that ``costdb_scope_spend`` now calls too.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 12:00:00
"""

from collections.abc import Sequence
from types import ModuleType

from alembic import context, op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The nearest prompts of a project through the HNSW index, iteratively (the project filter
# drops candidates after the index). Sorting and table scans are off so that the planner
# cannot choose an exact scan instead (it does when it expects few rows of the project); JIT
# is off because such a plan's disabled alternatives would otherwise make it look costly.
NEAREST_PROMPTS_FUNCTION = """
CREATE FUNCTION costdb_nearest_prompts(
  target_embedding vector, project text, before timestamptz, excluded uuid, n integer
) RETURNS TABLE (event_id uuid, distance double precision, created_at timestamptz,
                 prompt_hash text)
LANGUAGE plpgsql STABLE
SET hnsw.ef_search = 100
SET hnsw.iterative_scan = 'relaxed_order'
SET enable_seqscan = off
SET enable_sort = off
SET jit = off
AS $fn$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  SELECT p.event_id, p.embedding <=> target_embedding, e.created_at, p.prompt_hash
  FROM prompt_embeddings p JOIN events e ON e.id = p.event_id
  WHERE e.project_id = project AND e.created_at < before AND p.event_id <> excluded
  ORDER BY p.embedding <=> target_embedding
  LIMIT n;
END
$fn$
"""

SIMILAR_PROMPTS_FUNCTION = """
CREATE OR REPLACE FUNCTION costdb_similar_prompts(
  target_event uuid, k integer DEFAULT 10, min_similarity double precision DEFAULT 0.95
) RETURNS TABLE (event_id uuid, similarity double precision, exact_duplicate boolean,
                 created_at timestamptz)
LANGUAGE plpgsql STABLE
SET hnsw.ef_search = 100
SET hnsw.iterative_scan = 'relaxed_order'
SET enable_seqscan = off
SET max_parallel_workers_per_gather = 0
AS $fn$
#variable_conflict use_column
DECLARE
  target_project text;
  target_created timestamptz;
  target_embedding vector;
  target_hash text;
  exact_count integer;
  earlier_calls integer;
  candidates uuid[];
  exact_setting text := current_setting('costdb.similar_exact_prompts', true);
  exact_prompts integer := 1000;
BEGIN
  IF coalesce(exact_setting, '') <> '' THEN
    IF exact_setting !~ '^[0-9]{1,9}$' THEN
      RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
        MESSAGE = 'costdb.similar_exact_prompts must be a number of prompts (0 or more), not '
                  || quote_literal(exact_setting);
    END IF;
    exact_prompts := exact_setting::integer;
  END IF;
  SELECT e.project_id, e.created_at, p.embedding, p.prompt_hash
    INTO target_project, target_created, target_embedding, target_hash
  FROM events e JOIN prompt_embeddings p ON p.event_id = e.id
  WHERE e.id = target_event;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  RETURN QUERY
  SELECT p.event_id, 1.0::double precision, true, e.created_at
  FROM prompt_embeddings p JOIN events e ON e.id = p.event_id
  WHERE p.prompt_hash = target_hash AND e.project_id = target_project
    AND e.created_at < target_created AND p.event_id <> target_event
  ORDER BY e.created_at DESC
  LIMIT k;
  GET DIAGNOSTICS exact_count = ROW_COUNT;
  IF exact_count >= k THEN
    RETURN;
  END IF;
  -- The project's earlier calls, counted up to a bound in the index; if few, their prompts,
  -- up to one more than an exact search may read.
  SELECT count(*) INTO earlier_calls FROM (
    SELECT 1 FROM events e WHERE e.project_id = target_project AND e.created_at < target_created
    LIMIT 10000) c;
  IF earlier_calls < 10000 THEN
    SELECT array_agg(c.event_id) INTO candidates FROM (
      SELECT p.event_id FROM events e JOIN prompt_embeddings p ON p.event_id = e.id
      WHERE e.project_id = target_project AND e.created_at < target_created
      LIMIT exact_prompts + 1) c;
    IF coalesce(cardinality(candidates), 0) <= exact_prompts THEN
      RETURN QUERY
      SELECT n.event_id, n.similarity, false, e.created_at
      FROM (
        -- OFFSET 0: each distance computed (and each vector read) once, not once per use
        SELECT p.event_id, 1 - (p.embedding <=> target_embedding) AS similarity, p.prompt_hash
        FROM prompt_embeddings p
        WHERE p.event_id = ANY (candidates) AND p.event_id <> target_event
        OFFSET 0
      ) n JOIN events e ON e.id = n.event_id
      WHERE n.similarity >= min_similarity AND n.prompt_hash IS DISTINCT FROM target_hash
      ORDER BY 2 DESC, 4 DESC
      LIMIT k - exact_count;
      RETURN;
    END IF;
  END IF;
  RETURN QUERY
  SELECT n.event_id, 1 - n.distance, false, n.created_at
  FROM costdb_nearest_prompts(target_embedding, target_project, target_created, target_event,
                              k + exact_count) n
  WHERE 1 - n.distance >= min_similarity AND n.prompt_hash IS DISTINCT FROM target_hash
  ORDER BY 2 DESC, 4 DESC
  LIMIT k - exact_count;
END
$fn$
"""

SCOPES = "('project', 'feature', 'user', 'model')"
SCOPE_CHECK = "costdb_spend_hourly_scope_valid_check"

# The hours already covered get their per-model rows from the same per-call costs the
# roll-up uses (the hour in progress up to the coverage's end, as the roll-up writes it).
MODEL_SPEND_BACKFILL = """
INSERT INTO costdb_spend_hourly (project_id, scope, scope_key, hour, cost_usd, calls)
SELECT e.project_id, 'model', e.model, date_trunc('hour', e.created_at, 'UTC'),
       sum(coalesce(e.computed_cost_usd, e.estimated_cost_usd)), count(*)
FROM events_with_cost e
JOIN costdb_rollup_coverage c
  ON c.period = 'hour' AND e.created_at >= c.covered_from AND e.created_at < c.covered_until
GROUP BY e.project_id, e.model, date_trunc('hour', e.created_at, 'UTC')
"""

# The calls of [since, until) per feature, user or model, priced as the cost view prices them;
# one static query per dimension (plain PostgreSQL: 0008's per-call cost, as the budgets;
# Citus: the view's join, which its shards run).
VIEW_COST = "e.computed_cost_usd"
DIMENSIONS = (("feature", "e.feature"), ("user", "e.user_id"), ("model", "e.model"))


def _revision(name: str) -> ModuleType:
    """An earlier revision's module, for the SQL this one reuses or restores."""
    script = context.script.get_revision(name)
    if script is None:  # 0010 descends from 0006 and 0008: they are always there
        raise RuntimeError(f"revision {name} not found below 0010")
    return script.module


def _calls_queries(cost: str, source: str) -> str:
    branches = []
    for index, (dimension, column) in enumerate(DIMENSIONS):
        keyword = "IF" if index == 0 else "ELSIF"
        branches.append(  # the module's own constants and 0008's, no input
            f"    {keyword} dimension = '{dimension}' THEN\n"  # noqa: S608
            f"      RETURN QUERY SELECT {column}, sum(coalesce({cost}, e.estimated_cost_usd)),"
            f" count(*) FROM {source} e\n      WHERE (project IS NULL OR e.project_id = project)"
            f" AND e.created_at >= since AND e.created_at < until GROUP BY 1;"
        )
    return "\n".join(branches) + "\n    END IF;"


def _calls_spend_by_function() -> str:
    return f"""
CREATE FUNCTION costdb_calls_spend_by(
  dimension text, project text, since timestamptz, until timestamptz
) RETURNS TABLE (key text, cost_usd numeric, calls bigint)
LANGUAGE plpgsql STABLE AS $fn$
#variable_conflict use_variable
BEGIN
  IF since >= until THEN
    RETURN;
  END IF;
  IF EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
{_calls_queries(VIEW_COST, "events_with_cost")}
  ELSE
{_calls_queries(_revision("0008").PER_CALL_COST, "events")}
  END IF;
END
$fn$
"""


# The one range [hours_from, hours_until) of [since, until) that a reader may take from
# costdb_spend_hourly: the whole hours the hourly roll-up covered, and the hour in progress
# up to the coverage's end when the range reaches it; empty (since, since) when none. What
# 0008's costdb_scope_spend computed inline, now shared with costdb_spend_by.
COVERED_HOURS_FUNCTION = """
CREATE FUNCTION costdb_covered_hours(
  since timestamptz, until timestamptz,
  OUT hours_from timestamptz, OUT hours_until timestamptz
) LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  covered_from timestamptz;
  covered_until timestamptz;
  covered_hour timestamptz;
  from_hour timestamptz := date_trunc('hour', since, 'UTC');
BEGIN
  hours_from := since;
  hours_until := since;
  SELECT c.covered_from, c.covered_until INTO covered_from, covered_until
  FROM costdb_rollup_coverage c WHERE c.period = 'hour';
  IF covered_from IS NULL THEN
    RETURN;
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
    hours_from := since;
    hours_until := since;
  END IF;
END
$fn$
"""

# 0008's budget spend, its covered range now from costdb_covered_hours (the same result: an
# empty range adds nothing and prices [since, until) call by call).
SCOPE_SPEND_FUNCTION = """
CREATE OR REPLACE FUNCTION costdb_scope_spend(
  project text, feature text, user_id text, since timestamptz, until timestamptz
) RETURNS numeric LANGUAGE plpgsql STABLE AS $fn$
DECLARE
  hours_from timestamptz;
  hours_until timestamptz;
  hours_spend numeric := 0;
BEGIN
  SELECT c.hours_from, c.hours_until INTO hours_from, hours_until
  FROM costdb_covered_hours(since, until) c;
  IF hours_from < hours_until THEN
    SELECT coalesce(sum(h.cost_usd), 0) INTO hours_spend
    FROM costdb_spend_hourly h
    WHERE h.project_id = project
      AND h.scope = CASE WHEN feature IS NOT NULL THEN 'feature'
                         WHEN user_id IS NOT NULL THEN 'user' ELSE 'project' END
      AND h.scope_key = coalesce(feature, user_id, '')
      AND h.hour >= hours_from AND h.hour < hours_until;
  END IF;
  RETURN hours_spend
    + costdb_scope_calls_spend(project, feature, user_id, since, hours_from)
    + costdb_scope_calls_spend(project, feature, user_id, hours_until, until);
END
$fn$
"""

# The covered hours from costdb_spend_hourly (for users, the calls without one are the
# projects' spend less their users'), the rest from the calls: costdb_scope_spend's split.
SPEND_BY_FUNCTION = """
CREATE FUNCTION costdb_spend_by(
  dimension text, since timestamptz, until timestamptz, project text DEFAULT NULL
) RETURNS TABLE (key text, cost_usd numeric, calls bigint)
LANGUAGE plpgsql STABLE
SET work_mem = '64MB'  -- a week of a project's users (tens of thousands of keys) hashed in memory
AS $fn$
#variable_conflict use_variable
DECLARE
  hours_from timestamptz;
  hours_until timestamptz;
  hour_keys text[];
  hour_costs numeric[];
  hour_calls numeric[];
  keyed_cost numeric;
  keyed_calls numeric;
  anonymous_cost numeric;
  anonymous_calls numeric;
BEGIN
  IF dimension IS NULL OR dimension NOT IN ('feature', 'user', 'model') THEN
    -- The message by concatenation: a RAISE placeholder would be escaped in the offline SQL.
    RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
      MESSAGE = 'costdb_spend_by: dimension must be feature, user or model, not '
                || coalesce(quote_literal(dimension), 'NULL');
  END IF;
  IF since IS NULL OR until IS NULL OR since >= until THEN
    RETURN;
  END IF;
  SELECT c.hours_from, c.hours_until INTO hours_from, hours_until
  FROM costdb_covered_hours(since, until) c;
  -- The hours first, into arrays: Citus runs no distributed query nested in another, so the
  -- query that calls costdb_calls_spend_by reads no distributed table itself.
  SELECT array_agg(s.key), array_agg(s.cost_usd), array_agg(s.calls), sum(s.cost_usd),
         sum(s.calls)
    INTO hour_keys, hour_costs, hour_calls, keyed_cost, keyed_calls
  FROM (
    SELECT h.scope_key AS key, sum(h.cost_usd) AS cost_usd, sum(h.calls) AS calls
    FROM costdb_spend_hourly h
    WHERE h.scope = dimension AND (project IS NULL OR h.project_id = project)
      AND h.hour >= hours_from AND h.hour < hours_until
    GROUP BY h.scope_key
  ) s;
  IF dimension = 'user' THEN
    -- The calls without a user (the hourly spend has no NULL key): the projects' spend less
    -- their users', from the few project rows rather than a second pass over the users'.
    SELECT sum(h.cost_usd) - coalesce(keyed_cost, 0), sum(h.calls) - coalesce(keyed_calls, 0)
      INTO anonymous_cost, anonymous_calls
    FROM costdb_spend_hourly h
    WHERE h.scope = 'project' AND (project IS NULL OR h.project_id = project)
      AND h.hour >= hours_from AND h.hour < hours_until;
    hour_keys := hour_keys || NULL::text;
    hour_costs := hour_costs || anonymous_cost;
    hour_calls := hour_calls || anonymous_calls;
  END IF;
  RETURN QUERY
  SELECT s.key, sum(s.cost_usd), sum(s.calls)::bigint
  FROM (
    SELECT * FROM unnest(hour_keys, hour_costs, hour_calls) AS u (key, cost_usd, calls)
    UNION ALL
    SELECT * FROM costdb_calls_spend_by(dimension, project, since, hours_from)
    UNION ALL
    SELECT * FROM costdb_calls_spend_by(dimension, project, hours_until, until)
  ) s
  GROUP BY s.key
  HAVING sum(s.calls) > 0
  ORDER BY 2 DESC, 1;
END
$fn$
"""

FUNCTIONS = (
    "costdb_spend_by(text, timestamptz, timestamptz, text)",
    "costdb_calls_spend_by(text, text, timestamptz, timestamptz)",
)
COVERED_HOURS = "costdb_covered_hours(timestamptz, timestamptz)"


# squawk's rules, answered where they do not apply (its ignore comments travel in the SQL): the
# scope CHECK is replaced, in one transaction, by a wider one that every existing row passes;
# its validation is one scan of the roll-up table under the lock the replacement holds anyway.
# Two statements: Citus refuses an ALTER TABLE that drops and adds in one.
DROP_SCOPE_CHECK = (
    "-- squawk-ignore ban-drop-constraint\n"
    f"ALTER TABLE costdb_spend_hourly DROP CONSTRAINT {SCOPE_CHECK}"
)


def _add_scope_check(scopes: str) -> str:
    return (
        "-- squawk-ignore constraint-missing-not-valid\n"
        f"ALTER TABLE costdb_spend_hourly ADD CONSTRAINT {SCOPE_CHECK} CHECK (scope IN {scopes})"
    )


def upgrade() -> None:
    op.execute(NEAREST_PROMPTS_FUNCTION)
    op.execute(SIMILAR_PROMPTS_FUNCTION)
    op.execute(DROP_SCOPE_CHECK)
    op.execute(_add_scope_check(SCOPES))
    op.execute(MODEL_SPEND_BACKFILL)
    op.execute(COVERED_HOURS_FUNCTION)
    op.execute(SCOPE_SPEND_FUNCTION)
    op.execute(_calls_spend_by_function())
    op.execute(SPEND_BY_FUNCTION)


def downgrade() -> None:
    """Back to 0009: the per-model spend rows go (the roll-up of 0009 never wrote them), the
    dashboards' functions go, and 0008's budget spend and 0006's similarity search come back."""
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION {signature}")
    op.execute("DELETE FROM costdb_spend_hourly WHERE scope = 'model'")
    op.execute(DROP_SCOPE_CHECK)
    op.execute(_add_scope_check("('project', 'feature', 'user')"))
    op.execute(
        _revision("0008").SCOPE_SPEND_FUNCTION.replace(
            "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1
        )
    )
    op.execute(f"DROP FUNCTION {COVERED_HOURS}")
    op.execute(_revision("0006").SIMILAR_PROMPTS_FUNCTION)
    op.execute("DROP FUNCTION costdb_nearest_prompts(vector, text, timestamptz, uuid, integer)")
