"""The ``costdb`` commands. Each imports what it needs when it runs, so that ``--help`` and
the light commands never pay for Alembic, SQLAlchemy or a driver they do not use."""

from __future__ import annotations

import logging
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from costdb import defaults
from costdb.backup_commands import backup
from costdb.budget_commands import budgets, configured_webhook
from costdb.command_options import every_option, heartbeat_option, wait_option
from costdb.errors import CostdbError

if TYPE_CHECKING:
    from costdb.budgets.webhook import Webhook
    from costdb.prices.names import NameMatcher
from costdb.exit_codes import ExitCode

log = logging.getLogger("costdb")


def exit_code_help() -> str:
    """The exit-code table of ``costdb migrate --help``, from the one contract."""
    lines = [f"{int(code)}  {code.description}" for code in ExitCode]
    return "Exit codes:\n\n\b\n" + "\n".join(lines)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="costdb")
def cli() -> None:
    """costdb: the schema, migrations and health of the cost-tracking database."""


@cli.command(epilog=exit_code_help())
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
def migrate(
    wait_seconds: float,
    lock_timeout_seconds: float,
    log_format: str,
    citus_shard_count: int | None,
    sql: bool,
) -> None:
    """Wait for the database, lock, upgrade to head, verify the schema.

    On a Citus coordinator (the citus extension is present), also distribute every table
    not yet distributed, in one transaction."""
    from costdb.log_format import configure_logging  # noqa: PLC0415

    configure_logging(log_format)
    if sql:
        from alembic import command  # noqa: PLC0415

        from costdb.migrate.scripts import alembic_config  # noqa: PLC0415

        command.upgrade(alembic_config(), "head", sql=True)
        return
    from costdb.migrate.sidecar import SidecarOptions, run_sidecar  # noqa: PLC0415
    from costdb.settings import load_settings  # noqa: PLC0415

    options = SidecarOptions(wait_seconds, lock_timeout_seconds, citus_shard_count)
    run_sidecar(load_settings(), options)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(as_json: bool) -> None:
    """Show the revision, the head, pending migrations and the history with checksums."""
    import json  # noqa: PLC0415

    from costdb.migrate.status import read_status  # noqa: PLC0415
    from costdb.settings import load_settings  # noqa: PLC0415

    status = read_status(load_settings())
    if as_json:
        click.echo(json.dumps(status.as_dict()))
        return
    click.echo(f"database: {status.database}")
    click.echo(f"current:  {status.current or '(empty: no migration applied)'}")
    click.echo(f"head:     {status.head}")
    click.echo(f"pending:  {', '.join(status.pending) or '(none)'}")
    click.echo("history:" + ("" if status.history else "  (none)"))
    for entry in status.history:
        verdict = "script unchanged" if entry.script_unchanged else "SCRIPT CHANGED"
        click.echo(
            f"  {entry.revision}  {entry.how} {entry.applied_at} by {entry.applied_by}"
            f" in {entry.duration_ms} ms  sha256:{entry.checksum[:12]}  {verdict}"
        )


