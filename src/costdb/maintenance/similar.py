"""``costdb similar``: the database's ``costdb_similar_prompts``, as rows for the command."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from costdb.errors import ConfigError, CostdbError

if TYPE_CHECKING:
    import psycopg

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


def event_id_from(text: str) -> uuid.UUID:
    """EVENT_ID as a UUID, or one clear error before any connection is opened."""
    try:
        return uuid.UUID(text)
    except ValueError:
        raise ConfigError(f"EVENT_ID: {text!r} is not a UUID") from None


def find_similar(
    connection: psycopg.Connection[Any], target: uuid.UUID, k: int, min_similarity: float
) -> list[SimilarPrompt]:
    """The ``k`` most similar earlier prompts of the event's project, exact duplicates first.
    An event without an embedding is one clear error."""
    embedded = connection.execute(
        "SELECT 1 FROM prompt_embeddings WHERE event_id = %s", (target,)
    ).fetchone()
    if embedded is None:
        raise CostdbError(f"event {target} has no prompt embedding (or does not exist)")
    rows = connection.execute(QUERY, (target, k, min_similarity)).fetchall()
    return [SimilarPrompt(*row) for row in rows]
