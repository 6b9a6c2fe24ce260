"""A click group whose subcommands are imported only when one is run: click's documented
lazy-loading pattern, with each subcommand's one-line summary given beside its import path so
that ``costdb --help`` lists them all without importing any."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import click


@dataclass(frozen=True)
class LazyCommand:
    """Where a subcommand lives (``module:attribute``) and what ``--help`` says of it."""

    target: str
    summary: str

    def load(self) -> click.Command:
        module, attribute = self.target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command


class LazyGroup(click.Group):
    """A group of ``LazyCommand`` s; ``--help`` reads their summaries, not their modules."""

    def __init__(self, *args: Any, lazy: dict[str, LazyCommand], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy:
            return self.lazy[cmd_name].load()
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        limit = formatter.width - 6 - max(len(name) for name in self.lazy)
        rows = [
            (name, click.Command(name, help=self.lazy[name].summary).get_short_help_str(limit))
            for name in sorted(self.lazy)
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)