@cli.command(
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
def health(arguments: tuple[str, ...]) -> None:
    """The health probe: the same as ``python -m healthcheck`` (try ``costdb health --help``)."""
    from healthcheck.cli import main as probe  # noqa: PLC0415

    probe(arguments, prog="costdb health")


@cli.command()
@click.option(
    "--period",
    type=click.Choice(["hour", "day"]),
    default=defaults.ROLLUP_PERIOD,
    show_default=True,
    help="The roll-up period (UTC).",
)
@click.option(
    "--since",
    default=defaults.ROLLUP_SINCE,
    show_default=True,
    help="Recompute closed periods from here: an ISO time or a duration ago (48h, 7d).",
)
@click.option(
    "--until",
    default=None,
    help="Up to here (default: now); only periods that have ended by then are recomputed.",
)
@every_option("; --since stays relative")
@heartbeat_option
@click.option(
    "--check-budgets",
    is_flag=True,
    help="After each roll-up, run `costdb budgets check` (alerts for the spend just rolled up).",
)
@click.option(
    "--full",
    is_flag=True,
    help="Recompute every closed period in range, not only those whose events changed.",
)
@wait_option(defaults.MAINTENANCE_WAIT_SECONDS)
def rollup(  # noqa: PLR0913, PLR0917  (click passes each option as an argument)
    period: str,
    since: str,
    until: str | None,
    every: str | None,
    heartbeat: Path | None,
    check_budgets: bool,
    full: bool,
    wait_seconds: float,
) -> None:
    """Recompute cost_aggregates from events for the closed periods in range.

    Exact and idempotent: each period in one transaction under its own advisory lock; a period
    whose events still count and sum as its roll-ups say is skipped (--full recomputes it); a
    late event is picked up by the next run over its period. Cost is the database's
    (events_with_cost), or the client's estimate where no price was in effect. Model names
    first seen in range are resolved first (costdb prices sync).
    """
    from datetime import UTC, datetime  # noqa: PLC0415

    from costdb.maintenance.durations import parse_duration, parse_range  # noqa: PLC0415
    from costdb.maintenance.scheduling import run_every  # noqa: PLC0415
    from costdb.prices.names import NameMatcher  # noqa: PLC0415
    from costdb.prices.price_list import load_price_list  # noqa: PLC0415

    interval = parse_duration(every, "--every") if every else None
    parse_range(since, until, datetime.now(UTC))  # a bad range fails now, not at every tick
    # Loaded once, for every run of --every, and only when a new name needs it.
    matcher = NameMatcher(lambda: load_price_list(defaults.PRICES_SOURCE))
    budgets = BudgetCheck(configured_webhook()) if check_budgets else None
    run = RollupRun(period, since, until, full)
    run_every(interval, lambda: _roll_up_once(run, wait_seconds, matcher, budgets), heartbeat)


@dataclass(frozen=True)
class RollupRun:
    """What each run of ``costdb rollup`` recomputes (``since`` stays relative)."""

    period: str
    since: str
    until: str | None
    full: bool


@dataclass(frozen=True)
class BudgetCheck:
    """``--check-budgets``: the check runs after each roll-up, with this webhook (or none)."""

    webhook: Webhook | None


def _roll_up_once(
    run: RollupRun, wait_seconds: float, matcher: NameMatcher, budgets: BudgetCheck | None
) -> None:
    from datetime import UTC, datetime  # noqa: PLC0415

    from costdb.db.maintenance_session import maintenance_connection  # noqa: PLC0415
    from costdb.maintenance.durations import parse_range  # noqa: PLC0415
    from costdb.maintenance.rollup import roll_up  # noqa: PLC0415
    from costdb.prices.names import resolve_names  # noqa: PLC0415
    from costdb.settings import load_settings  # noqa: PLC0415

    start, end = parse_range(run.since, run.until, datetime.now(UTC))
    with maintenance_connection(load_settings(), "costdb-rollup", wait_seconds) as connection:
        resolve_names(connection, matcher, start)
        roll_up(connection, run.period, start, end, full=run.full)
        if budgets is not None:
            from costdb.budgets.check import check_budgets  # noqa: PLC0415

            check_budgets(connection, budgets.webhook)


@cli.command()
@click.option("--keep", required=True, help="Keep this much history: 400d, 12w, ... (a duration).")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=defaults.RETENTION_BATCH_SIZE,
    show_default=True,
    help="Events deleted per statement (each its own short transaction).",
)
@wait_option(defaults.MAINTENANCE_WAIT_SECONDS)
def retention(keep: str, dry_run: bool, batch_size: int, wait_seconds: float) -> None:
    """Delete events older than --keep (to midnight UTC), with their analyses and embeddings.

    In short batches, oldest first; roll-ups are kept; nothing newer than the horizon is
    touched. Prints how many rows it deleted per table.
    """
    from datetime import UTC, datetime  # noqa: PLC0415

    from costdb.db.maintenance_session import maintenance_connection  # noqa: PLC0415
    from costdb.maintenance.durations import parse_duration  # noqa: PLC0415
    from costdb.maintenance.retention import apply_retention, horizon_for  # noqa: PLC0415
    from costdb.settings import load_settings  # noqa: PLC0415

    horizon = horizon_for(datetime.now(UTC), parse_duration(keep, "--keep"))
    with maintenance_connection(load_settings(), "costdb-retention", wait_seconds) as connection:
        report = apply_retention(connection, horizon, batch_size=batch_size, dry_run=dry_run)
    click.echo(report.line())


