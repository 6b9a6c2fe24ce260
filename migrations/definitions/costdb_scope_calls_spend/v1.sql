CREATE OR REPLACE FUNCTION public.costdb_scope_calls_spend(project text, feature text, user_id text, since timestamp with time zone, until timestamp with time zone)
 RETURNS numeric
 LANGUAGE plpgsql
 STABLE
AS $function$
#variable_conflict use_variable
DECLARE
  spend numeric;
BEGIN
  IF since >= until THEN
    RETURN 0;
  END IF;
  IF EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
    IF feature IS NOT NULL THEN
      SELECT sum(coalesce(e.computed_cost_usd, e.estimated_cost_usd)) INTO spend FROM events_with_cost e
      WHERE e.project_id = project AND e.created_at >= since AND e.created_at < until AND e.feature = feature;
    ELSIF user_id IS NOT NULL THEN
      SELECT sum(coalesce(e.computed_cost_usd, e.estimated_cost_usd)) INTO spend FROM events_with_cost e
      WHERE e.project_id = project AND e.created_at >= since AND e.created_at < until AND e.user_id = user_id;
    ELSE
      SELECT sum(coalesce(e.computed_cost_usd, e.estimated_cost_usd)) INTO spend FROM events_with_cost e
      WHERE e.project_id = project AND e.created_at >= since AND e.created_at < until;
    END IF;
  ELSE
    IF feature IS NOT NULL THEN
      SELECT sum(coalesce(costdb_event_cost(e.provider, e.model, e.created_at, e.input_tokens, e.output_tokens, e.cached_tokens, e.cache_write_tokens), e.estimated_cost_usd)) INTO spend FROM events e
      WHERE e.project_id = project AND e.created_at >= since AND e.created_at < until AND e.feature = feature;
    ELSIF user_id IS NOT NULL THEN
      SELECT sum(coalesce(costdb_event_cost(e.provider, e.model, e.created_at, e.input_tokens, e.output_tokens, e.cached_tokens, e.cache_write_tokens), e.estimated_cost_usd)) INTO spend FROM events e
      WHERE e.project_id = project AND e.created_at >= since AND e.created_at < until AND e.user_id = user_id;
    ELSE
      SELECT sum(coalesce(costdb_event_cost(e.provider, e.model, e.created_at, e.input_tokens, e.output_tokens, e.cached_tokens, e.cache_write_tokens), e.estimated_cost_usd)) INTO spend FROM events e
      WHERE e.project_id = project AND e.created_at >= since AND e.created_at < until;
    END IF;
  END IF;
  RETURN coalesce(spend, 0);
END
$function$;
