"""The ``costdb`` command line. Every failure ends in one line on stderr and its exit code.

Exit codes: 0 success; 1 the database is unavailable or a step failed; 2 misconfigured
(environment, credentials, usage); 3 the database is newer than this code; ``migrate`` adds
4 to 7 (see its help).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path

import click
import psycopg
from alembic import command
from sqlalchemy.exc import SQLAlchemyError

from costdb.connection_errors import server_message
from costdb.engine import connect
from costdb.errors import CostdbError
from costdb.history import read_history, script_checksum
from costdb.local_stack import load_local_stack, serve_health_foreground
from costdb.log_format import configure_logging
from costdb.migration_runner import require_known_revision
from costdb.migration_scripts import alembic_config, script_directory
from costdb.settings import load_settings
from costdb.sidecar import SidecarOptions, run_sidecar

log = logging.getLogger("costdb")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="costdb")
def cli() -> None:
    """costdb: the schema, migrations and health of the cost-tracking database."""


@cli.command()
@click.option(
    "--wait",
    "wait_seconds",
    type=click.FloatRange(min=0),
    default=SidecarOptions.wait_seconds,
    show_default=True,
    help="Seconds to keep retrying while the database does not accept connections.",
)
@click.option(
    "--lock-timeout",
    "lock_timeout_seconds",
    type=click.FloatRange(min=0),
    default=SidecarOptions.lock_timeout_seconds,
    show_default=True,
    help="Seconds to wait while another runner holds the migration lock.",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Plain lines for people, or JSON lines for log pipelines.",
)
@click.option("--sql", is_flag=True, help="Print the SQL of every migration instead of running it.")
def migrate(wait_seconds: float, lock_timeout_seconds: float, log_format: str, sql: bool) -> None:
    """Wait for the database, lock, upgrade to head, verify the schema.

    Exit codes: 0 at head and verified; 1 a migration or the database failed; 2 misconfigured;
    3 database newer than this code; 4 an applied migration's script changed; 5 database not
    reachable within --wait; 6 migration lock not acquired within --lock-timeout; 7 schema
    incomplete after the upgrade.
    """
    configure_logging(log_format)
    if sql:
        command.upgrade(alembic_config(), "head", sql=True)
        return
    run_sidecar(load_settings(), SidecarOptions(wait_seconds, lock_timeout_seconds))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(as_json: bool) -> None:
    """Show the revision, the head, pending migrations and the history with checksums."""
    settings = load_settings()
    scripts = script_directory()
    with connect(settings, "costdb-status") as connection:
        state = require_known_revision(connection, scripts)
        history = read_history(connection)
    entries: list[dict[str, object]] = [
        {
            "revision": entry.revision,
            "checksum": entry.checksum,
            "script_unchanged": entry.checksum == script_checksum(scripts, entry.revision),
            "applied_at": entry.applied_at.isoformat(),
            "applied_by": entry.applied_by,
            "duration_ms": entry.duration_ms,
            "how": entry.how,
        }
        for entry in history
    ]
    if as_json:
        report = {
            "database": settings.safe_url,
            "current": state.current,
            "head": state.head,
            "pending": list(state.pending),
            "history": entries,
        }
        click.echo(json.dumps(report))
        return
    click.echo(f"database: {settings.safe_url}")
    click.echo(f"current:  {state.current or '(empty: no migration applied)'}")
    click.echo(f"head:     {state.head}")
    click.echo(f"pending:  {', '.join(state.pending) or '(none)'}")
    click.echo("history:" + ("" if history else "  (none)"))
    for entry, item in zip(history, entries, strict=True):
        verdict = "script unchanged" if item["script_unchanged"] else "SCRIPT CHANGED"
        click.echo(
            f"  {entry.revision}  {entry.how} {item['applied_at']} by {entry.applied_by}"
            f" in {entry.duration_ms} ms  sha256:{entry.checksum[:12]}  {verdict}"
        )


@cli.command(
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
def health(arguments: tuple[str, ...]) -> None:
    """The health probe: the same as ``python -m healthcheck`` (try ``costdb health --help``)."""
    from healthcheck.cli import main as healthcheck_main  # noqa: PLC0415

    healthcheck_main(arguments)


@cli.command()
@click.option("--check", is_flag=True, help="Exit 1 if the committed manifest is out of date.")
def manifest(check: bool) -> None:
    """Write the health probe's manifest from the models and migrations (or --check it)."""
    from costdb.manifest import render_manifest, write_manifest  # noqa: PLC0415
    from healthcheck.manifest import MANIFEST_PATH  # noqa: PLC0415

    if not check:
        write_manifest()
        log.info("wrote %s", MANIFEST_PATH)
        return
    if Path(MANIFEST_PATH).read_text(encoding="utf-8") != render_manifest():
        raise CostdbError(f"{MANIFEST_PATH} is out of date: run `make manifest`")
    log.info("%s is up to date", MANIFEST_PATH)


