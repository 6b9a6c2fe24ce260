"""Options several ``costdb`` commands share, declared once so that they read the same."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def wait_option(default: float) -> Decorator:
    """``--wait``: how long a command rides out a database that does not accept connections,
    in all (one budget for every connection of the run, ``costdb.db.retrying.WaitBudget``)."""
    return click.option(
        "--wait",
        "wait_seconds",
        type=click.FloatRange(min=0),
        default=default,
        show_default=True,
        help="Seconds, in all for the run, to keep retrying while the database does not accept "
        "connections.",
    )


def every_option(what: str) -> Decorator:
    """``--every``: the long-running mode of a maintenance command."""
    return click.option(
        "--every",
        default=None,
        help=f"Run again at this interval (60s, 5m) until SIGTERM or Ctrl-C{what}.",
    )


heartbeat_option: Decorator = click.option(
    "--heartbeat",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Touch this file after each successful run (python -m costdb.maintenance.heartbeat "
    "FILE SECONDS checks it).",
)
