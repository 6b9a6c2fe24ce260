"""``costdb health``, as click lists it. ``costdb.cli`` runs the probe before click is even
imported (an orchestrator's health check starts as fast as ``python -m healthcheck``); this
command is what ``costdb --help`` shows and what click runs if it ever gets there."""

from __future__ import annotations

import click

from costdb.health.cli import main as probe


@click.command(
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("arguments", nargs=-1, type=click.UNPROCESSED)
def health(arguments: tuple[str, ...]) -> None:
    """The health probe: the same as ``python -m healthcheck`` (try ``costdb health --help``)."""
    probe(arguments, prog="costdb health")
