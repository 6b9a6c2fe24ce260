"""Where costdb's Alembic scripts live and what revision a database is at."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection

from costdb.paths import migrations_folder


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config for costdb's scripts; ``connection``, if given, is the one env.py uses."""
    config = Config()
    config.set_main_option("script_location", migrations_folder())
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def script_directory(config: Config | None = None) -> ScriptDirectory:
    return ScriptDirectory.from_config(config or alembic_config())


@dataclass(frozen=True)
class RevisionState:
    """The database's revision against the scripts' head, and what lies between."""

    current: str | None
    head: str
    pending: tuple[str, ...]
    known: bool

    @property
    def at_head(self) -> bool:
        return self.current == self.head


def _is_known(scripts: ScriptDirectory, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:
        return False


def revision_state(connection: Connection, scripts: ScriptDirectory | None = None) -> RevisionState:
    """Read the database's revision (``None`` before the first migration) and compare it."""
    scripts = scripts or script_directory()
    head = scripts.get_current_head()
    if head is None:
        raise RuntimeError("costdb ships no migrations")  # a packaging defect, not user input
    current = MigrationContext.configure(connection).get_current_revision()
    if current is not None and not _is_known(scripts, current):
        return RevisionState(current, head, (), known=False)
    pending = tuple(
        script.revision for script in reversed(list(scripts.iterate_revisions(head, current)))
    )
    return RevisionState(current, head, pending, known=True)


def on_citus() -> bool:
    """Inside a running migration: whether the database has Citus (never for the offline SQL of
    ``costdb migrate --sql``, which is for plain PostgreSQL)."""
    from alembic import context, op  # noqa: PLC0415  (only a running migration has a context)

    from costdb.migrate.distribute import citus_installed  # noqa: PLC0415

    return not context.is_offline_mode() and citus_installed(op.get_bind())


def one_connection_per_worker() -> None:
    """Inside a running migration, on Citus: the rest of its transaction runs multi-shard
    commands over one connection per worker. After a parallel one (a scan or DDL of a
    distributed table) Citus refuses to alter a reference table in the same transaction; a
    migration that does both calls this first."""
    from alembic import op  # noqa: PLC0415

    if on_citus():
        op.execute("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")


def earlier_revision(revision: str) -> Any:
    """The module of ``revision``, for a later revision that restores or reuses its SQL (run
    inside a migration: Alembic's ``context`` knows the scripts being applied)."""
    from alembic import context  # noqa: PLC0415  (only a running migration has a context)

    script = context.script.get_revision(revision)
    if script is None:  # an ancestor of the revision asking is always there
        raise CommandError(f"revision {revision} not found among the migration scripts")
    return script.module
