"""``costdb rollup``, ``costdb retention`` and ``costdb similar``: the periodic jobs and the
duplicate-prompt search, as thin commands over ``costdb.maintenance``'s functions."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import click

from costdb import defaults
from costdb.budgets.webhook import webhook_from_environment
from costdb.command_line.context import CommandContext, pass_context
from costdb.command_line.options import every_option, heartbeat_option, wait_option
from costdb.command_line.scheduling import run_every
from costdb.durations import parse_duration, parse_range
from costdb.maintenance.retention import apply_retention, horizon_for
from costdb.maintenance.rollup_pass import BudgetCheck, RollupWindow, run_rollup_pass
from costdb.maintenance.similar import event_id_from, find_similar
from costdb.prices.names import NameMatcher
from costdb.prices.price_list import load_price_list


@click.command()
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
@pass_context
def rollup(  # noqa: PLR0913, PLR0917  (click passes each option as an argument)
    context: CommandContext,
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
    interval = parse_duration(every, "--every") if every else None
    parse_range(since, until, datetime.now(UTC))  # a bad range fails now, not at every tick
    # Loaded once, for every run of --every, and only when a new name needs it.
    matcher = NameMatcher(lambda: load_price_list(defaults.PRICES_SOURCE))
    budgets = BudgetCheck(webhook_from_environment(os.environ)) if check_budgets else None
    window = RollupWindow(period, since, until, full)

    def one_pass() -> None:
        with context.connection("rollup", wait_seconds) as connection:
            run_rollup_pass(connection, window, matcher, budgets)

    run_every(interval, one_pass, heartbeat)


@click.command()
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
@pass_context
def retention(
    context: CommandContext, keep: str, dry_run: bool, batch_size: int, wait_seconds: float
) -> None:
    """Delete events older than --keep (to midnight UTC), with their analyses and embeddings.

    In short batches, oldest first; roll-ups are kept; nothing newer than the horizon is
    touched. Prints how many rows it deleted per table.
    """
    horizon = horizon_for(datetime.now(UTC), parse_duration(keep, "--keep"))
    with context.connection("retention", wait_seconds) as connection:
        report = apply_retention(connection, horizon, batch_size=batch_size, dry_run=dry_run)
    click.echo(report.line())


@click.command()
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
@pass_context
def similar(
    context: CommandContext, event_id: str, k: int, min_similarity: float, as_json: bool
) -> None:
    """The k most similar earlier prompts of EVENT_ID's project (exact duplicates first)."""
    target = event_id_from(event_id)
    with context.connection("similar", defaults.INTERACTIVE_WAIT_SECONDS) as connection:
        found = find_similar(connection, target, k, min_similarity)
    for prompt in found:
        if as_json:
            click.echo(json.dumps(prompt.as_dict()))
        else:
            kind = "exact" if prompt.exact_duplicate else f"{prompt.similarity:.4f}"
            click.echo(f"{prompt.event_id}  {kind:>8}  {prompt.created_at.isoformat()}")
    if not found and not as_json:
        click.echo(f"no earlier prompt of this project at or above {min_similarity} similarity")
