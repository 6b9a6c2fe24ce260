"""``costdb similar``: the database's ``costdb_similar_prompts`` for people."""

from __future__ import annotations

import json
import uuid

import click

from costdb.db.maintenance_session import maintenance_connection
from costdb.errors import ConfigError, CostdbError
from costdb.settings import load_settings

QUERY = (
    "SELECT event_id, similarity, exact_duplicate, created_at"
    " FROM costdb_similar_prompts(%s, %s, %s)"
)


def print_similar(event_id: str, k: int, min_similarity: float, *, as_json: bool) -> None:
    try:
        target = uuid.UUID(event_id)
    except ValueError:
        raise ConfigError(f"EVENT_ID: {event_id!r} is not a UUID") from None
    with maintenance_connection(load_settings(), "costdb-similar", 5.0) as connection:
        embedded = connection.execute(
            "SELECT 1 FROM prompt_embeddings WHERE event_id = %s", (target,)
        ).fetchone()
        if embedded is None:
            raise CostdbError(f"event {target} has no prompt embedding (or does not exist)")
        rows = connection.execute(QUERY, (target, k, min_similarity)).fetchall()
    for similar_id, similarity, exact, created_at in rows:
        if as_json:
            click.echo(
                json.dumps(
                    {
                        "event_id": str(similar_id),
                        "similarity": round(similarity, 6),
                        "exact_duplicate": exact,
                        "created_at": created_at.isoformat(),
                    }
                )
            )
        else:
            kind = "exact" if exact else f"{similarity:.4f}"
            click.echo(f"{similar_id}  {kind:>8}  {created_at.isoformat()}")
    if not rows and not as_json:
        click.echo(f"no earlier prompt of this project at or above {min_similarity} similarity")
