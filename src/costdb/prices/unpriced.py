"""Calls no price covers, by (provider, model): the one definition, for ``costdb prices
missing`` and the health server's ``costdb_unpriced_calls_last_hour``, so that no call goes
unpriced in silence (a dashboard would just show less than was spent)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

# A call is priced when its resolved name (else its own) has a price row in effect at its
# time: exactly when its created_at is not before that name's first effective_date (a row's
# input and output prices are NOT NULL, so the cost view then computes a cost). The first
# effective date of every name that has one is a small table (one row per priced or resolved
# name); the events of the range are read once, in parallel, against it: never a cost per call.
UNPRICED = """
SELECT e.provider, e.model, count(*), sum(e.input_tokens)::bigint, sum(e.output_tokens)::bigint,
       min(e.created_at), max(e.created_at), sum(e.estimated_cost_usd)
FROM events e
LEFT JOIN (
  SELECT n.provider, n.model, min(p.effective_date) AS first_price
  FROM costdb_model_names n
  JOIN model_pricing p ON p.provider = n.priced_provider AND p.model = n.priced_model
  GROUP BY n.provider, n.model
  UNION ALL
  SELECT p.provider, p.model, min(p.effective_date)
  FROM model_pricing p
  WHERE NOT EXISTS (SELECT FROM costdb_model_names n
                    WHERE n.provider = p.provider AND n.model = p.model)
  GROUP BY p.provider, p.model
) AS firsts ON firsts.provider = e.provider AND firsts.model = e.model
WHERE e.created_at >= %(since)s
  AND (firsts.first_price IS NULL OR e.created_at < firsts.first_price)
GROUP BY e.provider, e.model
ORDER BY count(*) DESC, e.provider, e.model
"""


@dataclass(frozen=True)
class Unpriced:
    """Calls of one reported name that no price covered."""

    provider: str
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    first_seen: datetime
    last_seen: datetime
    estimated_cost_usd: Decimal

    def as_dict(self) -> dict[str, object]:
        fields = asdict(self)
        fields["first_seen"] = self.first_seen.isoformat()
        fields["last_seen"] = self.last_seen.isoformat()
        fields["estimated_cost_usd"] = str(self.estimated_cost_usd)
        return fields


def unpriced_since(connection: psycopg.Connection[Any], since: datetime) -> list[Unpriced]:
    """Names with calls since ``since`` that the cost view could not price, most calls first."""
    return [Unpriced(*row) for row in connection.execute(UNPRICED, {"since": since})]
