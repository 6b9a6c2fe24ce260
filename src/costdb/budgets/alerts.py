"""Thresholds crossed, recorded once per budget, period and threshold, and announced.

One statement finds, for every active budget, the thresholds its spend has reached in its
current period and in the period before (a late call can still push a closed period over; the
period before is skipped when it ended before the budget existed), and inserts them with
``ON CONFLICT DO NOTHING`` on the alerts' unique key: two checkers racing record each alert
once (the second waits on the first's key, then inserts nothing). Each alert recorded is
announced with ``NOTIFY costdb_budget_alerts`` in the same transaction, so a listener hears it
exactly when it is committed. The webhook is delivered afterwards (``costdb.budgets.delivery``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from costdb.budgets.store import BudgetScope

if TYPE_CHECKING:
    import psycopg

CHANNEL = "costdb_budget_alerts"
NOTIFY_LIMIT_BYTES = 7999  # PostgreSQL refuses a NOTIFY payload of 8000 bytes or more
ADJECTIVES = {"day": "daily", "week": "weekly", "month": "monthly"}

RECORD = """
WITH periods AS (
  SELECT b.id AS budget_id, b.limit_usd, b.alert_thresholds, p.period_start,
         costdb_scope_spend(b.project_id, b.feature, b.user_id, p.period_start,
                            least(p.period_end, %(at)s)) AS spend
  FROM budgets b
  CROSS JOIN LATERAL costdb_budget_period(b.period, b.time_zone, %(at)s) AS current
  CROSS JOIN LATERAL (
    SELECT current.period_start, current.period_end
    UNION ALL
    SELECT before.period_start, before.period_end
    FROM costdb_budget_period(b.period, b.time_zone,
                              current.period_start - interval '1 microsecond') AS before
    WHERE before.period_end > b.created_at
  ) AS p
  WHERE b.active
), recorded AS (
  INSERT INTO budget_alerts (budget_id, period_start, threshold_percent, spend_usd, limit_usd,
                             delivered_at)
  SELECT periods.budget_id, periods.period_start, t.percent, periods.spend, periods.limit_usd,
         CASE WHEN %(webhook)s THEN NULL ELSE now() END
  FROM periods CROSS JOIN LATERAL unnest(periods.alert_thresholds) AS t(percent)
  WHERE 100 * periods.spend >= periods.limit_usd * t.percent
  ON CONFLICT (budget_id, period_start, threshold_percent) DO NOTHING
  RETURNING *
)
SELECT r.id, r.budget_id, b.project_id, b.feature, b.user_id, b.period, b.time_zone,
       r.period_start, r.threshold_percent, r.spend_usd, r.limit_usd, r.fired_at
FROM recorded r JOIN budgets b ON b.id = r.budget_id
ORDER BY r.fired_at, b.project_id, r.budget_id, r.period_start, r.threshold_percent
"""


@dataclass(frozen=True)
class Alert:
    """A threshold crossed: what the NOTIFY payload and the webhook carry."""

    id: UUID
    budget_id: UUID
    project_id: str
    feature: str | None
    user_id: str | None
    period: str
    time_zone: str
    period_start: datetime
    threshold_percent: Decimal
    spend_usd: Decimal
    limit_usd: Decimal
    fired_at: datetime

    @property
    def idempotency_key(self) -> str:
        """The same for every delivery of this alert: a receiver drops repeats by it."""
        return f"costdb-budget-alert-{self.id}"

    def scope(self) -> BudgetScope:
        return BudgetScope(self.project_id, self.feature, self.user_id)

    def text(self) -> str:
        """One sentence for a chat channel (Slack's ``text``)."""
        local_start = self.period_start.isoformat()
        period = ADJECTIVES.get(self.period, self.period)
        spent = self.spend_usd.normalize()
        return (
            f"costdb budget alert: {self.scope().describe()} has spent ${spent:f} of "
            f"its {period} ${self.limit_usd.normalize():f} budget "
            f"({self.threshold_percent.normalize():f} % threshold reached; period from "
            f"{local_start}, {self.time_zone})"
        )

    def payload(self) -> dict[str, object]:
        """The alert as JSON (amounts as exact decimal strings): Slack-compatible (``text``),
        with the same fields NOTIFY sends under ``alert``."""
        return {
            "text": self.text(),
            "idempotency_key": self.idempotency_key,
            "alert": {
                "id": str(self.id),
                "budget_id": str(self.budget_id),
                "project_id": self.project_id,
                "feature": self.feature,
                "user_id": self.user_id,
                "period": self.period,
                "time_zone": self.time_zone,
                "period_start": self.period_start.isoformat(),
                "threshold_percent": str(self.threshold_percent),
                "spend_usd": str(self.spend_usd),
                "limit_usd": str(self.limit_usd),
                "fired_at": self.fired_at.isoformat(),
            },
        }


def record_crossings(
    connection: psycopg.Connection[Any], at: datetime, *, webhook: bool
) -> list[Alert]:
    """Record every threshold crossed as of ``at`` not yet recorded, and NOTIFY each one; with
    no ``webhook`` to deliver to, an alert is delivered once its NOTIFY is committed."""
    with connection.transaction():
        rows = connection.execute(RECORD, {"at": at, "webhook": webhook}).fetchall()
        alerts = [Alert(*row) for row in rows]
        for alert in alerts:
            connection.execute("SELECT pg_notify(%s, %s)", (CHANNEL, notify_payload(alert)))
    return alerts


def notify_payload(alert: Alert) -> str:
    """The alert's JSON, or, when long names make it too big for NOTIFY, its ids only (the
    row in ``budget_alerts`` has the rest)."""
    payload = json.dumps(alert.payload())
    if len(payload.encode()) <= NOTIFY_LIMIT_BYTES:
        return payload
    return json.dumps(
        {
            "idempotency_key": alert.idempotency_key,
            "alert": {"id": str(alert.id), "budget_id": str(alert.budget_id)},
        }
    )
