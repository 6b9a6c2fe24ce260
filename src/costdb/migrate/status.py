"""``costdb status``: the revision, the head, what is pending, and the history with checksums."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from costdb.db.engine import connect
from costdb.migrate.history import read_history, script_checksum
from costdb.migrate.runner import require_known_revision
from costdb.migrate.scripts import script_directory
from costdb.settings import DatabaseSettings


@dataclass(frozen=True)
class AppliedEntry:
    """One row of the history, and whether its script is still the one that was applied."""

    revision: str
    checksum: str
    script_unchanged: bool
    applied_at: str
    applied_by: str
    duration_ms: int
    how: str


@dataclass(frozen=True)
class MigrationStatus:
    database: str
    current: str | None
    head: str
    pending: list[str]
    history: list[AppliedEntry]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def read_status(settings: DatabaseSettings) -> MigrationStatus:
    """The state of ``settings``' database against the scripts this code ships."""
    scripts = script_directory()
    with connect(settings, "costdb-status") as connection:
        state = require_known_revision(connection, scripts)
        history = read_history(connection)
    entries = [
        AppliedEntry(
            revision=entry.revision,
            checksum=entry.checksum,
            script_unchanged=entry.checksum == script_checksum(scripts, entry.revision),
            applied_at=entry.applied_at.isoformat(),
            applied_by=entry.applied_by,
            duration_ms=entry.duration_ms,
            how=entry.how,
        )
        for entry in history
    ]
    return MigrationStatus(
        settings.safe_url, state.current, state.head, list(state.pending), entries
    )
