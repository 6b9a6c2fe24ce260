"""Bring a database to the head revision, one transaction per migration."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection

from costdb.errors import CostdbError
from costdb.migration_scripts import RevisionState, alembic_config, revision_state


class UnknownRevision(CostdbError):
    """The database is at a revision this code does not ship: it is newer than this image."""

    exit_code = 3


def upgrade_to_head(connection: Connection) -> tuple[str, ...]:
    """Apply every pending migration; return the revisions applied, oldest first.

    ``connection`` must not be inside a transaction: Alembic then opens one per migration, so
    a failure rolls back that migration alone and the revision stays at the last good one.
    """
    state = require_known_revision(connection)
    connection.commit()  # end the read's implicit transaction before Alembic opens its own
    if state.at_head:
        return ()
    command.upgrade(alembic_config(connection), "head")
    connection.commit()
    return state.pending


def require_known_revision(connection: Connection) -> RevisionState:
    state = revision_state(connection)
    if not state.known:
        raise UnknownRevision(
            f"database revision {state.current} is newer than this image (head {state.head}); "
            "run a costdb image at least as new as the one that migrated it"
        )
    return state
