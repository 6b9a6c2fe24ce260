CREATE OR REPLACE FUNCTION public.costdb_nearest_prompts(target_embedding vector, project text, before timestamp with time zone, excluded uuid, n integer)
 RETURNS TABLE(event_id uuid, distance double precision, created_at timestamp with time zone, prompt_hash text)
 LANGUAGE plpgsql
 STABLE
 SET "hnsw.ef_search" TO '100'
 SET "hnsw.iterative_scan" TO 'relaxed_order'
 SET enable_seqscan TO 'off'
 SET enable_sort TO 'off'
 SET jit TO 'off'
AS $function$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  SELECT p.event_id, p.embedding <=> target_embedding, e.created_at, p.prompt_hash
  FROM prompt_embeddings p JOIN events e ON e.id = p.event_id
  WHERE e.project_id = project AND e.created_at < before AND p.event_id <> excluded
  ORDER BY p.embedding <=> target_embedding
  LIMIT n;
END
$function$;
