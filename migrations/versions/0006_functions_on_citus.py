"""0005's two functions rewritten so that they also run on Citus, with the same results.

- ``costdb_similar_prompts`` limited its nearest-neighbour scan with ``LIMIT k + (SELECT
  count(*) FROM exact)``, which Citus refuses over distributed tables ("subquery in LIMIT is
  not supported in multi-shard queries"). It now returns the exact duplicates first (one
  ``RETURN QUERY``), counts them, then the nearest prompts whose hash differs, limited by that
  count: the same rows in the same order, from two plain queries Citus pushes down to every
  shard.
- ``costdb_cache_savings`` was a SQL function calling ``costdb_similar_prompts`` per row of a
  query over ``events``: Citus plans neither a parameterised SQL function over distributed
  tables nor a function that queries them from inside a shard's query. It is now PL/pgSQL: one
  ``costdb_similar_prompts`` call per event of the period (as before, one per row), then one
  aggregate over the period.

Signatures, results, volatility and settings are unchanged.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 06:00:00
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SIMILAR_PROMPTS_FUNCTION = """
CREATE OR REPLACE FUNCTION costdb_similar_prompts(
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
$fn$
"""


CACHE_SAVINGS_FUNCTION = """
CREATE OR REPLACE FUNCTION costdb_cache_savings(
  project text, since timestamptz, until timestamptz,
  min_similarity double precision DEFAULT 0.95
) RETURNS TABLE (feature text, events bigint, duplicated_events bigint, cost_usd numeric,
                 avoidable_cost_usd numeric)
LANGUAGE plpgsql STABLE AS $fn$
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
$fn$
"""


def upgrade() -> None:
    op.execute(SIMILAR_PROMPTS_FUNCTION)
    op.execute(CACHE_SAVINGS_FUNCTION)


def downgrade() -> None:
    """0005's definitions, read from 0005 itself."""
    previous = context.script.get_revision("0005")
    if previous is None:  # 0006 revises 0005: it is always there
        raise RuntimeError("revision 0005 not found beside 0006")
    for definition in (
        previous.module.SIMILAR_PROMPTS_FUNCTION,
        previous.module.CACHE_SAVINGS_FUNCTION,
    ):
        op.execute(definition.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
