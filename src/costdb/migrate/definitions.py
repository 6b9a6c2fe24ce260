"""The database's functions and views, each in a file of its own, versioned.

``migrations/definitions/<name>/v<N>.sql`` is version N of one function or view: a complete
``CREATE OR REPLACE`` statement, the exact definition the revision that installed it left in the
database. ``index.json`` lists every version with the revision that installed it and its
sha256: a shipped version never changes (a test holds the checksums, as the migration history
holds the revisions'), so the current definition of anything is its newest file, and a
revision that changes one adds ``v<N+1>.sql`` and names both versions::

    def upgrade() -> None:
        install("costdb_event_cost", 4)

    def downgrade() -> None:
        install("costdb_event_cost", 3)

Revisions up to 0014 shipped with their SQL inline and stay as they are (their checksums are
in every database's history); ``index.json`` names the versions they installed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from costdb.paths import migrations_folder


def definitions_folder() -> Path:
    return Path(migrations_folder()) / "definitions"


@dataclass(frozen=True)
class Version:
    """One version of one function or view."""

    name: str
    kind: str  # "function" or "view"
    version: int
    installed_by: str  # the revision that installed it
    sha256: str

    @property
    def path(self) -> Path:
        return definitions_folder() / self.name / f"v{self.version}.sql"

    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


@cache
def versions() -> tuple[Version, ...]:
    """Every version of every definition, by name then version."""
    index = json.loads((definitions_folder() / "index.json").read_text(encoding="utf-8"))
    return tuple(
        Version(name, entry["kind"], number, installed["revision"], installed["sha256"])
        for name, entry in sorted(index.items())
        for number, installed in enumerate(entry["versions"], start=1)
    )


def version(name: str, number: int) -> Version:
    """Version ``number`` of ``name``; a missing one is a defect of the revision asking."""
    for found in versions():
        if (found.name, found.version) == (name, number):
            return found
    raise LookupError(f"no version {number} of {name} in {definitions_folder()}")


def install(name: str, number: int) -> None:
    """Run version ``number`` of ``name`` in the migration (from a revision's upgrade or
    downgrade: the one that installs it, or the one that restores it)."""
    from alembic import op  # noqa: PLC0415  (only inside a migration)

    op.execute(version(name, number).sql())
