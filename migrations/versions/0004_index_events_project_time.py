"""idx_events_project_time: one project, a time range, every feature, built CONCURRENTLY.

The spec's indexes all put ``feature`` or ``user_id`` between ``project_id`` and
``created_at``, so "project X, last 24 hours" read every feature's range. The index is built
outside a transaction (``CREATE INDEX CONCURRENTLY``: inserts go on). A build that fails (a
lock timeout behind a long transaction, a cancelled statement) leaves an INVALID index and
this revision unapplied; the next run drops the leftover and builds again, so the revision can
be retried as often as needed. It is alone in its revision so that every other revision stays
one transaction.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 03:10:02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS idx_events_project_time")
        op.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_events_project_time"
            " ON events (project_id, created_at)"
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS idx_events_project_time")
