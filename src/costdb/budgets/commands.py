"""``costdb budgets set | list | remove | check``: budgets from the command line.

Plain SQL on ``budgets`` works the same (the database's CHECKs are the rules); these commands
say what they did in one line and refuse bad input before the database sees it.
"""

from __future__ import annotations

import itertools
import json
import os
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import click

from costdb import defaults
from costdb.budgets.check import check_budgets
from costdb.budgets.store import (
    BudgetRow,
    BudgetScope,
    BudgetTerms,
    list_budgets,
    remove_budget,
    set_budget,
)
from costdb.budgets.webhook import webhook_from_environment
from costdb.command_line.context import CommandContext, pass_context
from costdb.command_line.options import every_option, heartbeat_option, wait_option
from costdb.command_line.scheduling import run_every
from costdb.durations import parse_duration


def _positive_usd(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value.removeprefix("$"))
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not an amount in USD (e.g. 50 or 12.5)") from None
    if not amount.is_finite() or amount <= 0:
        raise click.BadParameter(f"{value!r}: a limit must be more than 0 USD")
    return amount


def _thresholds(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[Decimal, ...]:
    try:
        percents = tuple(Decimal(part.strip().removesuffix("%")) for part in value.split(","))
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not a list of percents (e.g. 50,80,100)") from None
    if not 1 <= len(percents) <= 10:
        raise click.BadParameter("between 1 and 10 thresholds")
    if any(not p.is_finite() or p <= 0 or p > 100 for p in percents):
        raise click.BadParameter(f"{value!r}: every threshold must be in (0, 100]")
    if any(later <= earlier for earlier, later in itertools.pairwise(percents)):
        raise click.BadParameter(f"{value!r}: thresholds must be in ascending order")
    return percents


def _scope(project: str, feature: str | None, user: str | None) -> BudgetScope:
    if feature is not None and user is not None:
        raise click.UsageError("--feature and --user: a budget is for one or the other")
    return BudgetScope(project, feature, user)


def _scope_options(function: Any) -> Any:
    for option in reversed(
        (
            click.option("--project", required=True, help="The project (events.project_id)."),
            click.option("--feature", default=None, help="Only this feature of the project."),
            click.option("--user", default=None, help="Only this user of the project."),
            click.option(
                "--period",
                type=click.Choice(defaults.BUDGET_PERIODS),
                required=True,
                help="The budget's period (in its time zone).",
            ),
        )
    ):
        function = option(function)
    return function


@click.group()
def budgets() -> None:
    """Spending limits per project, feature or user, and their alerts."""


@budgets.command("set")
@_scope_options
@click.option("--limit", "limit_usd", required=True, callback=_positive_usd, help="USD per period.")
@click.option(
    "--alert-at",
    default=",".join(str(percent) for percent in defaults.BUDGET_ALERT_THRESHOLDS),
    show_default=True,
    callback=_thresholds,
    help="Alert thresholds, percent of the limit, ascending.",
)
@click.option(
    "--time-zone",
    default="UTC",
    show_default=True,
    help="IANA time zone in which the periods start (Europe/Paris).",
)
@click.option("--inactive", is_flag=True, help="Keep the budget, but neither report nor alert.")
@wait_option(defaults.INTERACTIVE_WAIT_SECONDS)
@pass_context
def budgets_set(  # noqa: PLR0913, PLR0917  (click passes each option as an argument)
    context: CommandContext,
    project: str,
    feature: str | None,
    user: str | None,
    period: str,
    limit_usd: Decimal,
    alert_at: tuple[Decimal, ...],
    time_zone: str,
    inactive: bool,
    wait_seconds: float,
) -> None:
    """Create the budget of a scope and period, or change it (its alerts stay fired)."""
    scope = _scope(project, feature, user)
    terms = BudgetTerms(period, limit_usd, alert_at, time_zone, active=not inactive)
    with context.connection("budgets", wait_seconds) as connection:
        budget_id, created = set_budget(connection, scope, terms)
    thresholds = ", ".join(f"{t.normalize():f}" for t in alert_at)
    click.echo(
        f"{'created' if created else 'changed'} the {period} budget of {scope.describe()}: "
        f"${limit_usd.normalize():f} ({time_zone}), alerts at {thresholds} %"
        f"{', inactive' if inactive else ''} [{budget_id}]"
    )


@budgets.command("list")
@click.option("--project", default=None, help="Only this project's budgets.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per line.")
@wait_option(defaults.INTERACTIVE_WAIT_SECONDS)
@pass_context
def budgets_list(
    context: CommandContext, project: str | None, as_json: bool, wait_seconds: float
) -> None:
    """Every budget with its spend so far in its current period and its state."""
    with context.connection("budgets", wait_seconds) as connection:
        rows = list_budgets(connection, project)
    for row in rows:
        click.echo(json.dumps(row.as_dict()) if as_json else _line(row))
    if not rows and not as_json:
        click.echo("no budgets" + (f" for project {project!r}" if project else ""))


def _line(row: BudgetRow) -> str:
    fields = row.as_dict()
    spent = "" if row.spend_usd is None else f"${row.spend_usd:.2f} spent, "
    used = "" if row.used_percent is None else f"{row.used_percent:.1f} % used, "
    return (
        f"{row.terms.period:<5} {row.scope.describe()}: limit ${row.terms.limit_usd.normalize():f}"
        f" ({row.terms.time_zone}); {spent}{used}{fields['state']} [{row.id}]"
    )


@budgets.command("remove")
@_scope_options
@wait_option(defaults.INTERACTIVE_WAIT_SECONDS)
@pass_context
def budgets_remove(
    context: CommandContext,
    project: str,
    feature: str | None,
    user: str | None,
    period: str,
    wait_seconds: float,
) -> None:
    """Delete a budget and its alerts (``set --inactive`` keeps them)."""
    scope = _scope(project, feature, user)
    with context.connection("budgets", wait_seconds) as connection:
        budget_id = remove_budget(connection, scope, period)
    click.echo(f"removed the {period} budget of {scope.describe()} [{budget_id}]")


@budgets.command("check")
@every_option("")
@heartbeat_option
@wait_option(defaults.MAINTENANCE_WAIT_SECONDS)
@pass_context
def budgets_check(
    context: CommandContext, every: str | None, heartbeat: Path | None, wait_seconds: float
) -> None:
    """Record each alert threshold crossed (once per budget, period and threshold), NOTIFY
    costdb_budget_alerts, and POST it to COSTDB_BUDGET_WEBHOOK_URL (or its _FILE) if set."""
    interval = parse_duration(every, "--every") if every else None
    webhook = webhook_from_environment(os.environ)  # read once, at start

    def check_once() -> None:
        with context.connection("budgets", wait_seconds) as connection:
            check_budgets(connection, webhook)

    run_every(interval, check_once, heartbeat)
