"""Budgets written and read: ``costdb budgets set | list | remove``.

A budget is identified by its scope (a project; a project's feature; a project's user) and its
period: setting it again changes its limit, thresholds, time zone or active flag in place (its
alerts of the current period stay fired). The database's CHECKs are the rules; the command
line checks the same earlier only to say it in its own words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from costdb.db.maintenance_session import single_row
from costdb.errors import CostdbError

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class BudgetScope:
    """Whose spend a budget limits: a project, or one of its features, or one of its users."""

    project_id: str
    feature: str | None = None
    user_id: str | None = None

    def __post_init__(self) -> None:
        if self.feature is not None and self.user_id is not None:
            raise CostdbError("a budget is for a project, a feature or a user: not both")

    def describe(self) -> str:
        where = f"project {self.project_id!r}"
        if self.feature is not None:
            return f"{where}, feature {self.feature!r}"
        if self.user_id is not None:
            return f"{where}, user {self.user_id!r}"
        return where


@dataclass(frozen=True)
class BudgetTerms:
    """What a budget allows: ``limit_usd`` per ``period`` in ``time_zone``, alerts at
    ``thresholds`` percent of it."""

    period: str
    limit_usd: Decimal
    thresholds: tuple[Decimal, ...]
    time_zone: str = "UTC"
    active: bool = True


@dataclass(frozen=True)
class BudgetRow:
    """A budget and, when active, its state now (``costdb_budget_state``)."""

    id: UUID
    scope: BudgetScope
    terms: BudgetTerms
    period_start: datetime | None
    spend_usd: Decimal | None
    used_percent: Decimal | None
    state: str | None

    def as_dict(self) -> dict[str, object]:
        return {
            "id": str(self.id),
            "project_id": self.scope.project_id,
            "feature": self.scope.feature,
            "user_id": self.scope.user_id,
            "period": self.terms.period,
            "time_zone": self.terms.time_zone,
            "limit_usd": str(self.terms.limit_usd),
            "alert_thresholds": [str(t) for t in self.terms.thresholds],
            "active": self.terms.active,
            "period_start": self.period_start.isoformat() if self.period_start else None,
            "spend_usd": None if self.spend_usd is None else str(self.spend_usd),
            "used_percent": None if self.used_percent is None else str(self.used_percent),
            "state": self.state if self.terms.active else "inactive",
        }


SET = """
INSERT INTO budgets AS b (project_id, feature, user_id, period, time_zone, limit_usd,
                          alert_thresholds, active)
VALUES (%(project_id)s, %(feature)s, %(user_id)s, %(period)s, %(time_zone)s, %(limit_usd)s,
        %(thresholds)s, %(active)s)
ON CONFLICT ON CONSTRAINT budgets_project_id_feature_user_id_period_unique DO UPDATE
SET time_zone = EXCLUDED.time_zone, limit_usd = EXCLUDED.limit_usd,
    alert_thresholds = EXCLUDED.alert_thresholds, active = EXCLUDED.active, updated_at = now()
RETURNING b.id, b.created_at = b.updated_at
"""

LIST = """
SELECT b.id, b.project_id, b.feature, b.user_id, b.period, b.limit_usd, b.alert_thresholds,
       b.time_zone, b.active, s.period_start, s.spend_usd, s.used_percent, s.state
FROM budgets b
LEFT JOIN LATERAL costdb_budget_state(b.id, b.project_id, b.feature, b.user_id, b.period,
                                      b.time_zone, b.limit_usd, b.alert_thresholds, now())
  AS s ON b.active
WHERE %(project_id)s::text IS NULL OR b.project_id = %(project_id)s
ORDER BY b.project_id, b.feature NULLS FIRST, b.user_id NULLS FIRST,
         array_position(ARRAY['day', 'week', 'month'], b.period)
"""

REMOVE = """
DELETE FROM budgets
WHERE project_id = %(project_id)s AND feature IS NOT DISTINCT FROM %(feature)s
  AND user_id IS NOT DISTINCT FROM %(user_id)s AND period = %(period)s
RETURNING id
"""


def _scope_parameters(scope: BudgetScope) -> dict[str, Any]:
    return {"project_id": scope.project_id, "feature": scope.feature, "user_id": scope.user_id}


def set_budget(
    connection: psycopg.Connection[Any], scope: BudgetScope, terms: BudgetTerms
) -> tuple[UUID, bool]:
    """Create or change the budget of ``scope`` and ``terms.period``: (its id, created?)."""
    parameters = _scope_parameters(scope) | {
        "period": terms.period,
        "time_zone": terms.time_zone,
        "limit_usd": terms.limit_usd,
        "thresholds": list(terms.thresholds),
        "active": terms.active,
    }
    with connection.transaction():
        budget_id, created = single_row(connection.execute(SET, parameters))
    return budget_id, bool(created)


def list_budgets(connection: psycopg.Connection[Any], project_id: str | None) -> list[BudgetRow]:
    rows = connection.execute(LIST, {"project_id": project_id}).fetchall()
    return [
        BudgetRow(
            id=row[0],
            scope=BudgetScope(row[1], row[2], row[3]),
            terms=BudgetTerms(row[4], row[5], tuple(row[6]), row[7], row[8]),
            period_start=row[9],
            spend_usd=row[10],
            used_percent=row[11],
            state=row[12],
        )
        for row in rows
    ]


def remove_budget(connection: psycopg.Connection[Any], scope: BudgetScope, period: str) -> UUID:
    """Delete the budget (and its alerts); an error naming it when there is none."""
    with connection.transaction():
        row = connection.execute(REMOVE, _scope_parameters(scope) | {"period": period}).fetchone()
    if row is None:
        raise CostdbError(f"no {period} budget for {scope.describe()}")
    return row[0]  # type: ignore[no-any-return]
