CREATE OR REPLACE FUNCTION public.costdb_cache_savings(project text, since timestamp with time zone, until timestamp with time zone, min_similarity double precision DEFAULT 0.95)
 RETURNS TABLE(feature text, events bigint, duplicated_events bigint, cost_usd numeric, avoidable_cost_usd numeric)
 LANGUAGE sql
 STABLE
AS $function$
  SELECT e.feature, count(*), count(*) FILTER (WHERE d.duplicated),
         sum(coalesce(e.computed_cost_usd, e.estimated_cost_usd)),
         coalesce(sum(coalesce(e.computed_cost_usd, e.estimated_cost_usd))
                  FILTER (WHERE d.duplicated), 0)
  FROM events_with_cost e
  JOIN prompt_embeddings p ON p.event_id = e.id
  CROSS JOIN LATERAL (
    SELECT EXISTS (SELECT FROM costdb_similar_prompts(e.id, 1, $4)) AS duplicated) d
  WHERE e.project_id = $1 AND e.created_at >= $2 AND e.created_at < $3
  GROUP BY e.feature
  ORDER BY 5 DESC, 1
$function$;
