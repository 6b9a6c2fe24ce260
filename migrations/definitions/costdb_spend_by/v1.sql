CREATE OR REPLACE FUNCTION public.costdb_spend_by(dimension text, since timestamp with time zone, until timestamp with time zone, project text DEFAULT NULL::text)
 RETURNS TABLE(key text, cost_usd numeric, calls bigint)
 LANGUAGE plpgsql
 STABLE
 SET work_mem TO '64MB'
AS $function$
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
$function$;
