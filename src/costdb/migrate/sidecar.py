"""``costdb migrate``: wait for the database, take the lock, upgrade, verify, exit.

What runs in the ``migrate`` container (Compose) or init container (Kubernetes) before
anything that uses the database starts. Exit 0 means: the database is at head and the health
probe's schema checks pass. Runners that waited for the lock find the database at head and
apply nothing. On a Citus coordinator the distribution step (``costdb.migrate.distribute``)
runs after the upgrade, under the same lock, and the verification expects Citus's layout.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from alembic import command
from alembic.config import Config

from costdb import defaults
from costdb.db.engine import connect
from costdb.db.retrying import Wait, WaitBudget, open_connection_within
from costdb.errors import CostdbError
from costdb.exit_codes import ExitCode
from costdb.migrate.distribute import Distribution, citus_installed, distribute
from costdb.migrate.lock import migration_lock
from costdb.migrate.runner import Applied, require_known_revision, upgrade_to_head
from costdb.migrate.scripts import alembic_config, script_directory
from costdb.settings import DatabaseSettings
from costdb.verify.catalog import read_snapshot
from costdb.verify.checks import evaluate_schema
from costdb.verify.manifest import Manifest, load_manifest

log = logging.getLogger("costdb.migrate")
APPLICATION_NAME = "costdb-migrate"


class VerificationFailed(CostdbError):
    """The upgrade finished but the schema is not what the models declare."""

    exit_code = ExitCode.SCHEMA_INCOMPLETE


@dataclass(frozen=True)
class SidecarOptions:
    wait_seconds: float = defaults.MIGRATE_WAIT_SECONDS
    lock_timeout_seconds: float = defaults.MIGRATE_LOCK_TIMEOUT_SECONDS
    citus_shard_count: int | None = None  # None: costdb.migrate.distribute's default


def _log_applied(applied: Applied) -> None:
    log.info(
        "applied %s (%s) in %d ms",
        applied.revision,
        applied.description,
        applied.duration_ms,
        extra={
            "event": "applied",
            "revision": applied.revision,
            "duration_ms": applied.duration_ms,
        },
    )


def _log_distribution(done: Distribution) -> None:
    if not done.placed:
        log.info("Citus: every table already distributed", extra={"event": "distributed"})
        return
    log.info(
        "Citus: placed %s (%d shards per distributed table)",
        ", ".join(f"{p.table} ({p.expected.describe()})" for p in done.placed),
        done.shard_count,
        extra={"event": "distributed", "shard_count": done.shard_count},
    )


def verify_schema(settings: DatabaseSettings, manifest: Manifest, wait: Wait = 0.0) -> None:
    """The health probe's schema checks, on a fresh connection: every object present and valid."""
    with open_connection_within(settings, APPLICATION_NAME, wait) as connection:
        snapshot = read_snapshot(connection)
    checks = evaluate_schema(manifest, snapshot)
    for check in checks:
        if check.status == "warn":
            log.warning("warning: %s", check.detail, extra={"event": "warning"})
    failures = [check.detail for check in checks if check.status == "fail"]
    if failures:
        raise VerificationFailed(
            "the schema differs from what the migrations create: " + "; ".join(failures)
        )


def print_migration_sql() -> None:
    """``costdb migrate --sql``: every migration's SQL on standard output, nothing run."""
    command.upgrade(alembic_config(), "head", sql=True)


def run_sidecar(
    settings: DatabaseSettings,
    options: SidecarOptions,
    config: Config | None = None,
    manifest: Manifest | None = None,
) -> list[Applied]:
    """Wait, lock, upgrade, verify; return what was applied (empty when already at head).

    Waiting for the database is the lock session's first connection: it retries while the
    database is unavailable. ``wait_seconds`` is one budget for the whole run: the lock's
    polls, the migration's connection and the verification's draw on it in turn
    (``costdb.db.retrying.WaitBudget``); waiting for the lock is ``lock_timeout_seconds``'s.
    """
    config = config or alembic_config()
    wait = WaitBudget(options.wait_seconds)
    with migration_lock(settings, options.lock_timeout_seconds, wait) as lock:
        with connect(settings, APPLICATION_NAME, wait) as connection:
            applied = upgrade_to_head(connection, config, on_applied=_log_applied, lock=lock)
            state = require_known_revision(connection, script_directory(config))
            if not state.at_head:
                raise VerificationFailed(
                    f"database at {state.current} after upgrade, not head {state.head}"
                )
            if citus_installed(connection):
                _log_distribution(distribute(connection, options.citus_shard_count))
        verify_schema(settings, manifest or load_manifest(), wait)
    if applied:
        log.info(
            "database at head %s; schema verified",
            state.head,
            extra={"event": "done", "revision": state.head},
        )
    else:
        log.info(
            "database already at head %s; nothing to apply; schema verified",
            state.head,
            extra={"event": "done", "revision": state.head},
        )
    return applied
