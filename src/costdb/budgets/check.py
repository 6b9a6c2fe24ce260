"""One budget check: record the thresholds crossed, then deliver what is due.

``costdb budgets check`` runs it (once or ``--every``), and so does ``costdb rollup
--check-budgets`` after each roll-up, when the spend it reads has just been brought up to date.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from costdb.budgets.alerts import Alert, record_crossings
from costdb.budgets.delivery import DeliveryReport, deliver_pending
from costdb.budgets.webhook import Webhook

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("costdb.budgets")


@dataclass(frozen=True)
class BudgetCheckResult:
    """The alerts one check recorded, and the webhook's delivery (None: no webhook)."""

    alerts: list[Alert]
    delivery: DeliveryReport | None


def check_budgets(
    connection: psycopg.Connection[Any], webhook: Webhook | None
) -> BudgetCheckResult:
    """Record as of now, then deliver to ``webhook`` when there is one; log what was done."""
    alerts = record_crossings(connection, datetime.now(UTC), webhook=webhook is not None)
    for alert in alerts:
        log.info("budget alert: %s", alert.text(), extra={"event": "budget_alert"})
    if webhook is None:
        log.info(
            "budgets checked: %d alert(s) recorded and notified (no webhook configured)",
            len(alerts),
            extra={"event": "budgets_checked"},
        )
        return BudgetCheckResult(alerts, None)
    delivery = deliver_pending(connection, webhook)
    log.info(
        "budgets checked: %d alert(s) recorded; webhook: %d delivered, %d failed%s",
        len(alerts),
        delivery.delivered,
        delivery.failed,
        ", the rest left for the next run" if delivery.left_for_next_run else "",
        extra={"event": "budgets_checked"},
    )
    return BudgetCheckResult(alerts, delivery)
