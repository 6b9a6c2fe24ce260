"""Duplicate-prompt detection in the database: similar earlier prompts, and what a cache saves.

``costdb_similar_prompts(event, k, min_similarity)``: the k most similar earlier prompts of the
same project, exact duplicates (same ``prompt_hash``) first, then by cosine similarity at or
above the threshold, through the HNSW index. The project filter is applied after the index, so
the function runs with pgvector's iterative index scans (``hnsw.iterative_scan =
relaxed_order``: the scan goes on past ``hnsw.ef_search`` candidates until k rows pass the
filter, bounded by ``hnsw.max_scan_tuples``) and ``hnsw.ef_search = 100``; the outer ORDER BY
restores the exact order that ``relaxed_order`` may loosen. Both settings are the function's
own (``SET`` clauses), so every caller gets them, whatever its session says.

``costdb_cache_savings(project, since, until, min_similarity)``: per feature, the events of a
period whose prompt had an earlier near-duplicate in the project, and their cost: what a
prompt cache could have saved at most.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 03:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIMILAR_PROMPTS_FUNCTION = """
CREATE FUNCTION costdb_similar_prompts(
  target_event uuid, k integer DEFAULT 10, min_similarity double precision DEFAULT 0.95
) RETURNS TABLE (event_id uuid, similarity double precision, exact_duplicate boolean,
                 created_at timestamptz)
LANGUAGE plpgsql STABLE
SET hnsw.ef_search = 100
SET hnsw.iterative_scan = 'relaxed_order'
AS $fn$
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
$fn$
"""

CACHE_SAVINGS_FUNCTION = """
CREATE FUNCTION costdb_cache_savings(
  project text, since timestamptz, until timestamptz,
  min_similarity double precision DEFAULT 0.95
) RETURNS TABLE (feature text, events bigint, duplicated_events bigint, cost_usd numeric,
                 avoidable_cost_usd numeric)
LANGUAGE sql STABLE AS $fn$
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
$fn$
"""


def upgrade() -> None:
    op.execute(SIMILAR_PROMPTS_FUNCTION)
    op.execute(CACHE_SAVINGS_FUNCTION)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION costdb_cache_savings(text, timestamptz, timestamptz, double precision)"
    )
    op.execute("DROP FUNCTION costdb_similar_prompts(uuid, integer, double precision)")
