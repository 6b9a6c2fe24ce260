"""``costdb export drizzle``: the schema as a TypeScript module for the platform's backend."""

from __future__ import annotations

import logging

import click

from costdb.errors import CostdbError
from costdb.export.drizzle import render_drizzle_schema

log = logging.getLogger("costdb")


@click.group()
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
