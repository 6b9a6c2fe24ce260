CREATE OR REPLACE FUNCTION public.costdb_scope_spend(project text, feature text, user_id text, since timestamp with time zone, until timestamp with time zone)
 RETURNS numeric
 LANGUAGE plpgsql
 STABLE
AS $function$
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
$function$;
