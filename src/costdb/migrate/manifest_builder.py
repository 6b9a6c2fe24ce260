"""Writes the health probe's manifest: the catalog of a database freshly migrated by this code.

PostgreSQL normalises what it stores (a ``BETWEEN`` becomes two comparisons with casts, an
``IN`` list an ``= ANY (ARRAY[...])``), so expectations written from the models' text would
never match a catalog. The manifest is therefore what PostgreSQL itself prints for a database
that the shipped migrations brought from empty to head, restricted to the models' tables and
their indexes and constraints, and the functions and views the migrations create; a test proves
the committed file equals a fresh migration's (``make manifest`` writes it), and Alembic's own
check proves the models equal the migrations. The probe reads this compact JSON and never
imports SQLAlchemy or Alembic.

The Citus mode's expectations are read the same way: the distribution step's primary-key
changes are applied to the fresh database in a transaction that is rolled back, and what
PostgreSQL prints for the new keys is recorded beside each table's placement.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import psycopg

from costdb.migrate.history import HISTORY_TABLE
from costdb.migrate.placements import PLACEMENTS, primary_key_statement
from costdb.migrate.scripts import script_directory
from costdb.schema import REQUIRED_EXTENSIONS, metadata
from costdb.verify.catalog import read_snapshot

_BOOKKEEPING = ("alembic_version", HISTORY_TABLE)


def _revisions_oldest_first() -> list[str]:
    scripts = script_directory()
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]


def _citus_expectations(connection: psycopg.Connection[Any]) -> dict[str, Any]:
    rekeyed = [p.table for p in PLACEMENTS if p.primary_key is not None]
    with connection.transaction(force_rollback=True):
        for statement in filter(None, map(primary_key_statement, PLACEMENTS)):
            connection.execute(statement.encode())
        snapshot = read_snapshot(connection)
    return {
        "placements": {p.table: asdict(p.expected) for p in PLACEMENTS},
        "constraints": {
            table: {f"{table}_pkey": snapshot.constraints[table][f"{table}_pkey"]["definition"]}
            for table in rekeyed
        },
        "indexes": {
            f"{table}_pkey": snapshot.indexes[f"{table}_pkey"]["definition"] for table in rekeyed
        },
    }


def build_manifest(connection: psycopg.Connection[Any]) -> dict[str, Any]:
    """The manifest for the database behind ``connection``, which must be freshly migrated."""
    snapshot = read_snapshot(connection)
    tables = sorted(metadata.tables)
    missing = [table for table in tables if table not in snapshot.tables]
    if missing:
        raise ValueError(f"the database is not migrated: no {', '.join(missing)}")
    indexes = {
        name: {"table": entry["table"], "definition": entry["definition"]}
        for name, entry in sorted(snapshot.indexes.items())
        if entry["table"] in metadata.tables
    }
    constraints = {
        table: {
            name: entry["definition"]
            for name, entry in sorted(snapshot.constraints.get(table, {}).items())
        }
        for table in tables
    }
    return {
        "revisions": _revisions_oldest_first(),
        "extensions": REQUIRED_EXTENSIONS,
        "tables": {
            table: {
                column.name: snapshot.tables[table][column.name]
                for column in metadata.tables[table].columns
            }
            for table in tables
        },
        "indexes": indexes,
        "constraints": constraints,
        # What the migrations create beyond the models (the models cannot declare them): every
        # function no extension owns, and every relation that is neither a model's table nor
        # the bookkeeping (the views).
        "routines": dict(sorted(snapshot.routines.items())),
        "views": {
            name: columns
            for name, columns in sorted(snapshot.tables.items())
            if name not in metadata.tables and name not in _BOOKKEEPING
        },
        "citus": _citus_expectations(connection),
    }


def render_manifest(connection: psycopg.Connection[Any]) -> str:
    return json.dumps(build_manifest(connection), indent=2) + "\n"
