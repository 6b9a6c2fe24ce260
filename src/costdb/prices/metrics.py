"""``costdb_unpriced_calls_last_hour`` on the health server's ``/metrics``: no call goes
unpriced in silence (``costdb prices missing`` names them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Gauge

from costdb.health.feature_metrics import DATA_READ_SECONDS
from costdb.prices.unpriced import unpriced_since

if TYPE_CHECKING:
    import psycopg


class UnpricedCallsMetrics:
    """The calls of the last hour that no price covered."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.unpriced = Gauge(
            "costdb_unpriced_calls_last_hour",
            "Calls of the last hour no price covered (costdb prices missing names them); "
            f"read at most every {DATA_READ_SECONDS:g} s.",
            registry=registry,
        )

    def read(self, connection: psycopg.Connection[Any]) -> None:
        since = datetime.now(UTC) - timedelta(hours=1)
        self.unpriced.set(sum(name.calls for name in unpriced_since(connection, since)))
