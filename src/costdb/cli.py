"""The ``costdb`` console script: it assembles each capability's command group, dispatches,
and turns every known failure into one line.

The groups live beside what they drive (``costdb.migrate.commands``, ``costdb.budgets.commands``,
...) and are imported only when one of them runs (``LazyGroup``). ``costdb health`` goes
straight to the probe's own CLI without importing click: it is an orchestrator's health check
and must start as fast as ``python -m healthcheck``.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import click

COMMANDS = {
    "backup": (
        "costdb.backup.commands:backup",
        "Backups with pgBackRest: take one, keep a schedule, list them, restore.",
    ),
    "budgets": (
        "costdb.budgets.commands:budgets",
        "Spending limits per project, feature or user, and their alerts.",
    ),
    "export": ("costdb.export.commands:export", "Write the schema for other languages' clients."),
    "health": (
        "costdb.health.commands:health",
        "The health probe: the same as ``python -m healthcheck`` (try ``costdb health --help``).",
    ),
    "local": (
        "costdb.local.commands:local",
        "Run the stack natively (no container engine): data under .costdb/.",
    ),
    "migrate": (
        "costdb.migrate.commands:migrate",
        "Wait for the database, lock, upgrade to head, verify the schema.",
    ),
    "prices": (
        "costdb.prices.commands:prices",
        "Model prices from the public list: sync them, see which calls no price covers.",
    ),
    "retention": (
        "costdb.maintenance.commands:retention",
        "Delete events older than --keep (to midnight UTC), with their analyses and embeddings.",
    ),
    "rollup": (
        "costdb.maintenance.commands:rollup",
        "Recompute cost_aggregates from events for the closed periods in range.",
    ),
    "secrets": ("costdb.tls.commands:secrets", "The Compose stack's passwords."),
    "similar": (
        "costdb.maintenance.commands:similar",
        "The k most similar earlier prompts of EVENT_ID's project (exact duplicates first).",
    ),
    "status": (
        "costdb.migrate.commands:status",
        "Show the revision, the head, pending migrations and the history with checksums.",
    ),
    "tls": (
        "costdb.tls.commands:tls",
        "The db image's TLS files (its entrypoint runs this before every start).",
    ),
}
"""Each command: where it lives, and its ``--help`` summary (a test holds them equal to the
commands' own, so that ``costdb --help`` imports none of them)."""


def command_line() -> click.Group:
    """The root group: nothing but the capabilities' groups, each loaded when it is run."""
    import click  # noqa: PLC0415  (not for `costdb health`)

    from costdb.command_line.lazy_group import LazyCommand, LazyGroup  # noqa: PLC0415

    lazy = {name: LazyCommand(target, summary) for name, (target, summary) in COMMANDS.items()}

    @click.group(cls=LazyGroup, lazy=lazy, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(package_name="costdb")
    def cli() -> None:
        """costdb: the schema, migrations and health of the cost-tracking database."""

    return cli


def _is_database_error(exc: Exception) -> bool:
    """A driver or ORM error (the server failed mid-command); only loaded modules are asked."""
    candidates = (
        getattr(sys.modules.get("sqlalchemy.exc"), "SQLAlchemyError", None),
        getattr(sys.modules.get("psycopg"), "Error", None),
    )
    return isinstance(exc, tuple(kind for kind in candidates if isinstance(kind, type)))


def main() -> None:
    """Console-script entry point."""
    if sys.argv[1:2] == ["health"]:
        from costdb.health.cli import main as probe  # noqa: PLC0415

        probe(sys.argv[2:], prog="costdb health")
        return
    import logging  # noqa: PLC0415

    import click  # noqa: PLC0415

    from costdb.errors import CostdbError  # noqa: PLC0415
    from costdb.exit_codes import ExitCode  # noqa: PLC0415
    from costdb.log_format import configure_logging  # noqa: PLC0415

    configure_logging()
    log = logging.getLogger("costdb")
    try:
        # standalone_mode=False: click's rejections come back as exceptions, said below.
        code = command_line().main(standalone_mode=False)
    except click.UsageError as exc:  # a bad option or value: one line, the usage exit code
        where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        log.error("error: %s%s", exc.format_message(), where, extra={"event": "error"})
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        log.error("error: %s", exc.format_message(), extra={"event": "error"})
        sys.exit(exc.exit_code)
    except click.Abort:
        log.error("error: interrupted", extra={"event": "error"})
        sys.exit(ExitCode.FAILED)
    except CostdbError as exc:
        log.error("error: %s", exc, extra={"event": "error"})
        sys.exit(exc.exit_code)
    except Exception as exc:
        if not _is_database_error(exc):
            raise
        from costdb.db.connection import server_message  # noqa: PLC0415

        log.error("error: database error: %s", server_message(exc), extra={"event": "error"})
        sys.exit(ExitCode.FAILED)
    if isinstance(code, int) and code != 0:  # --help and --version return 0
        sys.exit(code)
