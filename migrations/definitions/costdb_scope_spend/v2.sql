CREATE OR REPLACE FUNCTION public.costdb_scope_spend(project text, feature text, user_id text, since timestamp with time zone, until timestamp with time zone)
 RETURNS numeric
 LANGUAGE plpgsql
 STABLE
AS $function$
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
$function$;