@cli.command()
@click.argument("event_id")
@click.option(
    "-k",
    "k",
    type=click.IntRange(min=1, max=1000),
    default=defaults.SIMILAR_K,
    show_default=True,
    help="How many similar prompts at most.",
)
@click.option(
    "--min-similarity",
    type=click.FloatRange(min=-1, max=1),
    default=defaults.SIMILAR_MIN_SIMILARITY,
    show_default=True,
    help="Cosine similarity threshold for near-duplicates.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per line.")
def similar(event_id: str, k: int, min_similarity: float, as_json: bool) -> None:
    """The k most similar earlier prompts of EVENT_ID's project (exact duplicates first)."""
    import json  # noqa: PLC0415

    from costdb.maintenance.similar import find_similar  # noqa: PLC0415
    from costdb.settings import load_settings  # noqa: PLC0415

    found = find_similar(load_settings(), event_id, k, min_similarity)
    for prompt in found:
        if as_json:
            click.echo(json.dumps(prompt.as_dict()))
        else:
            kind = "exact" if prompt.exact_duplicate else f"{prompt.similarity:.4f}"
            click.echo(f"{prompt.event_id}  {kind:>8}  {prompt.created_at.isoformat()}")
    if not found and not as_json:
        click.echo(f"no earlier prompt of this project at or above {min_similarity} similarity")


cli.add_command(budgets)
cli.add_command(backup)


@cli.group()
def secrets() -> None:
    """The Compose stack's passwords."""


