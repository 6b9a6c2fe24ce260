"""Names providers report priced from the first call: the price list's match rules in the
database, a resolver that applies them as genai-prices does, and events resolving their own.

Until now a name such as ``claude-sonnet-4-5-20250929`` (a pattern of the list, not one of its
exact names) cost nothing until ``costdb rollup`` or ``costdb prices sync`` had seen it on an
event, and a budget check before each call counted those calls as nothing.

- ``costdb_model_match_rules``: the list's match rules as ``costdb prices sync`` writes them
  (``costdb.prices.match_rules``): per ``lookup`` (``provider``: the provider a reported
  provider name is; ``maker``: the provider a model name alone points to; ``model``: the model
  a name is within ``scope``'s list, its fallback providers' models after its own), rules in
  the list's order (``position``: the first match wins), each an OR of ``alternative``s, each
  an AND of ``term``s: a ``kind`` (equals, starts_with, ends_with, contains, regex) and its
  ``pattern``, compared with the lower-cased name as genai-prices compares them.
- ``costdb_match_model_name(provider, model)``: genai-prices' own look-up
  (``costdb.prices.names.NameMatcher``) in SQL: the provider by its id, else by its aliases;
  the model among its models, then its fallbacks', then with a compact date (``-20251211``)
  written out (``-2025-12-11``); failing all that, the provider the model's name alone points
  to. A test holds it equal to the Python matcher over every name the list knows.
- ``costdb_event_cost`` prices a name with neither a resolved row nor price rows of its own by
  that match; it becomes PL/pgSQL, whose plans are kept for the session (a call 3x faster
  than 0007's SQL function, planned again in every statement), with the same answers.
- On insert, a trigger on ``events`` (once per statement, over its new rows) records each new
  name's resolution in ``costdb_model_names`` exactly as ``costdb rollup`` would (its own
  price rows, else the match), so the cost view, the roll-ups and the dashboards price it from
  its first call. Not on Citus, where a trigger on a distributed table would run on every
  shard: there ``costdb rollup`` resolves names as before, and ``costdb_event_cost`` (budgets)
  prices them from the first call.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 23:30:00
"""

from collections.abc import Sequence

from alembic import op

from costdb.migrate.scripts import earlier_revision, on_citus

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RULES_TABLE = """
CREATE TABLE costdb_model_match_rules (
  lookup text NOT NULL,
  scope text NOT NULL,
  position integer NOT NULL,
  alternative integer NOT NULL,
  term integer NOT NULL,
  kind text NOT NULL,
  pattern text NOT NULL,
  priced_provider text NOT NULL,
  priced_model text NOT NULL,
  list_label text NOT NULL,
  CONSTRAINT costdb_model_match_rules_pkey
    PRIMARY KEY (lookup, scope, position, alternative, term),
  CONSTRAINT costdb_model_match_rules_lookup_valid_check
    CHECK (lookup IN ('provider', 'maker', 'model')),
  CONSTRAINT costdb_model_match_rules_kind_valid_check
    CHECK (kind IN ('equals', 'starts_with', 'ends_with', 'contains', 'regex'))
)
"""

# The first rule of (lookup, scope) whose every term matches ``name`` (already lower-cased).
FIRST_RULE_FUNCTION = """
CREATE FUNCTION costdb_first_match_rule(lookup text, scope text, name text)
RETURNS TABLE (priced_provider text, priced_model text, list_label text)
LANGUAGE sql STABLE PARALLEL SAFE AS $fn$
  SELECT r.priced_provider, r.priced_model, r.list_label
  FROM costdb_model_match_rules r
  WHERE r.lookup = $1 AND r.scope = $2
  GROUP BY r.position, r.alternative, r.priced_provider, r.priced_model, r.list_label
  HAVING bool_and(CASE r.kind
      WHEN 'equals' THEN $3 = r.pattern
      WHEN 'starts_with' THEN starts_with($3, r.pattern)
      WHEN 'ends_with' THEN right($3, char_length(r.pattern)) = r.pattern
      WHEN 'contains' THEN strpos($3, r.pattern) > 0
      ELSE $3 ~ r.pattern END)
  ORDER BY r.position, r.alternative
  LIMIT 1
$fn$
"""

