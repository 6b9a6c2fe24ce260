"""The expected schema, read from the generated ``manifest.json``.

Every definition in it is what PostgreSQL itself printed for a database freshly migrated by
this code (``costdb.migrate.manifest_builder``), restricted to the models' tables: comparing
it with a live catalog compares like with like. On the CLI probe's start-up path: no
SQLAlchemy, and os.path rather than pathlib.
"""

from __future__ import annotations

import json
import os.path
from dataclasses import dataclass, field, replace
from typing import Any

MANIFEST_PATH = os.path.join(os.path.dirname(__file__), "manifest.json")


@dataclass(frozen=True)
class ExpectedColumn:
    type: str
    nullable: bool
    default: str | None

    def describe(self) -> str:
        null = "NULL" if self.nullable else "NOT NULL"
        default = f" DEFAULT {self.default}" if self.default is not None else ""
        return f"{self.type} {null}{default}"


@dataclass(frozen=True)
class ExpectedIndex:
    name: str
    table: str
    definition: str


def _relations(raw: dict[str, dict[str, Any]]) -> dict[str, dict[str, ExpectedColumn]]:
    return {
        relation: {name: ExpectedColumn(**column) for name, column in columns.items()}
        for relation, columns in raw.items()
    }


@dataclass(frozen=True)
class ExpectedPlacement:
    """Where a table must be on Citus (``costdb.migrate.placements``)."""

    kind: str  # distributed or reference
    column: str | None = None
    colocate_with: str | None = None

    def describe(self) -> str:
        if self.kind == "reference":
            return "a reference table"
        together = f", co-located with {self.colocate_with}" if self.colocate_with else ""
        return f"distributed by {self.column}{together}"


@dataclass(frozen=True)
class CitusExpectations:
    """What differs on a Citus coordinator: every table's placement, and the primary keys
    (constraint and index definitions) that include the distribution column."""

    placements: dict[str, ExpectedPlacement] = field(default_factory=dict)
    constraints: dict[str, dict[str, str]] = field(default_factory=dict)
    indexes: dict[str, str] = field(default_factory=dict)  # index name -> definition

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CitusExpectations:
        return cls(
            placements={
                table: ExpectedPlacement(**entry) for table, entry in raw["placements"].items()
            },
            constraints={table: dict(named) for table, named in raw["constraints"].items()},
            indexes=dict(raw["indexes"]),
        )


@dataclass(frozen=True)
class Manifest:
    """What a healthy database holds: written by ``costdb.migrate.manifest_builder``."""

    revisions: tuple[str, ...]
    extensions: dict[str, str]
    tables: dict[str, dict[str, ExpectedColumn]]
    indexes: tuple[ExpectedIndex, ...]
    constraints: dict[str, dict[str, str]]  # table -> constraint name -> definition
    routines: dict[str, str]  # function signature -> "result volatility"
    views: dict[str, dict[str, ExpectedColumn]]
    citus: CitusExpectations = CitusExpectations()

    @property
    def head(self) -> str:
        return self.revisions[-1]

    def on_citus(self) -> Manifest:
        """The expectations on a Citus coordinator: the Citus-mode primary keys in place of
        the plain ones, everything else unchanged."""
        constraints = {
            table: {**named, **self.citus.constraints.get(table, {})}
            for table, named in self.constraints.items()
        }
        indexes = tuple(
            replace(index, definition=self.citus.indexes.get(index.name, index.definition))
            for index in self.indexes
        )
        return replace(self, constraints=constraints, indexes=indexes)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Manifest:
        return cls(
            revisions=tuple(raw["revisions"]),
            extensions=dict(raw["extensions"]),
            tables=_relations(raw["tables"]),
            indexes=tuple(
                ExpectedIndex(name, entry["table"], entry["definition"])
                for name, entry in raw["indexes"].items()
            ),
            constraints={table: dict(named) for table, named in raw["constraints"].items()},
            routines=dict(raw["routines"]),
            views=_relations(raw["views"]),
            citus=CitusExpectations.from_dict(raw["citus"]),
        )


def load_manifest(path: str = MANIFEST_PATH) -> Manifest:
    with open(path, encoding="utf-8") as manifest:
        return Manifest.from_dict(json.load(manifest))
