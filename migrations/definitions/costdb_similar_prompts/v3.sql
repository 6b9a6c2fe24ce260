CREATE OR REPLACE FUNCTION public.costdb_similar_prompts(target_event uuid, k integer DEFAULT 10, min_similarity double precision DEFAULT 0.95)
 RETURNS TABLE(event_id uuid, similarity double precision, exact_duplicate boolean, created_at timestamp with time zone)
 LANGUAGE plpgsql
 STABLE
 SET "hnsw.ef_search" TO '100'
 SET "hnsw.iterative_scan" TO 'relaxed_order'
 SET enable_seqscan TO 'off'
 SET max_parallel_workers_per_gather TO '0'
AS $function$
#variable_conflict use_column
DECLARE
  target_project text;
  target_created timestamptz;
  target_embedding vector;
  target_hash text;
  exact_count integer;
  earlier_calls integer;
  candidates uuid[];
  exact_setting text := current_setting('costdb.similar_exact_prompts', true);
  exact_prompts integer := 1000;
BEGIN
  IF coalesce(exact_setting, '') <> '' THEN
    IF exact_setting !~ '^[0-9]{1,9}$' THEN
      RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
        MESSAGE = 'costdb.similar_exact_prompts must be a number of prompts (0 or more), not '
                  || quote_literal(exact_setting);
    END IF;
    exact_prompts := exact_setting::integer;
  END IF;
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
  -- The project's earlier calls, counted up to a bound in the index; if few, their prompts,
  -- up to one more than an exact search may read.
  SELECT count(*) INTO earlier_calls FROM (
    SELECT 1 FROM events e WHERE e.project_id = target_project AND e.created_at < target_created
    LIMIT 10000) c;
  IF earlier_calls < 10000 THEN
    SELECT array_agg(c.event_id) INTO candidates FROM (
      SELECT p.event_id FROM events e JOIN prompt_embeddings p ON p.event_id = e.id
      WHERE e.project_id = target_project AND e.created_at < target_created
      LIMIT exact_prompts + 1) c;
    IF coalesce(cardinality(candidates), 0) <= exact_prompts THEN
      RETURN QUERY
      SELECT n.event_id, n.similarity, false, e.created_at
      FROM (
        -- OFFSET 0: each distance computed (and each vector read) once, not once per use
        SELECT p.event_id, 1 - (p.embedding <=> target_embedding) AS similarity, p.prompt_hash
        FROM prompt_embeddings p
        WHERE p.event_id = ANY (candidates) AND p.event_id <> target_event
        OFFSET 0
      ) n JOIN events e ON e.id = n.event_id
      WHERE n.similarity >= min_similarity AND n.prompt_hash IS DISTINCT FROM target_hash
      ORDER BY 2 DESC, 4 DESC
      LIMIT k - exact_count;
      RETURN;
    END IF;
  END IF;
  RETURN QUERY
  SELECT n.event_id, 1 - n.distance, false, n.created_at
  FROM costdb_nearest_prompts(target_embedding, target_project, target_created, target_event,
                              k + exact_count) n
  WHERE 1 - n.distance >= min_similarity AND n.prompt_hash IS DISTINCT FROM target_hash
  ORDER BY 2 DESC, 4 DESC
  LIMIT k - exact_count;
END
$function$;
