"""``costdb prices missing``: every (provider, model) with calls but no price in effect, so that
no call goes unpriced in silence (a dashboard would just show less than was spent)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

UNPRICED = """
SELECT e.provider, e.model, count(*), sum(e.input_tokens)::bigint, sum(e.output_tokens)::bigint,
       min(e.created_at), max(e.created_at), sum(e.estimated_cost_usd)
FROM events_with_cost e
WHERE e.created_at >= %s AND e.computed_cost_usd IS NULL
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
    return [Unpriced(*row) for row in connection.execute(UNPRICED, (since,))]
