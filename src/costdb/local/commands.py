"""``costdb local up | down | status``: the stack natively, without a container engine.

The command is where the local stack meets the migration runner (``up`` migrates with it);
the stack's own modules never import the runner, nor the runner them.
"""

from __future__ import annotations

import logging
import signal
import sys

import click

from costdb import defaults
from costdb.exit_codes import ExitCode
from costdb.local.stack import load_local_stack

log = logging.getLogger("costdb")


@click.group()
def local() -> None:
    """Run the stack natively (no container engine): data under .costdb/."""


@local.command("up")
@click.option("--detach", is_flag=True, help="Return once ready; the health server runs on.")
def local_up(detach: bool) -> None:
    """Initialise on first use, start PostgreSQL, migrate, serve the health endpoint.

    In the foreground (the default) Ctrl-C stops the health server and PostgreSQL;
    with --detach, `costdb local down` does.
    """
    # Alembic only when the stack is brought up: `costdb local --help` stays light.
    from costdb.migrate.sidecar import SidecarOptions, run_sidecar  # noqa: PLC0415

    options = SidecarOptions(
        defaults.LOCAL_MIGRATE_WAIT_SECONDS, defaults.LOCAL_MIGRATE_LOCK_TIMEOUT_SECONDS
    )
    stack = load_local_stack()
    if not detach:  # until the health server takes over the signals, SIGTERM means Ctrl-C
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        started = stack.up(lambda owner: run_sidecar(owner, options), detach=detach)
        for role in ("app", "owner", "readonly"):
            log.info("%-8s DATABASE_URL_FILE=%s", role, stack.url_file(role))
        click.echo(f"export DATABASE_URL_FILE={stack.url_file('app')}")
        if started.health_pid is not None:
            state = "already running" if started.health_was_running else "started"
            log.info(
                "health: %s/readyz (%s, pid %d); stop: `costdb local down`",
                stack.health_url,
                state,
                started.health_pid,
            )
            return
        log.info("health: %s/readyz; Ctrl-C stops everything", stack.health_url)
        stack.serve_foreground()
    except KeyboardInterrupt:
        return  # Ctrl-C: the stack stopped what it had started


@local.command("down")
def local_down() -> None:
    """Stop the health server and PostgreSQL; the data stays for the next ``up``."""
    stack = load_local_stack()
    with stack.exclusive():
        stopped = stack.down()
    log.info("stopped: %s", ", ".join(stopped) if stopped else "nothing was running")


@local.command("status")
def local_status() -> None:
    """Whether PostgreSQL and the health server run, the revision and the readiness."""
    from costdb.db.engine import connect  # noqa: PLC0415  (SQLAlchemy only when it runs)
    from costdb.migrate.runner import require_known_revision  # noqa: PLC0415

    status = load_local_stack().status()
    if status.database is None:
        click.echo("postgresql: not running")
        sys.exit(ExitCode.FAILED)
    with connect(status.database, "costdb-local") as connection:
        revision = require_known_revision(connection)
    click.echo(
        f"postgresql: running at 127.0.0.1:{status.database.port}, "
        f"database {status.database.dbname}"
    )
    click.echo(f"revision:   {revision.current or '(none)'} (head {revision.head})")
    health = (
        f"pid {status.health_pid}, /readyz {status.ready}" if status.health_pid else "not running"
    )
    click.echo(f"health:     {health}")
