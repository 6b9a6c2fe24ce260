"""``costdb similar``: the database's ``costdb_similar_prompts``, as rows for the command."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from costdb import defaults
from costdb.db.maintenance_session import maintenance_connection
from costdb.errors import ConfigError, CostdbError
from costdb.settings import DatabaseSettings

QUERY = (
    "SELECT event_id, similarity, exact_duplicate, created_at"
    " FROM costdb_similar_prompts(%s, %s, %s)"
)


@dataclass(frozen=True)
class SimilarPrompt:
    event_id: uuid.UUID
    similarity: float
    exact_duplicate: bool
    created_at: datetime

    def as_dict(self) -> dict[str, object]:
        return {
            "event_id": str(self.event_id),
            "similarity": round(self.similarity, 6),
            "exact_duplicate": self.exact_duplicate,
            "created_at": self.created_at.isoformat(),
        }


def find_similar(
    settings: DatabaseSettings, event_id: str, k: int, min_similarity: float
) -> list[SimilarPrompt]:
    """The ``k`` most similar earlier prompts of the event's project, exact duplicates first.
    An id that is not a UUID, or an event without an embedding, is one clear error."""
    try:
        target = uuid.UUID(event_id)
    except ValueError:
        raise ConfigError(f"EVENT_ID: {event_id!r} is not a UUID") from None
    wait = defaults.INTERACTIVE_WAIT_SECONDS
    with maintenance_connection(settings, "costdb-similar", wait) as connection:
        embedded = connection.execute(
            "SELECT 1 FROM prompt_embeddings WHERE event_id = %s", (target,)
        ).fetchone()
        if embedded is None:
            raise CostdbError(f"event {target} has no prompt embedding (or does not exist)")
        rows = connection.execute(QUERY, (target, k, min_similarity)).fetchall()
    return [SimilarPrompt(*row) for row in rows]
