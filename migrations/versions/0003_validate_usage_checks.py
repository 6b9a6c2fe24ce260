"""Validate 0002's CHECKs (added NOT VALID) without blocking the application.

``VALIDATE CONSTRAINT`` scans the table under ``SHARE UPDATE EXCLUSIVE``: reads and writes go
on. It is its own revision, after 0002 has committed, because validating in 0002's transaction
would hold 0002's ``ACCESS EXCLUSIVE`` lock for the scan.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 03:10:01
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSTRAINTS = {
    "events": (
        "events_cache_write_tokens_nonnegative_check",
        "events_reasoning_tokens_nonnegative_check",
        "events_cache_tokens_within_input_check",
        "events_reasoning_within_output_check",
        "events_status_valid_check",
        "events_error_type_needs_failure_check",
        "events_time_to_first_token_range_check",
    ),
    "model_pricing": (
        "model_pricing_cache_read_price_per_1k_nonnegative_check",
        "model_pricing_cache_write_price_per_1k_nonnegative_check",
    ),
}


def upgrade() -> None:
    for table, names in CONSTRAINTS.items():
        for name in names:
            op.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}")


def downgrade() -> None:
    """A validated constraint needs no undoing: 0002's downgrade drops it with its column."""
