CREATE OR REPLACE FUNCTION public.costdb_cache_savings(project text, since timestamp with time zone, until timestamp with time zone, min_similarity double precision DEFAULT 0.95)
 RETURNS TABLE(feature text, events bigint, duplicated_events bigint, cost_usd numeric, avoidable_cost_usd numeric)
 LANGUAGE plpgsql
 STABLE
AS $function$
#variable_conflict use_column
DECLARE
  duplicated uuid[] := '{}';
  candidate uuid;
BEGIN
  FOR candidate IN
    SELECT e.id FROM events e JOIN prompt_embeddings p ON p.event_id = e.id
    WHERE e.project_id = project AND e.created_at >= since AND e.created_at < until
  LOOP
    IF EXISTS (SELECT FROM costdb_similar_prompts(candidate, 1, min_similarity)) THEN
      duplicated := duplicated || candidate;
    END IF;
  END LOOP;
  RETURN QUERY
  SELECT e.feature, count(*), count(*) FILTER (WHERE e.id = ANY (duplicated)),
         sum(coalesce(e.computed_cost_usd, e.estimated_cost_usd)),
         coalesce(sum(coalesce(e.computed_cost_usd, e.estimated_cost_usd))
                  FILTER (WHERE e.id = ANY (duplicated)), 0)
  FROM events_with_cost e
  JOIN prompt_embeddings p ON p.event_id = e.id
  WHERE e.project_id = project AND e.created_at >= since AND e.created_at < until
  GROUP BY e.feature
  ORDER BY 5 DESC, 1;
END
$function$;
