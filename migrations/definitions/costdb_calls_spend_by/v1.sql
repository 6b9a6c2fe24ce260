CREATE OR REPLACE FUNCTION public.costdb_calls_spend_by(dimension text, project text, since timestamp with time zone, until timestamp with time zone)
 RETURNS TABLE(key text, cost_usd numeric, calls bigint)
 LANGUAGE plpgsql
 STABLE
AS $function$
#variable_conflict use_variable
BEGIN
  IF since >= until THEN
    RETURN;
  END IF;
  IF EXISTS (SELECT FROM pg_extension WHERE extname = 'citus') THEN
    IF dimension = 'feature' THEN
      RETURN QUERY SELECT e.feature, sum(coalesce(e.computed_cost_usd, e.estimated_cost_usd)), count(*) FROM events_with_cost e
      WHERE (project IS NULL OR e.project_id = project) AND e.created_at >= since AND e.created_at < until GROUP BY 1;
    ELSIF dimension = 'user' THEN
      RETURN QUERY SELECT e.user_id, sum(coalesce(e.computed_cost_usd, e.estimated_cost_usd)), count(*) FROM events_with_cost e
      WHERE (project IS NULL OR e.project_id = project) AND e.created_at >= since AND e.created_at < until GROUP BY 1;
    ELSIF dimension = 'model' THEN
      RETURN QUERY SELECT e.model, sum(coalesce(e.computed_cost_usd, e.estimated_cost_usd)), count(*) FROM events_with_cost e
      WHERE (project IS NULL OR e.project_id = project) AND e.created_at >= since AND e.created_at < until GROUP BY 1;
    END IF;
  ELSE
    IF dimension = 'feature' THEN
      RETURN QUERY SELECT e.feature, sum(coalesce(costdb_event_cost(e.provider, e.model, e.created_at, e.input_tokens, e.output_tokens, e.cached_tokens, e.cache_write_tokens), e.estimated_cost_usd)), count(*) FROM events e
      WHERE (project IS NULL OR e.project_id = project) AND e.created_at >= since AND e.created_at < until GROUP BY 1;
    ELSIF dimension = 'user' THEN
      RETURN QUERY SELECT e.user_id, sum(coalesce(costdb_event_cost(e.provider, e.model, e.created_at, e.input_tokens, e.output_tokens, e.cached_tokens, e.cache_write_tokens), e.estimated_cost_usd)), count(*) FROM events e
      WHERE (project IS NULL OR e.project_id = project) AND e.created_at >= since AND e.created_at < until GROUP BY 1;
    ELSIF dimension = 'model' THEN
      RETURN QUERY SELECT e.model, sum(coalesce(costdb_event_cost(e.provider, e.model, e.created_at, e.input_tokens, e.output_tokens, e.cached_tokens, e.cache_write_tokens), e.estimated_cost_usd)), count(*) FROM events e
      WHERE (project IS NULL OR e.project_id = project) AND e.created_at >= since AND e.created_at < until GROUP BY 1;
    END IF;
  END IF;
END
$function$;
