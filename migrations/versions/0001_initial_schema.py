"""Initial schema: the pgvector extension and the spec's five tables with their indexes.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 16:55:16.278103
"""

from collections.abc import Sequence

import pgvector.sqlalchemy
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The init scripts create the extension as superuser; this makes the migration complete on
    # its own too (a managed database where the owner may create trusted extensions).
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "cost_aggregates",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("project_id", sa.Text(), server_default=sa.text("'default'"), nullable=False),
        sa.Column("feature", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "total_cost",
            sa.Numeric(precision=12, scale=6),
            server_default=sa.text("'0'"),
            nullable=False,
        ),
        sa.Column("total_tokens", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("call_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "avg_latency",
            sa.Numeric(precision=10, scale=2),
            server_default=sa.text("'0'"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "period IN ('hour', 'day')", name=op.f("cost_aggregates_period_valid_check")
        ),
        sa.CheckConstraint(
            "avg_latency >= 0", name=op.f("cost_aggregates_avg_latency_nonnegative_check")
        ),
        sa.CheckConstraint(
            "call_count >= 0", name=op.f("cost_aggregates_call_count_nonnegative_check")
        ),
        sa.CheckConstraint(
            "total_cost >= 0", name=op.f("cost_aggregates_total_cost_nonnegative_check")
        ),
        sa.CheckConstraint(
            "total_tokens >= 0", name=op.f("cost_aggregates_total_tokens_nonnegative_check")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("cost_aggregates_pkey")),
    )
    op.create_index(
        "idx_cost_agg_period",
        "cost_aggregates",
        ["project_id", "period", "period_start"],
        unique=False,
    )
    op.create_index(
        "idx_cost_agg_uniq",
        "cost_aggregates",
        ["project_id", "feature", "model", "period", "period_start"],
        unique=True,
    )
    op.create_table(
        "events",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("trace_id", sa.Text(), nullable=False),
        sa.Column("span_id", sa.Text(), nullable=False),
        sa.Column("parent_span_id", sa.Text(), nullable=True),
        sa.Column("project_id", sa.Text(), server_default=sa.text("'default'"), nullable=False),
        sa.Column("feature", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Text(), nullable=True),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_tokens", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("estimated_cost_usd", sa.Numeric(precision=12, scale=6), nullable=False),
        sa.Column("verified_cost_usd", sa.Numeric(precision=12, scale=6), nullable=True),
        sa.Column("is_cache_hit", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("metadata", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "cached_tokens >= 0", name=op.f("events_cached_tokens_nonnegative_check")
        ),
        sa.CheckConstraint(
            "estimated_cost_usd >= 0", name=op.f("events_estimated_cost_usd_nonnegative_check")
        ),
        sa.CheckConstraint("input_tokens >= 0", name=op.f("events_input_tokens_nonnegative_check")),
        sa.CheckConstraint("latency_ms >= 0", name=op.f("events_latency_ms_nonnegative_check")),
        sa.CheckConstraint(
            "output_tokens >= 0", name=op.f("events_output_tokens_nonnegative_check")
        ),
        sa.CheckConstraint(
            "verified_cost_usd >= 0", name=op.f("events_verified_cost_usd_nonnegative_check")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("events_pkey")),
    )
    op.create_index(
        "idx_events_created_at", "events", ["created_at"], unique=False, postgresql_using="brin"
    )
    op.create_index(
        "idx_events_feature_time", "events", ["project_id", "feature", "created_at"], unique=False
    )
    op.create_index("idx_events_trace", "events", ["trace_id"], unique=False)
    op.create_index(
        "idx_events_user_time", "events", ["project_id", "user_id", "created_at"], unique=False
    )
    op.create_table(
        "model_pricing",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("provider", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("input_price_per_1k", sa.Numeric(precision=10, scale=6), nullable=False),
        sa.Column("output_price_per_1k", sa.Numeric(precision=10, scale=6), nullable=False),
        sa.Column(
            "effective_date",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "input_price_per_1k >= 0",
            name=op.f("model_pricing_input_price_per_1k_nonnegative_check"),
        ),
        sa.CheckConstraint(
            "output_price_per_1k >= 0",
            name=op.f("model_pricing_output_price_per_1k_nonnegative_check"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("model_pricing_pkey")),
    )
    op.create_index(
        "idx_model_pricing_uniq",
        "model_pricing",
        ["provider", "model", "effective_date"],
        unique=True,
    )
    op.create_table(
        "prompt_analysis",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("input_token_ratio", sa.Numeric(precision=8, scale=4), nullable=True),
        sa.Column("redundancy_score", sa.Numeric(precision=5, scale=4), nullable=True),
        sa.Column("suggestions", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "input_token_ratio >= 0",
            name=op.f("prompt_analysis_input_token_ratio_nonnegative_check"),
        ),
        sa.CheckConstraint(
            "redundancy_score BETWEEN 0 AND 1",
            name=op.f("prompt_analysis_redundancy_score_range_check"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("prompt_analysis_event_id_events_id_fk"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("prompt_analysis_pkey")),
    )
    op.create_index("idx_prompt_analysis_event", "prompt_analysis", ["event_id"], unique=False)
    op.create_table(
        "prompt_embeddings",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("embedding", pgvector.sqlalchemy.vector.VECTOR(dim=1536), nullable=False),
        sa.Column("prompt_hash", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("prompt_embeddings_event_id_events_id_fk"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("prompt_embeddings_pkey")),
    )
    op.create_index("idx_prompt_embeddings_event", "prompt_embeddings", ["event_id"], unique=True)
    op.create_index(
        "idx_prompt_embeddings_hash", "prompt_embeddings", ["prompt_hash"], unique=False
    )
    op.create_index(
        "idx_prompt_embeddings_hnsw",
        "prompt_embeddings",
        ["embedding"],
        unique=False,
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )


def downgrade() -> None:
    # The extension stays: the init scripts created it, other databases' objects may use it,
    # and dropping it needs privileges the migration role need not have.
    op.drop_index(
        "idx_prompt_embeddings_hnsw",
        table_name="prompt_embeddings",
        postgresql_using="hnsw",
        postgresql_with={"m": 16, "ef_construction": 64},
        postgresql_ops={"embedding": "vector_cosine_ops"},
    )
    op.drop_index("idx_prompt_embeddings_hash", table_name="prompt_embeddings")
    op.drop_index("idx_prompt_embeddings_event", table_name="prompt_embeddings")
    op.drop_table("prompt_embeddings")
    op.drop_index("idx_prompt_analysis_event", table_name="prompt_analysis")
    op.drop_table("prompt_analysis")
    op.drop_index("idx_model_pricing_uniq", table_name="model_pricing")
    op.drop_table("model_pricing")
    op.drop_index("idx_events_user_time", table_name="events")
    op.drop_index("idx_events_trace", table_name="events")
    op.drop_index("idx_events_feature_time", table_name="events")
    op.drop_index("idx_events_created_at", table_name="events", postgresql_using="brin")
    op.drop_table("events")
    op.drop_index("idx_cost_agg_uniq", table_name="cost_aggregates")
    op.drop_index("idx_cost_agg_period", table_name="cost_aggregates")
    op.drop_table("cost_aggregates")
