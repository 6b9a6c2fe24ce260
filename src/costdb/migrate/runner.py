"""Bring a database to the head revision: one transaction per migration, each one recorded.

Before anything is applied, the history is verified (no applied script changed, the
database is not newer than the scripts). Each migration then runs in its own transaction,
and its history row is written inside that same transaction: a migration that fails leaves
neither its changes nor a row behind, and the revision stays at the last one that succeeded.
The runner upgrades one revision at a time, so it always knows which step is running: a
failure names that migration, or the bookkeeping step after the last one, and the revision the
database really stays at (read back from it). With the migration lock given, each migration
proves inside its own transaction, before it commits, that the lock is still held.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext, MigrationInfo
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError

from costdb.db.connection import server_message
from costdb.errors import CostdbError
from costdb.exit_codes import ExitCode
from costdb.migrate.history import (
    ensure_history_table,
    protect_bookkeeping,
    record,
    runner_identity,
    verify_and_adopt,
)
from costdb.migrate.lock import LockLost, MigrationLock
from costdb.migrate.scripts import (
    RevisionState,
    alembic_config,
    revision_state,
    script_directory,
)

BOOKKEEPING_STEP = "the final bookkeeping (privileges on alembic_version and the history)"


class UnknownRevision(CostdbError):
    """The database is at a revision this code does not ship: it is newer than this image."""

    exit_code = ExitCode.DATABASE_NEWER


class MigrationFailed(CostdbError):
    """A step of the upgrade raised; its transaction was rolled back.

    ``step`` is the migration that was running (or the bookkeeping step), ``reached`` the
    revision the database stays at, ``reason`` the server's message.
    """

    exit_code = ExitCode.FAILED

    def __init__(self, step: str, reached: str, reason: str) -> None:
        super().__init__(
            f"{step} failed: {reason}; it was rolled back and the database stays at {reached}"
        )
        self.step = step
        self.reached = reached
        self.reason = reason


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


class _Upgrade:
    """One upgrade run: what is running now, what has been applied, and its records."""

    def __init__(
        self,
        connection: Connection,
        config: Config,
        scripts: ScriptDirectory,
        on_applied: Callable[[Applied], None] | None,
        lock: MigrationLock | None,
    ) -> None:
        self.lock = lock
        self.connection = connection
        self.config = config
        self.scripts = scripts
        self.on_applied = on_applied
        self.identity = runner_identity(connection)
        self.applied: list[Applied] = []
        self._started = 0.0

    def _record(self, *, ctx: Any, step: MigrationInfo, **_: Any) -> None:
        """Alembic's ``on_version_apply``: inside the migration's own transaction."""
        if self.lock is not None:
            self.lock.verify(ctx.connection)  # before this migration can commit
        revision = str(step.up_revision_id)
        duration_ms = round((time.monotonic() - self._started) * 1000)
        record(ctx.connection, self.scripts, revision, self.identity, duration_ms)
        script = self.scripts.get_revision(revision)
        done = Applied(revision, script.doc if script else "", duration_ms)
        self.applied.append(done)
        if self.on_applied is not None:
            self.on_applied(done)

    def run(self, state: RevisionState) -> None:
        reached = state.current or "base (empty)"
        self.config.attributes["connection"] = self.connection
        self.config.attributes["on_version_apply"] = (self._record,)
        try:
            for revision in state.pending:
                self._step(f"migration {revision}", reached, self._apply, revision)
                reached = revision
            self._step(BOOKKEEPING_STEP, reached, self._finish)
        finally:
            del self.config.attributes["connection"], self.config.attributes["on_version_apply"]

    def _apply(self, revision: str) -> None:
        self._started = time.monotonic()
        command.upgrade(self.config, revision)

    def _finish(self) -> None:
        protect_bookkeeping(self.connection)
        self.connection.commit()

    def _step(self, name: str, reached: str, action: Callable[..., None], *args: str) -> None:
        try:
            action(*args)
        except (SQLAlchemyError, LockLost) as exc:
            reason = str(exc) if isinstance(exc, LockLost) else server_message(exc)
            raise MigrationFailed(name, self._reached(reached), reason) from None

    def _reached(self, expected: str) -> str:
        """The revision the database is really at after a failed step (it is re-read: another
        runner may have moved it); ``expected`` when it cannot be read."""
        try:
            self.connection.rollback()
            current = MigrationContext.configure(self.connection).get_current_revision()
            self.connection.rollback()
        except SQLAlchemyError:
            return f"{expected} (as far as this runner knows: the connection failed)"
        return current or "base (empty)"


def upgrade_to_head(
    connection: Connection,
    config: Config | None = None,
    on_applied: Callable[[Applied], None] | None = None,
    lock: MigrationLock | None = None,
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
    upgrade = _Upgrade(connection, config, scripts, on_applied, lock)
    connection.commit()  # end the reads' implicit transaction before Alembic opens its own
    upgrade.run(state)
    return upgrade.applied
