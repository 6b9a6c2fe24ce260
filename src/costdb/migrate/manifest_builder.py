"""Writes the health probe's manifest: what a healthy database holds, from models and scripts.

The probe must start fast, so it does not import SQLAlchemy or Alembic: it reads this compact
JSON instead. The manifest is generated, never edited (``make manifest``), and a test proves
that the committed file equals what the models and the migration scripts declare.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, Index, PrimaryKeyConstraint, Table

from costdb.migrate.scripts import script_directory
from costdb.schema import REQUIRED_EXTENSIONS, metadata


def _index_entry(table: Table, index: Index) -> dict[str, Any]:
    options = index.dialect_options["postgresql"]
    columns = [column.name for column in index.columns]
    operator_classes = options["ops"] or {}
    return {
        "table": table.name,
        "method": options["using"] or "btree",
        "unique": bool(index.unique),
        "columns": columns,
        "opclasses": [operator_classes.get(column) for column in columns]
        if operator_classes
        else None,
    }


def _primary_key_entry(table: Table, key: PrimaryKeyConstraint) -> dict[str, Any]:
    return {
        "table": table.name,
        "method": "btree",
        "unique": True,
        "columns": [column.name for column in key.columns],
        "opclasses": None,
    }


def _revisions_oldest_first() -> list[str]:
    scripts = script_directory()
    return [script.revision for script in reversed(list(scripts.walk_revisions()))]


def build_manifest() -> dict[str, Any]:
    """Every table, column, index and constraint of the models, and the scripts' revisions."""
    tables: dict[str, list[str]] = {}
    indexes: dict[str, dict[str, Any]] = {}
    constraints: dict[str, str] = {}
    for table in metadata.sorted_tables:
        tables[table.name] = [column.name for column in table.columns]
        indexes[str(table.primary_key.name)] = _primary_key_entry(table, table.primary_key)
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            indexes[str(index.name)] = _index_entry(table, index)
        for constraint in table.constraints:
            if isinstance(
                constraint, CheckConstraint | ForeignKeyConstraint | PrimaryKeyConstraint
            ):
                constraints[str(constraint.name)] = table.name
    return {
        "revisions": _revisions_oldest_first(),
        "extensions": REQUIRED_EXTENSIONS,
        "tables": tables,
        "indexes": indexes,
        "constraints": dict(sorted(constraints.items())),
    }


def render_manifest() -> str:
    return json.dumps(build_manifest(), indent=2) + "\n"
