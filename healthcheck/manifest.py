"""The expected schema, read from the generated ``manifest.json``.

On the CLI probe's start-up path: no SQLAlchemy, and os.path rather than pathlib.
"""

from __future__ import annotations

import json
import os.path
from dataclasses import dataclass
from typing import Any

MANIFEST_PATH = os.path.join(os.path.dirname(__file__), "manifest.json")


@dataclass(frozen=True)
class ExpectedIndex:
    name: str
    table: str
    method: str
    unique: bool
    columns: tuple[str, ...]
    opclasses: tuple[str | None, ...] | None

    def describe(self) -> str:
        unique = "unique " if self.unique else ""
        return f"{unique}{self.method} on {self.table} ({', '.join(self.columns)})"


@dataclass(frozen=True)
class Manifest:
    """What a healthy database holds: written by ``costdb.migrate.manifest_builder``."""

    revisions: tuple[str, ...]
    extensions: dict[str, str]
    tables: dict[str, tuple[str, ...]]
    indexes: tuple[ExpectedIndex, ...]
    constraints: dict[str, str]

    @property
    def head(self) -> str:
        return self.revisions[-1]

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Manifest:
        return cls(
            revisions=tuple(raw["revisions"]),
            extensions=dict(raw["extensions"]),
            tables={name: tuple(columns) for name, columns in raw["tables"].items()},
            indexes=tuple(
                ExpectedIndex(
                    name=name,
                    table=entry["table"],
                    method=entry["method"],
                    unique=entry["unique"],
                    columns=tuple(entry["columns"]),
                    opclasses=tuple(entry["opclasses"]) if entry["opclasses"] else None,
                )
                for name, entry in raw["indexes"].items()
            ),
            constraints=dict(raw["constraints"]),
        )


def load_manifest(path: str = MANIFEST_PATH) -> Manifest:
    with open(path, encoding="utf-8") as manifest:
        return Manifest.from_dict(json.load(manifest))
