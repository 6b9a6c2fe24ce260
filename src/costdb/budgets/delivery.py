"""Recorded alerts delivered to the webhook at least once.

An alert is claimed before its POST (``next_attempt_at`` moved a claim's length ahead, rows
taken with ``SKIP LOCKED``), so that two checkers never post it at the same time and a checker
killed after claiming leaves it to the next run. A 2xx marks it delivered; anything else
counts an attempt, keeps the error (never the URL) and schedules the next one with exponential
backoff, up to a last attempt. A run claims one alert at a time and delivers for a bounded time,
then leaves the rest to the next run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from costdb import defaults
from costdb.budgets.alerts import Alert
from costdb.budgets.webhook import DeliveryFailed, Webhook
from costdb.db.maintenance_session import single_row

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger("costdb.budgets")

CLAIM = """
UPDATE budget_alerts AS a
SET next_attempt_at = now() + make_interval(secs => %(claim_seconds)s)
FROM budgets b
WHERE a.id = (
    SELECT id FROM budget_alerts
    WHERE delivered_at IS NULL AND next_attempt_at <= now() AND attempts < %(max_attempts)s
    ORDER BY next_attempt_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
  )
  AND b.id = a.budget_id
RETURNING a.id, a.budget_id, b.project_id, b.feature, b.user_id, b.period, b.time_zone,
          a.period_start, a.threshold_percent, a.spend_usd, a.limit_usd, a.fired_at, a.attempts
"""

DELIVERED = """
UPDATE budget_alerts SET delivered_at = now(), attempts = attempts + 1, last_error = NULL
WHERE id = %(id)s
"""

FAILED = """
UPDATE budget_alerts
SET attempts = attempts + 1, last_error = %(error)s,
    next_attempt_at = now() + make_interval(secs => least(
      %(first_seconds)s * power(2, attempts), %(max_seconds)s))
WHERE id = %(id)s
RETURNING attempts, next_attempt_at - now()
"""


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int
    failed: int
    left_for_next_run: bool


def deliver_pending(
    connection: psycopg.Connection[Any],
    webhook: Webhook,
    *,
    within_seconds: float = defaults.BUDGET_DELIVERY_SECONDS,
) -> DeliveryReport:
    """POST every alert due for delivery, one at a time, for at most ``within_seconds``."""
    deadline = time.monotonic() + within_seconds
    delivered = failed = 0
    while time.monotonic() < deadline:
        row = connection.execute(
            CLAIM,
            {
                "claim_seconds": defaults.BUDGET_CLAIM_SECONDS,
                "max_attempts": defaults.BUDGET_MAX_ATTEMPTS,
            },
        ).fetchone()
        if row is None:
            return DeliveryReport(delivered, failed, left_for_next_run=False)
        alert = Alert(*row[:-1])
        try:
            webhook.post(alert.payload(), alert.idempotency_key)
        except DeliveryFailed as exc:
            failed += 1
            _record_failure(connection, alert, str(exc))
            continue
        connection.execute(DELIVERED, {"id": alert.id})
        delivered += 1
    return DeliveryReport(delivered, failed, left_for_next_run=True)


def _record_failure(connection: psycopg.Connection[Any], alert: Alert, error: str) -> None:
    row = connection.execute(
        FAILED,
        {
            "id": alert.id,
            "error": error,
            "first_seconds": defaults.BUDGET_RETRY_FIRST_SECONDS,
            "max_seconds": defaults.BUDGET_RETRY_MAX_SECONDS,
        },
    )
    attempts, wait = single_row(row)
    then = (
        "no further attempt"
        if attempts >= defaults.BUDGET_MAX_ATTEMPTS
        else f"next attempt in {wait.total_seconds():.0f} s"
    )
    log.warning(
        "budget alert %s (%s): %s; attempt %d, %s",
        alert.id,
        alert.scope().describe(),
        error,
        attempts,
        then,
        extra={"event": "budget_alert_failed"},
    )
