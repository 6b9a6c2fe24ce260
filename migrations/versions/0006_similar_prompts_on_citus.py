"""costdb_similar_prompts without a subquery in LIMIT, so that it also runs on Citus.

0005's version limited its nearest-neighbour scan with ``LIMIT k + (SELECT count(*) FROM
exact)``, which Citus refuses in a query over distributed tables ("subquery in LIMIT is not
supported in multi-shard queries"). The function now returns the exact duplicates first (one
``RETURN QUERY``), counts them, then returns the nearest prompts whose hash differs, limited by
that count: the same rows in the same order, with two plain queries Citus can push down to
every shard. Signature, result and settings are unchanged.

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


def upgrade() -> None:
    op.execute(SIMILAR_PROMPTS_FUNCTION)


def downgrade() -> None:
    """0005's definition, read from 0005 itself."""
    previous = context.script.get_revision("0005")
    assert previous is not None and previous.module is not None
    op.execute(
        previous.module.SIMILAR_PROMPTS_FUNCTION.replace(
            "CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1
        )
    )
