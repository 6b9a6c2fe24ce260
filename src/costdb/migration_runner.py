"""Bring a database to the head revision: one transaction per migration, each one recorded.

Before anything is applied, the history is verified (no applied script changed, the
database is not newer than the scripts). Each migration then runs in its own transaction,
and its history row is written inside that same transaction: a migration that fails leaves
neither its changes nor a row behind, and the revision stays at the last one that succeeded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationInfo
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from costdb.connection_errors import server_message
from costdb.errors import CostdbError
from costdb.history import (
    ensure_history_table,
    protect_bookkeeping,
    record,
    runner_identity,
    verify_and_adopt,
)
from costdb.migration_scripts import RevisionState, alembic_config, revision_state, script_directory


class UnknownRevision(CostdbError):
    """The database is at a revision this code does not ship: it is newer than this image."""

    exit_code = 3


class MigrationFailed(CostdbError):
    """A migration raised; its transaction was rolled back."""

    exit_code = 1


@dataclass(frozen=True)
class Applied:
    revision: str
    description: str
    duration_ms: int


def require_known_revision(
    connection: Connection, scripts: ScriptDirectory | None = None
) -> RevisionState:
    state = revision_state(connection, scripts)
    if not state.known:
        raise UnknownRevision(
            f"database revision {state.current} is newer than this image (head {state.head}); "
            "run a costdb image at least as new as the one that migrated it"
        )
    return state


def upgrade_to_head(
    connection: Connection,
    config: Config | None = None,
    on_applied: Callable[[Applied], None] | None = None,
) -> list[Applied]:
    """Verify the history, apply every pending migration, return what was applied.

    ``connection`` must not be inside a transaction: Alembic then opens one per migration.
    ``config`` names other scripts than costdb's own (tests use this).
    """
    config = config or alembic_config()
    scripts = script_directory(config)
    state = require_known_revision(connection, scripts)
    ensure_history_table(connection)
    verify_and_adopt(connection, scripts, state.current)
    identity = runner_identity(connection)
    if state.at_head:
        protect_bookkeeping(connection)
        connection.commit()
        return []
    connection.commit()  # end the reads' implicit transaction before Alembic opens its own

    applied: list[Applied] = []
    step_started = time.monotonic()

    def on_version_apply(*, ctx: Any, step: MigrationInfo, **_: Any) -> None:
        nonlocal step_started
        revision = str(step.up_revision_id)
        duration_ms = round((time.monotonic() - step_started) * 1000)
        record(ctx.connection, scripts, revision, applied_by=identity, duration_ms=duration_ms)
        script = scripts.get_revision(revision)
        done = Applied(revision, script.doc if script else "", duration_ms)
        applied.append(done)
        if on_applied is not None:
            on_applied(done)
        step_started = time.monotonic()

    config.attributes["connection"] = connection
    config.attributes["on_version_apply"] = (on_version_apply,)
    try:
        command.upgrade(config, "head")
        protect_bookkeeping(connection)
        connection.commit()
    except SQLAlchemyError as exc:
        connection.rollback()
        failed = state.pending[len(applied)]
        reached = applied[-1].revision if applied else (state.current or "base (empty)")
        raise MigrationFailed(
            f"migration {failed} failed: {server_message(exc)}; it was rolled back and the "
            f"database stays at {reached}"
        ) from None
    finally:
        del config.attributes["connection"], config.attributes["on_version_apply"]
    return applied
