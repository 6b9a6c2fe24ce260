"""What ``/metrics`` shows of the budgets, read in one pass: how many are ok, warning or
exceeded, the spend ratio of the few nearest their limits, and the alerts delivered, pending
and failed.

Label cardinality is bounded by construction: three states, three alert outcomes, and the
ratio of at most ``defaults.BUDGET_METRICS_TOP`` budgets (labelled by budget id, project, scope
kind and period; never a user id), whatever the number of budgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from costdb import defaults
from costdb.db.maintenance_session import single_row

if TYPE_CHECKING:
    import psycopg

STATES = ("ok", "warning", "exceeded")

STATUS = """
SELECT budget_id::text, project_id,
       CASE WHEN feature IS NOT NULL THEN 'feature'
            WHEN user_id IS NOT NULL THEN 'user' ELSE 'project' END,
       period, (spend_usd / limit_usd)::float8, state
FROM budget_status
"""

ALERTS = """
SELECT count(*) FILTER (WHERE delivered_at IS NOT NULL),
       count(*) FILTER (WHERE delivered_at IS NULL AND attempts < %(max_attempts)s),
       count(*) FILTER (WHERE delivered_at IS NULL AND attempts >= %(max_attempts)s)
FROM budget_alerts
"""


@dataclass(frozen=True)
class BudgetRatio:
    budget_id: str
    project_id: str
    scope: str
    period: str
    ratio: float


@dataclass(frozen=True)
class BudgetGauges:
    by_state: dict[str, int]
    nearest: list[BudgetRatio]
    alerts: dict[str, int]


def read_budget_gauges(
    connection: psycopg.Connection[Any], top: int = defaults.BUDGET_METRICS_TOP
) -> BudgetGauges:
    rows = connection.execute(STATUS).fetchall()
    by_state = dict.fromkeys(STATES, 0)
    for row in rows:
        by_state[row[5]] += 1
    nearest = sorted((BudgetRatio(*row[:5]) for row in rows), key=lambda b: -b.ratio)[:top]
    delivered, pending, failed = single_row(
        connection.execute(ALERTS, {"max_attempts": defaults.BUDGET_MAX_ATTEMPTS})
    )
    return BudgetGauges(
        by_state, nearest, {"delivered": delivered, "pending": pending, "failed": failed}
    )
