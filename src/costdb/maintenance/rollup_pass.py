"""One pass of ``costdb rollup``, callable from Python: resolve the names first seen in the
window, roll up its closed periods, then (if asked) check the budgets against the spend just
written. The command runs it once or ``--every``; a job scheduler of one's own can call it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from costdb.budgets.check import BudgetCheckResult, check_budgets
from costdb.budgets.webhook import Webhook
from costdb.durations import parse_range
from costdb.maintenance.rollup import RollupSummary, roll_up
from costdb.prices.names import NameMatcher, Resolution, resolve_names

if TYPE_CHECKING:
    import psycopg


@dataclass(frozen=True)
class RollupWindow:
    """What each pass recomputes: ``since`` and ``until`` stay relative (``48h``) and are
    read at each pass, so a long-running roll-up follows the clock."""

    period: str
    since: str
    until: str | None = None
    full: bool = False


@dataclass(frozen=True)
class BudgetCheck:
    """Check the budgets after the roll-up, delivering to this webhook (or none)."""

    webhook: Webhook | None


@dataclass(frozen=True)
class RollupPassResult:
    """What one pass did: the names it resolved, the roll-up, the budget check (or None)."""

    resolved: list[Resolution]
    rollup: RollupSummary
    budgets: BudgetCheckResult | None


def run_rollup_pass(
    connection: psycopg.Connection[Any],
    window: RollupWindow,
    matcher: NameMatcher,
    budgets: BudgetCheck | None = None,
) -> RollupPassResult:
    """Resolve, roll up, check: the three steps in the order each needs the one before."""
    start, end = parse_range(window.since, window.until, datetime.now(UTC))
    resolved = resolve_names(connection, matcher, start)
    summary = roll_up(connection, window.period, start, end, full=window.full)
    checked = check_budgets(connection, budgets.webhook) if budgets is not None else None
    return RollupPassResult(resolved, summary, checked)
