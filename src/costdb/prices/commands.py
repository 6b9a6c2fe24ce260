"""``costdb prices sync | missing``: the public price list into the database, and the calls no
price covers."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from costdb import defaults
from costdb.command_line.context import CommandContext, pass_context
from costdb.command_line.options import wait_option
from costdb.durations import parse_instant
from costdb.prices.price_list import load_price_list
from costdb.prices.sync import sync_price_list
from costdb.prices.unpriced import unpriced_since


@click.group()
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
@pass_context
def prices_sync(
    context: CommandContext, source: str, dry_run: bool, as_json: bool, wait_seconds: float
) -> None:
    """Store the list's prices as history (idempotent; prices entered by hand win), then
    resolve the model names events report to the models they are."""
    price_list = load_price_list(source)
    with context.connection("prices", wait_seconds) as connection:
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
@pass_context
def prices_missing(context: CommandContext, since: str, as_json: bool, wait_seconds: float) -> None:
    """Each (provider, model) with calls but no price in effect: calls, tokens, first and last
    seen, and the clients' own estimate summed. Exit 0 either way: it is data, not a fault."""
    start = parse_instant(since, "--since", datetime.now(UTC))
    with context.connection("prices", wait_seconds) as connection:
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
