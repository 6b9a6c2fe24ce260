CREATE OR REPLACE FUNCTION public.costdb_budget_state(budget_id uuid, project_id text, feature text, user_id text, period text, time_zone text, limit_usd numeric, alert_thresholds numeric[], at timestamp with time zone, OUT budget_id uuid, OUT project_id text, OUT feature text, OUT user_id text, OUT period text, OUT time_zone text, OUT period_start timestamp with time zone, OUT period_end timestamp with time zone, OUT limit_usd numeric, OUT spend_usd numeric, OUT remaining_usd numeric, OUT used_percent numeric, OUT state text)
 RETURNS record
 LANGUAGE sql
 STABLE
AS $function$
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
$function$;
