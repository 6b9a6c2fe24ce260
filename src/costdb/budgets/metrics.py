"""The budgets on the health server's ``/metrics``: states, the nearest to their limits, and
the alerts' delivery (``costdb.budgets.gauges`` reads them in one pass)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Gauge

from costdb import defaults
from costdb.budgets.gauges import read_budget_gauges

if TYPE_CHECKING:
    import psycopg


class BudgetMetrics:
    """``costdb_budgets``, ``costdb_budget_spend_ratio`` and ``costdb_budget_alerts``."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.budgets = Gauge(
            "costdb_budgets",
            "Active budgets by state in their current period (ok, warning, exceeded).",
            ["state"],
            registry=registry,
        )
        self.spend_ratio = Gauge(
            "costdb_budget_spend_ratio",
            "Spend over limit in the current period, for the budgets nearest their limits "
            f"(at most {defaults.BUDGET_METRICS_TOP}).",
            ["budget_id", "project_id", "scope", "period"],
            registry=registry,
        )
        self.alerts = Gauge(
            "costdb_budget_alerts",
            "Budget alerts recorded, by delivery outcome (delivered, pending, failed).",
            ["outcome"],
            registry=registry,
        )

    def read(self, connection: psycopg.Connection[Any]) -> None:
        gauges = read_budget_gauges(connection)
        for state, count in gauges.by_state.items():
            self.budgets.labels(state).set(count)
        self.spend_ratio.clear()  # the nearest budgets change: no stale series
        for budget in gauges.nearest:
            self.spend_ratio.labels(
                budget.budget_id, budget.project_id, budget.scope, budget.period
            ).set(budget.ratio)
        for outcome, count in gauges.alerts.items():
            self.alerts.labels(outcome).set(count)
