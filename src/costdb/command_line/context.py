"""The one context of a ``costdb`` invocation: the settings, resolved once, and the connection
every database command works on, so that no command wires its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from costdb.db.maintenance_session import maintenance_connection
from costdb.settings import DatabaseSettings, load_settings

if TYPE_CHECKING:
    import psycopg


class CommandContext:
    """Settings read from the environment on first use (a command that needs none, such as
    ``export drizzle``, never asks), then kept for the rest of the invocation."""

    def __init__(self) -> None:
        self._settings: DatabaseSettings | None = None

    @property
    def settings(self) -> DatabaseSettings:
        if self._settings is None:
            self._settings = load_settings()
        return self._settings

    @contextmanager
    def connection(self, purpose: str, wait_seconds: float) -> Iterator[psycopg.Connection[Any]]:
        """The maintenance connection (``costdb-<purpose>`` in ``pg_stat_activity``)."""
        with maintenance_connection(self.settings, f"costdb-{purpose}", wait_seconds) as opened:
            yield opened


pass_context = click.make_pass_decorator(CommandContext, ensure=True)
"""Hands a command the invocation's ``CommandContext`` (made on first use)."""
