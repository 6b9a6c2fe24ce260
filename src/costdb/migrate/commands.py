"""``costdb migrate`` and ``costdb status``: the migration sidecar and what it has applied."""

from __future__ import annotations

import json

import click

from costdb import defaults
from costdb.command_line.context import CommandContext, pass_context
from costdb.command_line.options import wait_option
from costdb.exit_codes import ExitCode
from costdb.log_format import configure_logging
from costdb.migrate.sidecar import SidecarOptions, print_migration_sql, run_sidecar
from costdb.migrate.status import read_status


def exit_code_help() -> str:
    """The exit-code table of ``costdb migrate --help``, from the one contract."""
    lines = [f"{int(code)}  {code.description}" for code in ExitCode]
    return "Exit codes:\n\n\b\n" + "\n".join(lines)


@click.command(epilog=exit_code_help())
@wait_option(defaults.MIGRATE_WAIT_SECONDS)
@click.option(
    "--lock-timeout",
    "lock_timeout_seconds",
    type=click.FloatRange(min=0),
    default=defaults.MIGRATE_LOCK_TIMEOUT_SECONDS,
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
@click.option(
    "--citus-shard-count",
    type=click.IntRange(min=1, max=64000),
    envvar="COSTDB_CITUS_SHARD_COUNT",
    help="Citus only: shards per distributed table when the tables are first distributed "
    "[default: 4 per worker].",
)
@click.option("--sql", is_flag=True, help="Print the SQL of every migration instead of running it.")
@pass_context
def migrate(
    context: CommandContext,
    wait_seconds: float,
    lock_timeout_seconds: float,
    log_format: str,
    citus_shard_count: int | None,
    sql: bool,
) -> None:
    """Wait for the database, lock, upgrade to head, verify the schema.

    On a Citus coordinator (the citus extension is present), also distribute every table
    not yet distributed, in one transaction."""
    configure_logging(log_format)
    if sql:
        print_migration_sql()
        return
    options = SidecarOptions(wait_seconds, lock_timeout_seconds, citus_shard_count)
    run_sidecar(context.settings, options)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@pass_context
def status(context: CommandContext, as_json: bool) -> None:
    """Show the revision, the head, pending migrations and the history with checksums."""
    found = read_status(context.settings)
    if as_json:
        click.echo(json.dumps(found.as_dict()))
        return
    click.echo(f"database: {found.database}")
    click.echo(f"current:  {found.current or '(empty: no migration applied)'}")
    click.echo(f"head:     {found.head}")
    click.echo(f"pending:  {', '.join(found.pending) or '(none)'}")
    click.echo("history:" + ("" if found.history else "  (none)"))
    for entry in found.history:
        verdict = "script unchanged" if entry.script_unchanged else "SCRIPT CHANGED"
        click.echo(
            f"  {entry.revision}  {entry.how} {entry.applied_at} by {entry.applied_by}"
            f" in {entry.duration_ms} ms  sha256:{entry.checksum[:12]}  {verdict}"
        )
