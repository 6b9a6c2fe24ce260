"""``costdb backup now | schedule | list | restore``: pgBackRest backups of the database.

They run where pgBackRest reaches the data directory and the server's socket: in the db image
(``costdb-backup.sh`` runs them as the server's OS user), in Compose's ``backup`` service, in a
Kubernetes sidecar. The repository is pgBackRest's to configure (``PGBACKREST_REPO1_*``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from costdb import defaults
from costdb.backup.pgbackrest import backup_sets
from costdb.backup.restore import restore
from costdb.backup.schedule import Cadence, due_backup
from costdb.backup.take import INFO_SECONDS, ensure_stanza, take_backup
from costdb.command_line.context import CommandContext, pass_context
from costdb.command_line.options import every_option, heartbeat_option, wait_option
from costdb.command_line.scheduling import run_every
from costdb.durations import parse_duration, parse_instant

KINDS = ("full", "diff", "incr")


@click.group()
def backup() -> None:
    """Backups with pgBackRest: take one, keep a schedule, list them, restore."""


@backup.command("now")
@click.option("--type", "kind", type=click.Choice(KINDS), default="full", show_default=True)
@wait_option(defaults.MAINTENANCE_WAIT_SECONDS)
@pass_context
def backup_now(context: CommandContext, kind: str, wait_seconds: float) -> None:
    """Take one backup now and record it in the database (costdb_backups)."""
    take_backup(kind, context.settings, defaults.BACKUP_TIMEOUT_SECONDS, wait_seconds)


@backup.command("schedule")
@click.option(
    "--full-every", default=defaults.BACKUP_FULL_EVERY, show_default=True, help="A full backup."
)
@click.option(
    "--diff-every",
    default=defaults.BACKUP_DIFF_EVERY,
    show_default=True,
    help="A differential backup when the newest backup is older.",
)
@every_option(f" (default {defaults.BACKUP_CHECK_EVERY}): how often to look what is due")
@heartbeat_option
@wait_option(defaults.MAINTENANCE_WAIT_SECONDS)
@pass_context
def backup_schedule(
    context: CommandContext,
    full_every: str,
    diff_every: str,
    every: str | None,
    heartbeat: Path | None,
    wait_seconds: float,
) -> None:
    """Take the backups that are due, at every tick: due is decided from the repository's own
    list, so a restart neither repeats nor skips one. A failed backup is logged in one line
    and tried again at the next tick."""
    cadence = Cadence(
        parse_duration(full_every, "--full-every"), parse_duration(diff_every, "--diff-every")
    )
    interval = parse_duration(every or defaults.BACKUP_CHECK_EVERY, "--every")
    settings = context.settings
    ensure_stanza()  # a repository that cannot be written stops the service now, in one line

    def tick() -> None:
        kind = due_backup(backup_sets(timeout=INFO_SECONDS), datetime.now(UTC), cadence)
        if kind is not None:
            take_backup(kind, settings, defaults.BACKUP_TIMEOUT_SECONDS, wait_seconds)

    run_every(interval, tick, heartbeat)


@backup.command("list")
def backup_list() -> None:
    """The repository's backups, oldest first: label, type, end, sizes."""
    for found in backup_sets(timeout=INFO_SECONDS):
        click.echo(
            f"{found.label}  {found.type:<4}  {found.finished_at.isoformat()}  "
            f"{found.database_bytes / 1e6:.1f} MB  stored {found.repository_bytes / 1e6:.1f} MB"
        )


@backup.command("restore")
@click.option(
    "--target-time",
    default=None,
    help="Restore to this instant (ISO time; UTC when it names no zone). "
    "Default: every committed transaction the archive holds.",
)
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="PGDATA",
    required=True,
    help="An empty data directory (a new volume) to restore into.",
)
def backup_restore(target_time: str | None, data_dir: Path) -> None:
    """Restore a backup into an empty data directory and replay the archive to the target;
    the directory then holds a promoted database the image starts like any other."""
    target = parse_instant(target_time, "--target-time", datetime.now(UTC)) if target_time else None
    click.echo(restore(data_dir, target))
