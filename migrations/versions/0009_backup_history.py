"""The database's own record of its backups: what the probe and ``/metrics`` read.

``costdb_backups``: one row per pgBackRest backup that completed (label, full / diff / incr,
start and stop, the database's size and what the repository stored), written by ``costdb
backup`` right after the backup. The backup itself lives in the repository; this row is how
a probe that reaches only the database knows how old the last one is. A restore brings back
the rows of the backups taken before its target, which is what that database can say of
itself.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 08:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKUPS_TABLE = """
CREATE TABLE costdb_backups (
  label text NOT NULL,
  type text NOT NULL,
  started_at timestamptz NOT NULL,
  finished_at timestamptz NOT NULL,
  database_bytes bigint NOT NULL,
  repository_bytes bigint NOT NULL,
  CONSTRAINT costdb_backups_pkey PRIMARY KEY (label),
  CONSTRAINT costdb_backups_type_valid_check CHECK (type IN ('full', 'diff', 'incr')),
  CONSTRAINT costdb_backups_order_check CHECK (started_at <= finished_at)
)
"""


def upgrade() -> None:
    op.execute(BACKUPS_TABLE)
    op.execute("CREATE INDEX idx_costdb_backups_finished ON costdb_backups (finished_at)")


def downgrade() -> None:
    """Back to 0008: the record goes (the backups stay in their repository, which
    ``costdb backup list`` reads)."""
    op.execute("DROP TABLE costdb_backups")