# genai-prices' Provider.find_model: the scope's rules (its fallbacks' after its own), then the
# same with each valid compact date (-YYYYMMDD before -, : or the end) written -YYYY-MM-DD.
FIND_MODEL_FUNCTION = r"""
CREATE FUNCTION costdb_find_listed_model(scope text, name text)
RETURNS TABLE (priced_provider text, priced_model text, list_label text)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $fn$
DECLARE
  written_out text := name;
  parts text[];
BEGIN
  RETURN QUERY SELECT * FROM costdb_first_match_rule('model', scope, name);
  IF FOUND THEN
    RETURN;
  END IF;
  FOR parts IN SELECT regexp_matches(name,
      '-(20[0-9]{2})(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])(?=-|:|$)', 'g') LOOP
    IF parts[3]::integer <= extract(day FROM make_date(parts[1]::integer, parts[2]::integer, 1)
                                         + interval '1 month - 1 day') THEN
      written_out := regexp_replace(written_out,
        '-' || parts[1] || parts[2] || parts[3] || '(?=-|:|$)',
        '-' || parts[1] || '-' || parts[2] || '-' || parts[3], 'g');
    END IF;
  END LOOP;
  IF written_out <> name THEN
    RETURN QUERY SELECT * FROM costdb_first_match_rule('model', scope, written_out);
  END IF;
END
$fn$
"""

# genai-prices' DataSnapshot.find_provider_model as costdb.prices.names.NameMatcher calls it:
# with the reported provider (litellm's "provider/model" names unwrapped), else by the name
# alone. NULL: the list does not know the name.
MATCH_FUNCTION = """
CREATE FUNCTION costdb_match_model_name(provider text, model text)
RETURNS TABLE (priced_provider text, priced_model text, rule text)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $fn$
DECLARE
  reported text := lower(btrim(provider));
  name text := lower(model);
  scope text;
  unwrapped text;
  listed_provider text;
  listed_model text;
  label text;
BEGIN
  IF reported = 'litellm' AND strpos(name, '/') > 0 THEN
    unwrapped := (SELECT f.priced_provider FROM costdb_first_match_rule(
      'provider', '', lower(btrim(split_part(name, '/', 1)))) f);
    IF unwrapped IS NOT NULL THEN
      scope := unwrapped;
      name := substr(name, strpos(name, '/') + 1);
    END IF;
  END IF;
  IF scope IS NULL THEN
    scope := (SELECT f.priced_provider FROM costdb_first_match_rule('provider', '', reported) f);
  END IF;
  IF scope IS NULL AND reported = 'litellm' THEN
    scope := (SELECT f.priced_provider FROM costdb_first_match_rule('maker', '', name) f);
  END IF;
  IF scope IS NOT NULL THEN
    SELECT l.priced_provider, l.priced_model, l.list_label INTO listed_provider, listed_model, label
    FROM costdb_find_listed_model(scope, name) l;
  END IF;
  IF listed_model IS NULL THEN  -- not found with the provider: by the name alone
    name := lower(model);
    scope := (SELECT f.priced_provider FROM costdb_first_match_rule('maker', '', name) f);
    IF scope IS NULL THEN
      RETURN;
    END IF;
    SELECT l.priced_provider, l.priced_model, l.list_label INTO listed_provider, listed_model, label
    FROM costdb_find_listed_model(scope, name) l;
    IF listed_model IS NULL THEN
      RETURN;
    END IF;
  END IF;
  priced_provider := listed_provider;
  priced_model := listed_model;
  rule := label || ': ' || quote_literal(model) || ' matches ' || listed_provider || ' model '
    || quote_literal(listed_model)
    || CASE WHEN listed_provider = scope THEN '' ELSE ' (via ' || scope || ')' END;
  RETURN NEXT;
END
$fn$
"""

# The same price as 0007's SQL function (tested equal to costdb.pricing), in PL/pgSQL: its
# plans are kept for the session, where a SQL function with CTEs is planned again in every
# statement (a call: 0.27 ms instead of 0.85 ms, measured side by side); and the match runs
# only for a name with neither a resolved row nor price rows of its own.
EVENT_COST_FUNCTION = """
CREATE OR REPLACE FUNCTION costdb_event_cost(
  provider text, model text, at timestamptz,
  input_tokens integer, output_tokens integer,
  cache_read_tokens integer, cache_write_tokens integer
) RETURNS numeric LANGUAGE plpgsql STABLE PARALLEL SAFE AS $fn$
DECLARE
  priced_provider text;
  priced_model text;
  price_id uuid;
  rates numeric[];
  tier_rates numeric[];
BEGIN
  SELECT n.priced_provider, n.priced_model INTO priced_provider, priced_model
  FROM costdb_model_names n WHERE n.provider = $1 AND n.model = $2;
  IF NOT FOUND THEN
    priced_provider := $1;
    priced_model := $2;
    IF NOT EXISTS (SELECT FROM model_pricing o WHERE o.provider = $1 AND o.model = $2) THEN
      SELECT coalesce(m.priced_provider, $1), coalesce(m.priced_model, $2)
      INTO priced_provider, priced_model
      FROM (SELECT) AS one LEFT JOIN costdb_match_model_name($1, $2) m ON true;
    END IF;
  END IF;
  SELECT p.id, ARRAY[p.input_price_per_1k, p.output_price_per_1k, p.cache_read_price_per_1k,
                     p.cache_write_price_per_1k]
  INTO price_id, rates
  FROM model_pricing p
  WHERE p.provider = priced_provider AND p.model = priced_model AND p.effective_date <= $3
  ORDER BY p.effective_date DESC
  LIMIT 1;
  IF price_id IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT ARRAY[t.input_price_per_1k, t.output_price_per_1k, t.cache_read_price_per_1k,
               t.cache_write_price_per_1k]
  INTO tier_rates
  FROM model_pricing_tiers t
  WHERE t.pricing_id = price_id AND t.min_input_tokens <= $4
  ORDER BY t.min_input_tokens DESC
  LIMIT 1;
  rates := coalesce(tier_rates, rates);
  RETURN costdb_usage_cost($4, $5, $6, $7, rates[1], rates[2], rates[3], rates[4]);
END
$fn$
"""

