"""The expected schema, read from the generated ``manifest.json``.

Every definition in it is what PostgreSQL itself printed for a database freshly migrated by
this code (``costdb.migrate.manifest_builder``), restricted to the models' tables: comparing
it with a live catalog compares like with like. On the CLI probe's start-up path: no
SQLAlchemy, and os.path rather than pathlib.
"""

from __future__ import annotations

import json
import os.path
from dataclasses import dataclass
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
class Manifest:
    """What a healthy database holds: written by ``costdb.migrate.manifest_builder``."""

    revisions: tuple[str, ...]
    extensions: dict[str, str]
    tables: dict[str, dict[str, ExpectedColumn]]
    indexes: tuple[ExpectedIndex, ...]
    constraints: dict[str, dict[str, str]]  # table -> constraint name -> definition
    routines: dict[str, str]  # function signature -> "result volatility"
    views: dict[str, dict[str, ExpectedColumn]]

    @property
    def head(self) -> str:
        return self.revisions[-1]

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
        )


def load_manifest(path: str = MANIFEST_PATH) -> Manifest:
    with open(path, encoding="utf-8") as manifest:
        return Manifest.from_dict(json.load(manifest))
