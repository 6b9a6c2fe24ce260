"""The ``costdb`` command line. Every failure ends in one line on stderr and its exit code.

Exit codes: 0 success; 1 the database is unavailable or a step failed; 2 misconfigured
(environment, credentials, usage); 3 the database is newer than this code.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from costdb.connection_errors import classify_connection_error, server_message
from costdb.engine import create_costdb_engine
from costdb.errors import CostdbError
from costdb.local_stack import load_local_stack
from costdb.migration_runner import require_known_revision, upgrade_to_head
from costdb.settings import DatabaseSettings, load_settings

log = logging.getLogger("costdb")


@contextmanager
def _connection(settings: DatabaseSettings, application_name: str) -> Iterator[Connection]:
    engine = create_costdb_engine(settings, application_name=application_name, pooled=False)
    try:
        try:
            connection = engine.connect()
        except OperationalError as exc:
            raise classify_connection_error(exc, settings) from None
        with connection:
            yield connection
    finally:
        engine.dispose()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="costdb")
def cli() -> None:
    """costdb: the schema, migrations and health of the cost-tracking database."""


@cli.command()
def migrate() -> None:
    """Upgrade the database to the head revision."""
    settings = load_settings()
    with _connection(settings, "costdb-migrate") as connection:
        applied = upgrade_to_head(connection)
        state = require_known_revision(connection)
    if applied:
        log.info("applied %s; database at head %s", ", ".join(applied), state.head)
    else:
        log.info("database already at head %s; nothing to apply", state.head)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(as_json: bool) -> None:
    """Show the database's revision, the head revision and the pending migrations."""
    settings = load_settings()
    with _connection(settings, "costdb-status") as connection:
        state = require_known_revision(connection)
    report = {
        "database": settings.safe_url,
        "current": state.current,
        "head": state.head,
        "pending": list(state.pending),
    }
    if as_json:
        click.echo(json.dumps(report))
        return
    click.echo(f"database: {report['database']}")
    click.echo(f"current:  {state.current or '(empty: no migration applied)'}")
    click.echo(f"head:     {state.head}")
    click.echo(f"pending:  {', '.join(state.pending) or '(none)'}")


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
    if MANIFEST_PATH.read_text(encoding="utf-8") != render_manifest():
        raise CostdbError(f"{MANIFEST_PATH} is out of date: run `make manifest`")
    log.info("%s is up to date", MANIFEST_PATH)


@cli.group()
def local() -> None:
    """Run the database natively (no container engine): data under .costdb/."""


@local.command("up")
def local_up() -> None:
    """Initialise on first use, start the server, migrate it to head."""
    stack = load_local_stack()
    created = stack.up()
    log.info(
        "%s PostgreSQL on %s",
        "initialised and started" if created else "running",
        stack.settings.safe_url,
    )
    with _connection(stack.settings, "costdb-local") as connection:
        applied = upgrade_to_head(connection)
    log.info("migrated: %s", ", ".join(applied) if applied else "already at head")
    click.echo(f"export DATABASE_URL_FILE={stack.url_file}")


@local.command("down")
def local_down() -> None:
    """Stop the server; the data stays for the next ``up``."""
    stopped = load_local_stack().down()
    log.info("stopped" if stopped else "not running")


@local.command("status")
def local_status() -> None:
    """Whether the local server runs, and the database's revision."""
    stack = load_local_stack()
    if not stack.cluster.is_initialised or not stack.cluster.is_running:
        click.echo("local database: not running")
        sys.exit(1)
    with _connection(stack.settings, "costdb-local") as connection:
        state = require_known_revision(connection)
    click.echo(f"local database: running on {stack.settings.safe_url}")
    click.echo(f"revision: {state.current or '(none)'} (head {state.head})")


def main() -> None:
    """Console-script entry point: run the CLI, turning known failures into one line."""
    logging.basicConfig(level=logging.INFO, format="costdb: %(message)s", stream=sys.stderr)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # costdb logs what it applies
    try:
        cli(standalone_mode=True)
    except CostdbError as exc:
        click.echo(f"costdb: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except SQLAlchemyError as exc:  # the server failed mid-command (restart, lost connection)
        click.echo(f"costdb: error: database error: {server_message(exc)}", err=True)
        sys.exit(1)