# What costdb.prices.names.resolve_names records for a name, for the names a statement's new
# rows bring: priced by its own rows, else by the match; a name moved to another model's rows
# is recorded for the roll-ups too (costdb.maintenance.repricing), as the Python side does.
# SECURITY DEFINER: the application role writes events, not the resolutions.
RESOLVE_ON_INSERT_FUNCTION = """
CREATE FUNCTION costdb_resolve_inserted_names() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $fn$
BEGIN
  WITH new_names AS (
    SELECT DISTINCT i.provider, i.model FROM inserted i
    WHERE NOT EXISTS (SELECT FROM costdb_model_names n
                      WHERE n.provider = i.provider AND n.model = i.model)
  ), resolved AS (
    SELECT r.provider, r.model, r.priced_provider, r.priced_model, r.rule
    FROM new_names nn
    CROSS JOIN LATERAL (
      SELECT nn.provider, nn.model, nn.provider AS priced_provider, nn.model AS priced_model,
             'priced by its own model_pricing rows' AS rule
      WHERE EXISTS (SELECT FROM model_pricing p
                    WHERE p.provider = nn.provider AND p.model = nn.model)
      UNION ALL
      SELECT nn.provider, nn.model, m.priced_provider, m.priced_model, m.rule
      FROM costdb_match_model_name(nn.provider, nn.model) m
      WHERE NOT EXISTS (SELECT FROM model_pricing p
                        WHERE p.provider = nn.provider AND p.model = nn.model)
    ) r
  ), recorded AS (
    INSERT INTO costdb_model_names (provider, model, priced_provider, priced_model, rule, source)
    SELECT provider, model, priced_provider, priced_model, rule, 'genai-prices' FROM resolved
    ON CONFLICT (provider, model) DO NOTHING
    RETURNING provider, model, priced_provider, priced_model
  )
  INSERT INTO costdb_repricing AS r (period, provider, model, effective_from)
  SELECT kind, provider, model, timestamptz '1970-01-01 00:00+00'
  FROM recorded CROSS JOIN unnest(ARRAY['hour', 'day']) AS kind
  WHERE (priced_provider, priced_model) <> (provider, model)
  ON CONFLICT (period, provider, model) DO UPDATE
  SET effective_from = least(r.effective_from, EXCLUDED.effective_from),
      recorded_at = EXCLUDED.recorded_at;
  RETURN NULL;
END
$fn$
"""

TRIGGER = """
CREATE TRIGGER costdb_events_resolve_names AFTER INSERT ON events
REFERENCING NEW TABLE AS inserted
FOR EACH STATEMENT EXECUTE FUNCTION costdb_resolve_inserted_names()
"""


def upgrade() -> None:
    op.execute(RULES_TABLE)
    op.execute(FIRST_RULE_FUNCTION)
    op.execute(FIND_MODEL_FUNCTION)
    op.execute(MATCH_FUNCTION)
    op.execute(EVENT_COST_FUNCTION)
    op.execute(RESOLVE_ON_INSERT_FUNCTION)
    if not on_citus():
        op.execute(TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS costdb_events_resolve_names ON events")
    op.execute("DROP FUNCTION costdb_resolve_inserted_names()")
    op.execute(earlier_revision("0007").EVENT_COST_FUNCTION)  # the function 0014 replaced
    op.execute("DROP FUNCTION costdb_match_model_name(text, text)")
    op.execute("DROP FUNCTION costdb_find_listed_model(text, text)")
    op.execute("DROP FUNCTION costdb_first_match_rule(text, text, text)")
    op.execute("DROP TABLE costdb_model_match_rules")