@cli.group()
def local() -> None:
    """Run the stack natively (no container engine): data under .costdb/."""


@local.command("up")
@click.option("--detach", is_flag=True, help="Return once ready; the health server runs on.")
def local_up(detach: bool) -> None:
    """Initialise on first use, start PostgreSQL, migrate, serve the health endpoint.

    In the foreground (the default) Ctrl-C stops the health server and PostgreSQL;
    with --detach, `costdb local down` does.
    """
    stack = load_local_stack()
    if not detach:  # until the health server takes over the signals, SIGTERM means Ctrl-C
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        created = stack.start_database()
        owner = stack.role_settings("owner")
        log.info(
            "%s PostgreSQL at 127.0.0.1:%d, database %s",
            "initialised and started" if created else "started",
            owner.port,
            owner.dbname,
        )
        run_sidecar(owner, SidecarOptions(wait_seconds=30, lock_timeout_seconds=60))
        for role in ("app", "owner", "readonly"):
            log.info("%-8s DATABASE_URL_FILE=%s", role, stack.url_file(role))
        click.echo(f"export DATABASE_URL_FILE={stack.url_file('app')}")
        if detach:
            pid = stack.start_health_detached()
            log.info("health: %s/readyz (pid %d); stop: `costdb local down`", stack.health_url, pid)
            return
        log.info("health: %s/readyz; Ctrl-C stops everything", stack.health_url)
        serve_health_foreground(stack)
    except KeyboardInterrupt:
        stack.down()


@local.command("down")
def local_down() -> None:
    """Stop the health server and PostgreSQL; the data stays for the next ``up``."""
    stopped = load_local_stack().down()
    log.info("stopped: %s", ", ".join(stopped) if stopped else "nothing was running")


@local.command("status")
def local_status() -> None:
    """Whether PostgreSQL and the health server run, the revision and the readiness."""
    stack = load_local_stack()
    if not stack.cluster.is_initialised or not stack.cluster.is_running:
        click.echo("postgresql: not running")
        sys.exit(1)
    owner = stack.role_settings("owner")
    with connect(owner, "costdb-local") as connection:
        state = require_known_revision(connection)
    click.echo(f"postgresql: running at 127.0.0.1:{owner.port}, database {owner.dbname}")
    click.echo(f"revision:   {state.current or '(none)'} (head {state.head})")
    pid = stack.health_pid()
    ready = stack.health_status("/readyz") if pid else None
    health = f"pid {pid}, /readyz {ready}" if pid else "not running"
    click.echo(f"health:     {health}")


def main() -> None:
    """Console-script entry point: run the CLI, turning known failures into one log line."""
    configure_logging()
    try:
        cli(standalone_mode=True)
    except CostdbError as exc:
        log.error("error: %s", exc, extra={"event": "error"})
        sys.exit(exc.exit_code)
    except (SQLAlchemyError, psycopg.Error) as exc:  # the server failed mid-command
        log.error("error: database error: %s", server_message(exc), extra={"event": "error"})
        sys.exit(1)