@secrets.command("init")
@click.option(
    "--into",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The directory the services read the passwords from (the stack's secrets volume).",
)
@click.option(
    "--from",
    "given",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="A directory of passwords to take instead (./secrets, generate-secrets.sh's).",
)
@click.option(
    "--tls-hostname",
    "tls_hostnames",
    multiple=True,
    envvar="COSTDB_TLS_HOSTNAMES",
    help="A host name (or address) the db certificate names beside db and localhost; "
    "repeat it, or a comma-separated COSTDB_TLS_HOSTNAMES.",
)
def secrets_init(into: Path, given: Path | None, tls_hostnames: tuple[str, ...]) -> None:
    """Make each missing password (32 random letters and digits), keep those already made,
    take those given; never print one. Then the stack's CA and the db certificate."""
    from costdb.stack_secrets import ensure_secrets  # noqa: PLC0415

    hostnames = tuple(name.strip() for value in tls_hostnames for name in value.split(","))
    for outcome in ensure_secrets(into, given, tuple(name for name in hostnames if name)):
        source = f" from {given}" if outcome.action == "taken" else ""
        click.echo(f"{outcome.action} {outcome.name}{source}")


@cli.group()
def tls() -> None:
    """The db image's TLS files (its entrypoint runs this before every start)."""


@tls.command("prepare")
@click.option(
    "--runtime-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where PostgreSQL reads the certificate and key (private to its OS user).",
)
@click.option(
    "--data-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    envvar="PGDATA",
    help="The data directory, which keeps a generated CA and certificate.",
)
def tls_prepare(runtime_dir: Path, data_dir: Path) -> None:
    """Check the given certificate and key (COSTDB_TLS_CERT_FILE, _KEY_FILE, _CA_FILE) or
    generate a CA and certificate, and put them where PostgreSQL reads them; change nothing
    when the given files are bad."""
    import os  # noqa: PLC0415

    from costdb.tls.server_files import prepare  # noqa: PLC0415

    click.echo(prepare(runtime_dir, data_dir, os.environ))


@cli.group()
def prices() -> None:
    """Model prices from the public list: sync them, see which calls no price covers."""


@prices.command("sync")
@click.option(
    "--source",
    default=defaults.PRICES_SOURCE,
    show_default=True,
    help="bundled (the installed genai-prices' list; nothing is fetched), a file, or an "
    "http(s) URL of a newer list in the same JSON format.",
)
@click.option("--dry-run", is_flag=True, help="Say what would be written; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@wait_option(defaults.MAINTENANCE_WAIT_SECONDS)
def prices_sync(source: str, dry_run: bool, as_json: bool, wait_seconds: float) -> None:
    """Store the list's prices as history (idempotent; prices entered by hand win), then
    resolve the model names events report to the models they are."""
    import json  # noqa: PLC0415

    from costdb.db.maintenance_session import maintenance_connection  # noqa: PLC0415
    from costdb.prices.price_list import load_price_list  # noqa: PLC0415
    from costdb.prices.sync import sync_price_list  # noqa: PLC0415
    from costdb.settings import load_settings  # noqa: PLC0415

    price_list = load_price_list(source)
    with maintenance_connection(load_settings(), "costdb-prices", wait_seconds) as connection:
        report = sync_price_list(connection, price_list, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(report.as_dict()))
        return
    for line in report.lines():
        click.echo(line)


@prices.command("missing")
@click.option(
    "--since",
    default=defaults.PRICES_MISSING_SINCE,
    show_default=True,
    help="Calls from here: an ISO time or a duration ago (48h, 7d).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per line.")
@wait_option(defaults.INTERACTIVE_WAIT_SECONDS)
def prices_missing(since: str, as_json: bool, wait_seconds: float) -> None:
    """Each (provider, model) with calls but no price in effect: calls, tokens, first and last
    seen, and the clients' own estimate summed. Exit 0 either way: it is data, not a fault."""
    import json  # noqa: PLC0415
    from datetime import UTC, datetime  # noqa: PLC0415

    from costdb.db.maintenance_session import maintenance_connection  # noqa: PLC0415
    from costdb.maintenance.durations import parse_instant  # noqa: PLC0415
    from costdb.settings import load_settings  # noqa: PLC0415
    from costdb.unpriced import unpriced_since  # noqa: PLC0415

    start = parse_instant(since, "--since", datetime.now(UTC))
    with maintenance_connection(load_settings(), "costdb-prices", wait_seconds) as connection:
        found = unpriced_since(connection, start)
    for row in found:
        if as_json:
            click.echo(json.dumps(row.as_dict()))
        else:
            click.echo(
                f"{row.provider}/{row.model}: {row.calls} calls, {row.input_tokens} input and "
                f"{row.output_tokens} output tokens, {row.first_seen.isoformat()} to "
                f"{row.last_seen.isoformat()}, estimated ${row.estimated_cost_usd}"
            )
    if not found and not as_json:
        click.echo(f"every call since {start.isoformat()} has a price")


@cli.group()
def export() -> None:
    """Write the schema for other languages' clients."""


@export.command("drizzle")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write to this file instead of standard output.",
)
def export_drizzle(output: str | None) -> None:
    """The schema as a Drizzle (TypeScript) module: tables, columns, defaults, indexes,
    CHECKs and the events_with_cost view (clients/drizzle/schema.ts is this, committed)."""
    from costdb.drizzle_schema import render_drizzle_schema  # noqa: PLC0415

    rendered = render_drizzle_schema()
    if output is None:
        click.echo(rendered, nl=False)
        return
    try:
        with open(output, "w", encoding="utf-8") as target:
            target.write(rendered)
    except OSError as exc:
        raise CostdbError(f"cannot write {output}: {exc.strerror}") from None
    log.info("wrote %s", output)


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
    from costdb.local.stack import load_local_stack  # noqa: PLC0415
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
    from costdb.local.stack import load_local_stack  # noqa: PLC0415

    stack = load_local_stack()
    with stack.exclusive():
        stopped = stack.down()
    log.info("stopped: %s", ", ".join(stopped) if stopped else "nothing was running")


@local.command("status")
def local_status() -> None:
    """Whether PostgreSQL and the health server run, the revision and the readiness."""
    from costdb.db.engine import connect  # noqa: PLC0415
    from costdb.local.stack import load_local_stack  # noqa: PLC0415
    from costdb.migrate.runner import require_known_revision  # noqa: PLC0415

    status = load_local_stack().status()
    if status.database is None:
        click.echo("postgresql: not running")
        sys.exit(ExitCode.FAILED)
    with connect(status.database, "costdb-local") as connection:
        state = require_known_revision(connection)
    click.echo(
        f"postgresql: running at 127.0.0.1:{status.database.port}, "
        f"database {status.database.dbname}"
    )
    click.echo(f"revision:   {state.current or '(none)'} (head {state.head})")
    health = (
        f"pid {status.health_pid}, /readyz {status.ready}" if status.health_pid else "not running"
    )
    click.echo(f"health:     {health}")
