"""The Citus mode's distribution step: every costdb table placed as ``PLACEMENTS`` says, in
one transaction, or nothing.

Run by ``costdb migrate`` after the upgrade whenever the ``citus`` extension is present in the
database (detected, never configured). It is idempotent: Citus's own metadata
(``pg_dist_partition``, read by the probe's catalog query) decides what is left to do, so a
database already distributed costs one catalog read, and a table placed otherwise is refused
with the probe's own verdict. One transaction matters: Citus lets ``events`` be distributed
while its child tables are still local, and then ``ON DELETE CASCADE`` silently stops reaching
them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from costdb.db.connection import server_message
from costdb.errors import CostdbError
from costdb.exit_codes import ExitCode
from costdb.migrate.placements import PLACEMENTS, Placement, primary_key_statement
from costdb.settings import load_ddl_timeouts
from costdb.verify.catalog import CITUS_LOCAL_TABLE, read_snapshot
from costdb.verify.checks import colocation_problem, misplacement

SHARDS_PER_NODE = 4
"""The default shard count is this many per node that holds shards (8 for two workers): few
enough that each shard's HNSW index is worth using and a fan-out query stays cheap, enough to
spread over twice as many nodes later without re-sharding (``alter_distributed_table``)."""


class DistributionFailed(CostdbError):
    """The Citus distribution step could not run or was refused; nothing was distributed."""

    exit_code = ExitCode.FAILED


@dataclass(frozen=True)
class Distribution:
    placed: list[Placement]
    shard_count: int | None  # None when nothing was left to distribute


def citus_installed(connection: Connection) -> bool:
    query = text("SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')")
    return bool(connection.execute(query).scalar_one())


def _placed_tables(connection: Connection) -> dict[str, dict[str, Any]]:
    """The public tables Citus has distributed or made reference tables, as the probe's catalog
    read reports them. A Citus local table (Citus makes one of a plain table that a reference
    table's foreign key involves) is left out: it is still to be placed, and Citus converts it
    in place."""
    driver = connection.connection.driver_connection  # psycopg's, in this same transaction
    if driver is None:
        raise DistributionFailed("the connection to the database was closed")
    snapshot = read_snapshot(driver)
    tables: dict[str, dict[str, Any]] = (snapshot.citus or {}).get("tables", {})
    return {name: have for name, have in tables.items() if have["kind"] != CITUS_LOCAL_TABLE}


def _misplacements(placed: dict[str, dict[str, Any]]) -> Iterator[str]:
    """The probe's own verdicts, for the tables Citus has placed already."""
    for placement in PLACEMENTS:
        have = placed.get(placement.table)
        if have is None:
            continue
        if (problem := misplacement(placement.table, placement.expected, have)) is not None:
            yield problem
        partner = placement.colocate_with
        if partner in placed and (problem := colocation_problem(placement.table, partner, placed)):
            yield problem


def default_shard_count(connection: Connection) -> int:
    nodes = connection.execute(
        text(
            "SELECT count(*) FROM pg_dist_node "
            "WHERE isactive AND noderole = 'primary' AND shouldhaveshards"
        )
    ).scalar_one()
    if not nodes:
        raise DistributionFailed(
            "Citus is installed but no node can hold shards: register the workers on the "
            "coordinator first (SELECT citus_add_node('worker-host', 5432))"
        )
    return int(nodes) * SHARDS_PER_NODE


def _place(connection: Connection, placement: Placement, shard_count: int) -> None:
    table = placement.table
    if placement.kind == "reference":
        connection.execute(text("SELECT create_reference_table(:t)"), {"t": table})
    elif placement.colocate_with is not None:
        connection.execute(
            text("SELECT create_distributed_table(:t, :c, colocate_with => :w)"),
            {"t": table, "c": placement.column, "w": placement.colocate_with},
        )
    else:
        connection.execute(
            text(
                "SELECT create_distributed_table(:t, :c, "
                "colocate_with => 'none', shard_count => :n)"
            ),
            {"t": table, "c": placement.column, "n": shard_count},
        )


def distribute(connection: Connection, shard_count: int | None = None) -> Distribution:
    """Place every table not yet placed (``shard_count`` or the default), in one transaction.

    ``connection`` must not be inside a transaction. Raises ``DistributionFailed`` naming the
    table when one is already placed otherwise than costdb needs (moving it is the operator's
    decision: ``undistribute_table``), or when Citus refuses.
    """
    try:
        placed = _placed_tables(connection)
        wrong = list(_misplacements(placed))
        if wrong:
            raise DistributionFailed("; ".join(wrong))
        todo = [p for p in PLACEMENTS if p.table not in placed]
        if not todo:
            connection.rollback()
            return Distribution([], None)
        shards = shard_count or default_shard_count(connection)
        # As for every migration: give up rather than queue the application behind the
        # tables' locks, and never run unbounded (the copy of existing rows included).
        for statement in load_ddl_timeouts().set_statements("LOCAL"):
            connection.execute(text(statement))
        for statement in filter(None, map(primary_key_statement, todo)):
            connection.execute(text(statement))
        for placement in todo:
            _place(connection, placement, shards)
        for placement in todo:  # the rows now live in the shards; the local copies go
            connection.execute(
                text("SELECT truncate_local_data_after_distributing_table(:t)"),
                {"t": placement.table},
            )
        connection.commit()
    except SQLAlchemyError as exc:
        connection.rollback()
        raise DistributionFailed(
            f"distributing the tables on Citus failed: {server_message(exc)}; "
            "rolled back, nothing was distributed"
        ) from None
    return Distribution(todo, shards)
