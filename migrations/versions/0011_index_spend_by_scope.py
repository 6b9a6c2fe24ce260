"""idx_costdb_spend_hourly_scope_project_hour: the dashboards' read of the hourly spend.

``costdb_spend_by`` reads one scope (feature, user or model) over a range of hours, for one
project or all: the primary key starts with ``project_id`` and puts ``scope_key`` before the
hour, so "every model, last 24 hours, all projects" read the whole table. Built CONCURRENTLY
(the roll-up goes on writing), alone in its revision, retried as 0004 is: a failed build
leaves an INVALID index and this revision unapplied; the next run drops it and builds again.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 12:10:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "idx_costdb_spend_hourly_scope_project_hour"


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
        op.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX}"
            " ON costdb_spend_hourly (scope, project_id, hour)"
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
