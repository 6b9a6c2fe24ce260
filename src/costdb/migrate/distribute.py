"""The Citus mode's distribution step: every costdb table placed as ``PLACEMENTS`` says, in
one transaction, or nothing.

Run by ``costdb migrate`` after the upgrade whenever the ``citus`` extension is present in the
database (detected, never configured). It is idempotent: Citus's own metadata
(``pg_dist_partition``) decides what is left to do, so a database already distributed costs
one catalog read. One transaction matters: Citus lets ``events`` be distributed while its child
tables are still local, and then ``ON DELETE CASCADE`` silently stops reaching them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from costdb.connection import server_message
from costdb.errors import CostdbError
from costdb.exit_codes import ExitCode
from costdb.migrate.placements import PLACEMENTS, Placement, primary_key_statement
from costdb.settings import load_ddl_timeouts

SHARDS_PER_NODE = 4
"""The default shard count is this many per node that holds shards (8 for two workers): few
enough that each shard's HNSW index is worth using and a fan-out query stays cheap, enough to
spread over twice as many nodes later without re-sharding (``alter_distributed_table``)."""

_PLACED = text(
    """
    SELECT c.relname, p.partmethod, column_to_column_name(p.logicalrelid, p.partkey),
           p.repmodel, p.colocationid
    FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid
    WHERE c.relnamespace = 'public'::regnamespace
    """
)


class DistributionFailed(CostdbError):
    """The Citus distribution step could not run or was refused; nothing was distributed."""

    exit_code = ExitCode.FAILED


@dataclass(frozen=True)
class Found:
    """A table as Citus has it."""

    kind: str  # distributed or reference
    column: str | None
    colocation: int


@dataclass(frozen=True)
class Distribution:
    placed: list[Placement]
    shard_count: int | None  # None when nothing was left to distribute


def citus_installed(connection: Connection) -> bool:
    query = text("SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')")
    return bool(connection.execute(query).scalar_one())


def _found(connection: Connection) -> dict[str, Found]:
    """The public tables Citus has distributed or made reference tables. A Citus local table
    (Citus makes one of a plain table that a reference table's foreign key involves) is left
    out: it is still to be placed, and Citus converts it in place."""
    found = {}
    for table, method, column, replication, colocation in connection.execute(_PLACED):
        if method == "h":
            found[table] = Found("distributed", column, colocation)
        elif replication == "t":
            found[table] = Found("reference", column, colocation)
    return found


def misplacement(placement: Placement, found: dict[str, Found]) -> str | None:
    """Why a table Citus already placed is not where costdb needs it, or None."""
    have = found[placement.table]
    if have.kind != placement.kind or have.column != placement.column:
        where = f"{have.kind} by {have.column}" if have.column else have.kind
        return f"table {placement.table} is {where}; costdb needs it {placement.describe()}"
    partner = found.get(placement.colocate_with or "")
    if partner is not None and partner.colocation != have.colocation:
        return f"table {placement.table} is not co-located with {placement.colocate_with}"
    return None


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
        found = _found(connection)
        wrong = [m for p in PLACEMENTS if p.table in found if (m := misplacement(p, found))]
        if wrong:
            raise DistributionFailed("; ".join(wrong))
        todo = [p for p in PLACEMENTS if p.table not in found]
        if not todo:
            connection.rollback()
            return Distribution([], None)
        shards = shard_count or default_shard_count(connection)
        # As for every migration: give up rather than queue the application behind the
        # tables' locks, and never run unbounded (the copy of existing rows included).
        timeouts = load_ddl_timeouts()
        connection.execute(text(f"SET LOCAL lock_timeout = '{timeouts.lock_timeout}'"))
        connection.execute(text(f"SET LOCAL statement_timeout = '{timeouts.statement_timeout}'"))
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
