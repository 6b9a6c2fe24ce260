"""The ``costdb`` console script: dispatch, and turn every known failure into one line.

``costdb health`` goes straight to the probe's own CLI without importing click or any
command module: it is an orchestrator's health check and must start as fast as
``python -m healthcheck``. Everything else goes through ``costdb.commands``, whose commands
import what they need when they run.
"""

from __future__ import annotations

import sys


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
        from healthcheck.cli import main as probe  # noqa: PLC0415

        probe(sys.argv[2:], prog="costdb health")
        return
    import logging  # noqa: PLC0415

    import click  # noqa: PLC0415

    from costdb.commands import cli  # noqa: PLC0415
    from costdb.errors import CostdbError  # noqa: PLC0415
    from costdb.exit_codes import ExitCode  # noqa: PLC0415
    from costdb.log_format import configure_logging  # noqa: PLC0415

    configure_logging()
    log = logging.getLogger("costdb")
    try:
        code = cli.main(standalone_mode=False)  # click's rejections come back as exceptions
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
