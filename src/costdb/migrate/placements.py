"""Where each costdb table lives on a Citus cluster: the one statement of the Citus mode's
layout, read by the distribution step and written into the probe's manifest.

- ``events`` is distributed by ``id``: a single-tenant install still spreads over every shard,
  and an event is found by its key alone (the spec's ``ON CONFLICT (id)`` upsert keeps working).
- ``prompt_analysis`` and ``prompt_embeddings`` are distributed by ``event_id`` and co-located
  with ``events``: an event's rows sit on its shard, so the foreign keys, their cascades and the
  joins stay local to a shard.
- ``cost_aggregates`` is distributed by ``project_id``: a dashboard reading one project's
  roll-ups reads one shard, and the roll-up's ``ON CONFLICT`` key contains the column.
- The pricing tables are reference tables (a copy on every node): every cost computation joins
  them with events, wherever the events are.
- ``costdb_spend_hourly`` is distributed by ``project_id`` and co-located with
  ``cost_aggregates``: a budget reads one project's hours from one shard. ``budgets``,
  ``budget_alerts``, ``costdb_rollup_coverage`` and ``costdb_backups`` are small reference
  tables (the alerts' foreign key needs its budgets on the same node).

Citus requires every unique constraint of a distributed table to contain its distribution
column, so the primary keys of the three tables not distributed by ``id`` become
(distribution column, ``id``) under the same names. ``alembic_version`` and the migration
history are not listed: they stay plain tables on the coordinator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from costdb.verify.manifest import ExpectedPlacement

Kind = Literal["distributed", "reference"]


@dataclass(frozen=True)
class Placement:
    """One table's place: ``column`` distributes it; ``colocate_with`` names a table placed
    earlier; ``primary_key`` is its Citus-mode key where the distribution column must join it."""

    table: str
    kind: Kind
    column: str | None = None
    colocate_with: str | None = None
    primary_key: tuple[str, ...] | None = None

    @property
    def expected(self) -> ExpectedPlacement:
        """What the probe checks (the manifest's ``citus.placements`` entry)."""
        return ExpectedPlacement(self.kind, self.column, self.colocate_with)


PLACEMENTS = (
    Placement("model_pricing", "reference"),
    Placement("model_pricing_tiers", "reference"),
    Placement("costdb_model_names", "reference"),
    Placement("costdb_model_match_rules", "reference"),
    Placement("costdb_repricing", "reference"),
    Placement("costdb_rollup_coverage", "reference"),
    Placement("costdb_backups", "reference"),
    Placement("budgets", "reference"),
    Placement("budget_alerts", "reference"),
    Placement("events", "distributed", "id"),
    Placement(
        "prompt_analysis", "distributed", "event_id", "events", primary_key=("event_id", "id")
    ),
    Placement(
        "prompt_embeddings", "distributed", "event_id", "events", primary_key=("event_id", "id")
    ),
    Placement("cost_aggregates", "distributed", "project_id", primary_key=("project_id", "id")),
    Placement("costdb_spend_hourly", "distributed", "project_id", "cost_aggregates"),
)
"""In the order they are placed: reference tables first (others' foreign keys point at them),
then each co-location group's first table before the tables co-located with it."""


def primary_key_statement(placement: Placement) -> str | None:
    """The ALTER that gives ``placement``'s table its Citus-mode primary key, name kept (drop
    and add in one statement: one lock), or None when its key already suits Citus."""
    if placement.primary_key is None:
        return None
    table = placement.table
    return (
        f"ALTER TABLE {table} DROP CONSTRAINT {table}_pkey, "
        f"ADD CONSTRAINT {table}_pkey PRIMARY KEY ({', '.join(placement.primary_key)})"
    )
