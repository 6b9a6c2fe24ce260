CREATE OR REPLACE FUNCTION public.costdb_budget_status(call_project text, call_feature text DEFAULT NULL::text, call_user text DEFAULT NULL::text, at timestamp with time zone DEFAULT now())
 RETURNS TABLE(budget_id uuid, project_id text, feature text, user_id text, period text, time_zone text, period_start timestamp with time zone, period_end timestamp with time zone, limit_usd numeric, spend_usd numeric, remaining_usd numeric, used_percent numeric, state text)
 LANGUAGE plpgsql
 STABLE
AS $function$
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
$function$;
