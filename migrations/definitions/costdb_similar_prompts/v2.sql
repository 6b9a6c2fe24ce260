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
  exact_count integer;
BEGIN
  SELECT e.project_id, e.created_at, p.embedding, p.prompt_hash
    INTO target_project, target_created, target_embedding, target_hash
  FROM events e JOIN prompt_embeddings p ON p.event_id = e.id
  WHERE e.id = target_event;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  RETURN QUERY
  SELECT p.event_id, 1.0::double precision, true, e.created_at
  FROM prompt_embeddings p JOIN events e ON e.id = p.event_id
  WHERE p.prompt_hash = target_hash AND e.project_id = target_project
    AND e.created_at < target_created AND p.event_id <> target_event
  ORDER BY e.created_at DESC
  LIMIT k;
  GET DIAGNOSTICS exact_count = ROW_COUNT;
  IF exact_count >= k THEN
    RETURN;
  END IF;
  RETURN QUERY
  SELECT n.event_id, n.similarity, false, n.created_at
  FROM (
    SELECT p.event_id, 1 - (p.embedding <=> target_embedding) AS similarity, e.created_at,
           p.prompt_hash
    FROM prompt_embeddings p JOIN events e ON e.id = p.event_id
    WHERE e.project_id = target_project AND e.created_at < target_created
      AND p.event_id <> target_event
    ORDER BY p.embedding <=> target_embedding
    LIMIT k + exact_count
  ) n
  WHERE n.similarity >= min_similarity AND n.prompt_hash IS DISTINCT FROM target_hash
  ORDER BY n.similarity DESC, n.created_at DESC
  LIMIT k - exact_count;
END
$function$;
