CREATE OR REPLACE FUNCTION public.costdb_similar_prompts(target_event uuid, k integer DEFAULT 10, min_similarity double precision DEFAULT 0.95)
 RETURNS TABLE(event_id uuid, similarity double precision, exact_duplicate boolean, created_at timestamp with time zone)
 LANGUAGE plpgsql
 STABLE
 SET "hnsw.ef_search" TO '100'
 SET "hnsw.iterative_scan" TO 'relaxed_order'
AS $function$
#variable_conflict use_column
DECLARE
  target_project text;
  target_created timestamptz;
  target_embedding vector;
  target_hash text;
BEGIN
  SELECT e.project_id, e.created_at, p.embedding, p.prompt_hash
    INTO target_project, target_created, target_embedding, target_hash
  FROM events e JOIN prompt_embeddings p ON p.event_id = e.id
  WHERE e.id = target_event;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  RETURN QUERY
  WITH exact AS (
    SELECT p.event_id, 1.0::double precision AS similarity, true AS exact_duplicate,
           e.created_at
    FROM prompt_embeddings p JOIN events e ON e.id = p.event_id
    WHERE p.prompt_hash = target_hash AND e.project_id = target_project
      AND e.created_at < target_created AND p.event_id <> target_event
    ORDER BY e.created_at DESC
    LIMIT k
  ), nearest AS (
    SELECT p.event_id, 1 - (p.embedding <=> target_embedding) AS similarity,
           false AS exact_duplicate, e.created_at
    FROM prompt_embeddings p JOIN events e ON e.id = p.event_id
    WHERE e.project_id = target_project AND e.created_at < target_created
      AND p.event_id <> target_event
    ORDER BY p.embedding <=> target_embedding
    LIMIT k + (SELECT count(*) FROM exact)
  )
  SELECT r.event_id, r.similarity, r.exact_duplicate, r.created_at
  FROM (
    SELECT x.event_id, x.similarity, x.exact_duplicate, x.created_at FROM exact x
    UNION ALL
    SELECT n.event_id, n.similarity, n.exact_duplicate, n.created_at FROM nearest n
    WHERE n.similarity >= min_similarity
      AND n.event_id NOT IN (SELECT x.event_id FROM exact x)
  ) r
  ORDER BY r.exact_duplicate DESC, r.similarity DESC, r.created_at DESC
  LIMIT k;
END
$function$;
