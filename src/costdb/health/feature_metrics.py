"""What the features add to ``/metrics``, apart from the probe's own series.

Each feature owns its collector (``costdb.budgets.metrics``, ``costdb.prices.metrics``): it
declares its series and reads them over the health server's kept connection, at most once a
minute and only over a healthy schema. The probe never imports a feature: the collectors are
named here, as click names lazy commands, and loaded when the server starts (CloudNativePG
keeps its probes apart from its metric server the same way).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import psycopg
    from prometheus_client import CollectorRegistry

DATA_READ_SECONDS = 60.0
"""How often the features' series are read from the database, at most."""

COLLECTORS = (
    "costdb.prices.metrics:UnpricedCallsMetrics",
    "costdb.budgets.metrics:BudgetMetrics",
)
"""The features' collectors, ``module:class``; each class is made with the server's registry."""


class FeatureMetrics(Protocol):
    """A feature's series: made once with the registry, then ``read`` over a connection; a
    failed read (a ``psycopg.Error``) keeps the last values, for data is not health."""

    def read(self, connection: psycopg.Connection[Any]) -> None: ...


def load_feature_metrics(registry: CollectorRegistry) -> list[FeatureMetrics]:
    """Every collector of ``COLLECTORS``, its series registered in ``registry``."""
    collectors = []
    for target in COLLECTORS:
        module, name = target.split(":")
        collectors.append(getattr(importlib.import_module(module), name)(registry))
    return collectors
