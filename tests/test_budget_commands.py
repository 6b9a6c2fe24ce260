"""``costdb budgets set | list | remove`` as a user runs them: what they print, what they
store, and one line with nothing changed for every bad input."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from costdb.exit_codes import ExitCode
from costdb.settings import DatabaseSettings
from testsupport.cli_runner import run_module, url_environment

pytestmark = pytest.mark.slow  # commands as processes


def _budgets(database: DatabaseSettings, *args: str) -> Any:
    return run_module("costdb", "budgets", *args, env=url_environment(database))


def _rows(database: DatabaseSettings) -> list[tuple[Any, ...]]:
    with psycopg.connect(database.conninfo("test-budget-commands")) as connection:
        return connection.execute(
            "SELECT project_id, feature, user_id, period, time_zone, limit_usd,"
            " alert_thresholds, active FROM budgets ORDER BY period"
        ).fetchall()


def test_set_creates_then_changes_in_place_list_shows_and_remove_deletes(
    migrated_database: DatabaseSettings,
) -> None:
    created = _budgets(
        migrated_database,
        *("set", "--project", "acme", "--user", "u1", "--period", "day", "--limit", "50"),
    )
    changed = _budgets(
        migrated_database,
        *("set", "--project", "acme", "--user", "u1", "--period", "day", "--limit", "$75.5"),
        *("--alert-at", "90,100", "--time-zone", "Europe/Paris"),
    )
    listed = _budgets(migrated_database, "list", "--json")
    assert created.returncode == 0 and changed.returncode == 0, created.stderr + changed.stderr
    assert created.stdout.startswith("created the day budget of project 'acme', user 'u1': $50")
    assert changed.stdout.startswith("changed the day budget of project 'acme', user 'u1': $75.5")
    assert _rows(migrated_database) == [
        ("acme", None, "u1", "day", "Europe/Paris", Decimal("75.5"), [90, 100], True)
    ]
    (shown,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (shown["limit_usd"], shown["spend_usd"], shown["state"]) == ("75.5", "0", "ok")
    removed = _budgets(
        migrated_database, "remove", "--project", "acme", "--user", "u1", "--period", "day"
    )
    again = _budgets(
        migrated_database, "remove", "--project", "acme", "--user", "u1", "--period", "day"
    )
    assert removed.returncode == 0 and _rows(migrated_database) == []
    assert again.returncode == ExitCode.FAILED
    assert again.stderr.strip() == "costdb: error: no day budget for project 'acme', user 'u1'"
    assert _budgets(migrated_database, "list").stdout.strip() == "no budgets"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--limit", "0"), "a limit must be more than 0 USD"),
        (("--limit", "ten"), "is not an amount in USD"),
        (("--limit", "5", "--alert-at", "80,50"), "thresholds must be in ascending order"),
        (("--limit", "5", "--alert-at", "50,120"), "every threshold must be in (0, 100]"),
        (("--limit", "5", "--feature", "chat", "--user", "u1"), "--feature and --user"),
        (("--limit", "5", "--period", "year"), "'year' is not one of 'day', 'week', 'month'"),
    ],
)
def test_bad_input_is_one_line_and_changes_nothing(
    migrated_database: DatabaseSettings, arguments: tuple[str, ...], message: str
) -> None:
    period = () if "--period" in arguments else ("--period", "day")
    result = _budgets(migrated_database, "set", "--project", "acme", *period, *arguments)
    assert result.returncode == ExitCode.MISCONFIGURED, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("costdb: error:") and message in lines[0]
    assert _rows(migrated_database) == []


def test_an_unknown_time_zone_is_the_databases_one_line(
    migrated_database: DatabaseSettings,
) -> None:
    result = _budgets(
        migrated_database,
        *("set", "--project", "acme", "--period", "day", "--limit", "5"),
        *("--time-zone", "Mars/Olympus"),
    )
    assert result.returncode == ExitCode.FAILED
    assert result.stderr.strip().splitlines() == [
        'costdb: error: database error: time zone "Mars/Olympus" not recognized'
    ]
    assert _rows(migrated_database) == []
