"""Money, prices and ratios are finite: a CHECK on each column refuses NaN and +-Infinity.

PostgreSQL's ``numeric`` admits ``'NaN'`` (and, unconstrained, ``'Infinity'`` and
``'-Infinity'``), and NaN sorts above every number, so ``CHECK (x >= 0)`` let it through: one
NaN price made every cost of that model NaN, and one NaN in a sum makes the roll-ups, the
dashboards and a budget's state NaN. Each column below gets ``<table>_<column>_finite_check``,
``CHECK (abs(<column>) < 'Infinity')`` (false for NaN and for either infinity, NULL passes).

First, without changing anything, every column is searched for such values: any found stops
the upgrade in one line that names each column with its count and the statement that fixes
one, and the database stays at 0011. Then the constraints are added ``NOT VALID``: no scan, a
brief ``ACCESS EXCLUSIVE`` lock per table (under ``lock_timeout``), one statement per
constraint (Citus refuses several ADD CONSTRAINT subcommands in one ALTER TABLE); from here on
a write of NaN or an infinity fails with SQLSTATE 23514. Revision 0013 validates them without
blocking writers, as 0003 validated 0002's.

``budgets.alert_thresholds`` (an array) and ``prompt_analysis.redundancy_score`` refuse both
already: their CHECKs bound every value from above (``> 100``, ``BETWEEN 0 AND 1``).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 23:00:00
"""

from collections.abc import Sequence

from alembic import op

from costdb.migrate.scripts import one_connection_per_worker

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PRICE_COLUMNS = (
    "input_price_per_1k",
    "output_price_per_1k",
    "cache_read_price_per_1k",
    "cache_write_price_per_1k",
)
FINITE_COLUMNS = {
    "events": ("estimated_cost_usd", "verified_cost_usd"),
    "model_pricing": PRICE_COLUMNS,
    "model_pricing_tiers": PRICE_COLUMNS,
    "prompt_analysis": ("input_token_ratio",),
    "cost_aggregates": ("total_cost", "avg_latency"),
    "budgets": ("limit_usd",),
    "budget_alerts": ("threshold_percent", "spend_usd", "limit_usd"),
    "costdb_spend_hourly": ("cost_usd",),
}
"""Every ``numeric`` a cost flows through, by table (0013 validates the same list)."""


def constraint_name(table: str, column: str) -> str:
    return f"{table}_{column}_finite_check"


def _not_finite(column: str) -> str:
    return f"NOT abs({column}) < 'Infinity'"


def _table_search(table: str, columns: Sequence[str]) -> str:
    """plpgsql that counts one table's non-finite values per column, in one scan, and adds
    each column that has any to ``found``. (No ``%`` anywhere: the offline SQL of
    ``costdb migrate --sql`` would escape it.)"""
    counts = ", ".join(f"count(*) FILTER (WHERE {_not_finite(column)})" for column in columns)
    where = " OR ".join(_not_finite(column) for column in columns)
    lines = [f"  SELECT ARRAY[{counts}] INTO counts FROM {table} WHERE {where};"]  # noqa: S608
    for position, column in enumerate(columns, start=1):
        fix = f"UPDATE {table} SET {column} = <the right amount> WHERE {_not_finite(column)}"  # noqa: S608
        lines.append(
            f"  IF counts[{position}] > 0 THEN"
            f" found := found || ('{table}.{column}: ' || counts[{position}]"
            f" || CASE counts[{position}] WHEN 1 THEN ' row' ELSE ' rows' END);"
            f" example := coalesce(example, '{fix.replace(chr(39), chr(39) * 2)}');"
            " END IF;"
        )
    return "\n".join(lines)


REFUSE_NON_FINITE = f"""
DO $finite$
DECLARE
  counts bigint[];
  found text[] := '{{}}';
  example text;
BEGIN
{chr(10).join(_table_search(table, columns) for table, columns in FINITE_COLUMNS.items())}
  IF cardinality(found) > 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE =
      'NaN or an infinite amount where costdb stores money, which no cost can be: '
      || array_to_string(found, ', ') || '; correct each first, for example with '
      || example || ', then migrate again';
  END IF;
END
$finite$
"""


def upgrade() -> None:
    one_connection_per_worker()  # on Citus: it scans distributed tables, alters reference ones
    op.execute(REFUSE_NON_FINITE)
    for table, columns in FINITE_COLUMNS.items():
        for column in columns:
            op.execute(
                f"ALTER TABLE {table} ADD CONSTRAINT {constraint_name(table, column)}"
                f" CHECK (abs({column}) < 'Infinity') NOT VALID"
            )


def downgrade() -> None:
    for table, columns in FINITE_COLUMNS.items():
        for column in columns:
            op.execute(f"ALTER TABLE {table} DROP CONSTRAINT {constraint_name(table, column)}")
