"""Validate 0012's finite-money CHECKs (added NOT VALID) without blocking the application.

``VALIDATE CONSTRAINT`` scans each table under ``SHARE UPDATE EXCLUSIVE``: reads and writes go
on. It is its own revision, after 0012 has committed, so that the scan does not hold 0012's
``ACCESS EXCLUSIVE`` locks. 0012 refused to start on a database that held such values, and
every write since has been checked: a validation here can fail only if a non-finite value was
written between 0012's search and its constraint, and then PostgreSQL names the constraint.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 23:00:01
"""

from collections.abc import Sequence

from alembic import op

from costdb.migrate.scripts import earlier_revision, one_connection_per_worker

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    one_connection_per_worker()  # on Citus: reference tables after events
    added = earlier_revision("0012")  # the columns and constraint names it added
    for table, columns in added.FINITE_COLUMNS.items():
        for column in columns:
            name = added.constraint_name(table, column)
            op.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}")


def downgrade() -> None:
    """A validated constraint needs no undoing: 0012's downgrade drops it."""
