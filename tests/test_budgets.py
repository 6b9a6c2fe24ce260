"""Budgets in the database: the spend a gateway reads (``costdb_budget_status``) against an
oracle computed here in Python from the raw rows (``costdb.prices.pricing``, ``zoneinfo``), whatever
part of the period the hourly roll-up has covered; the rules (CHECKs) as plain SQL meets them.
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from costdb.maintenance.rollup import roll_up
from costdb.prices.pricing import Price, Rates, Tier, Usage, event_cost
from costdb.settings import DatabaseSettings
from testsupport.price_rows import store_prices

# US daylight saving starts on 2026-03-08: New York's day has 23 hours. Kolkata is UTC+5:30:
# its periods start in the middle of a UTC hour.
FIRST = datetime(2026, 3, 5, tzinfo=UTC)
LAST = datetime(2026, 3, 11, tzinfo=UTC)
PRICES = {
    ("openai", "gpt-4o"): (
        Price(FIRST - timedelta(days=30), Rates(Decimal("0.0025"), Decimal("0.01"))),
        Price(datetime(2026, 3, 8, 9, 30, tzinfo=UTC), Rates(Decimal("0.002"), Decimal("0.008"))),
    ),
    ("anthropic", "claude-sonnet-4-5"): (
        Price(
            FIRST - timedelta(days=1),
            Rates(Decimal("0.003"), Decimal("0.015"), Decimal("0.0003"), Decimal("0.00375")),
            (Tier(200_001, Rates(Decimal("0.006"), Decimal("0.0225"))),),
        ),
    ),
}
UNPRICED = ("openai", "gpt-nobody-priced")
BUDGETS = (  # (project, feature, user, period, time zone)
    ("acme", None, None, "day", "America/New_York"),
    ("acme", "chat", None, "week", "Asia/Kolkata"),
    ("acme", None, "u1", "month", "UTC"),
    ("acme", None, "u2", "day", "Asia/Kolkata"),
    ("globex", None, None, "day", "UTC"),
)
ASKED_AT = (  # inside the covered hours, in the covered part of the open hour, just after it,
    # after it (calls only), in a later hour
    datetime(2026, 3, 7, 12, 17, 3, tzinfo=UTC),
    datetime(2026, 3, 8, 20, 45, tzinfo=UTC),
    datetime(2026, 3, 9, 2, 10, tzinfo=UTC),
    datetime(2026, 3, 9, 2, 20, 17, 1, tzinfo=UTC),
    datetime(2026, 3, 9, 3, 59, 59, tzinfo=UTC),
    datetime(2026, 3, 10, 18, 30, tzinfo=UTC),
)
COVERED_UNTIL = datetime(2026, 3, 9, 2, 20, 17, tzinfo=UTC)  # mid-hour: the hour in progress


# Plain PostgreSQL without and with a roll-up covering part of the calls, and Citus.
EACH_DATABASE_AND_COVERAGE = pytest.mark.parametrize(
    ("database_fixture", "covered"),
    [
        ("migrated_database", False),
        ("migrated_database", True),
        pytest.param("distributed_database", True, marks=pytest.mark.slow),
    ],
    ids=["no-roll-up", "rolled-up-partly", "citus"],
)


def _connect(database: DatabaseSettings) -> psycopg.Connection[Any]:
    return psycopg.connect(database.conninfo("test-budgets"), autocommit=True)


def _calls(seed: int, count: int) -> list[dict[str, Any]]:
    """Random calls over the six days, plus calls exactly on period and hour edges."""
    rng = random.Random(seed)  # noqa: S311  (reproducible test data)
    span = (LAST - FIRST).total_seconds()
    edges = [
        datetime(2026, 3, 8, 5, tzinfo=UTC),  # New York's midnight on the short day
        datetime(2026, 3, 9, 4, tzinfo=UTC),  # and on the next day (now UTC-4)
        datetime(2026, 3, 8, 18, 30, tzinfo=UTC),  # Kolkata's midnight
        datetime(2026, 3, 9, tzinfo=UTC),
        COVERED_UNTIL,
        COVERED_UNTIL - timedelta(microseconds=1),
    ]
    times = [FIRST + timedelta(seconds=rng.uniform(0, span)) for _ in range(count)] + edges
    calls = []
    for created_at in times:
        provider, model = rng.choice([*PRICES, UNPRICED])
        input_tokens = rng.choice([rng.randint(0, 4_000), rng.randint(190_000, 260_000)])
        cached = rng.randint(0, input_tokens // 2)
        calls.append(
            {
                "project_id": rng.choice(["acme", "acme", "globex"]),
                "feature": rng.choice(["chat", "search"]),
                "user_id": rng.choice(["u1", "u2", "u3", None]),
                "provider": provider,
                "model": model,
                "input_tokens": input_tokens,
                "output_tokens": rng.randint(0, 3_000),
                "cached_tokens": cached,
                "cache_write_tokens": rng.randint(0, input_tokens - cached) // 3,
                "latency_ms": rng.randint(20, 5_000),
                "estimated_cost_usd": Decimal(rng.randint(0, 900_000)) / 1_000_000,
                "created_at": created_at,
            }
        )
    return calls


def _store(connection: psycopg.Connection[Any], calls: list[dict[str, Any]]) -> None:
    for (provider, model), history in PRICES.items():
        store_prices(connection, provider, model, history)
    columns = list(calls[0])
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO events (trace_id, span_id, {', '.join(columns)})"  # noqa: S608
            f" VALUES ('t', 's', {', '.join(['%s'] * len(columns))})",  # the test's own names
            [tuple(call[c] for c in columns) for call in calls],
        )


def _store_and_roll_up(
    connection: psycopg.Connection[Any], calls: list[dict[str, Any]], *, covered: bool
) -> None:
    """The calls and their prices; with ``covered``, an hourly roll-up up to COVERED_UNTIL
    (mid-hour: the hour in progress), not beyond."""
    _store(connection, calls)
    if covered:
        roll_up(connection, "hour", FIRST + timedelta(hours=30), COVERED_UNTIL)


def _cost(call: dict[str, Any]) -> Decimal:
    """The cost view's rule: the price in effect, else the client's estimate."""
    usage = Usage(
        call["input_tokens"],
        call["output_tokens"],
        call["cached_tokens"],
        call["cache_write_tokens"],
    )
    history = PRICES.get((call["provider"], call["model"]), ())
    computed = event_cost(history, usage, call["created_at"])
    return call["estimated_cost_usd"] if computed is None else computed


def _period(period: str, time_zone: str, at: datetime) -> tuple[datetime, datetime]:
    """The budget period containing ``at``, from ``zoneinfo`` (not from the SQL under test)."""
    zone = ZoneInfo(time_zone)
    local = at.astimezone(zone)
    day = local.date()
    if period == "week":
        day -= timedelta(days=day.weekday())
    elif period == "month":
        day = day.replace(day=1)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    if period == "day":
        following = day + timedelta(days=1)
    elif period == "week":
        following = day + timedelta(days=7)
    else:
        following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    end = datetime(following.year, following.month, following.day, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _oracle_spend(
    calls: list[dict[str, Any]], budget: tuple[Any, ...], since: datetime, until: datetime
) -> Decimal:
    project, feature, user, _, _ = budget
    return sum(
        (
            _cost(call)
            for call in calls
            if call["project_id"] == project
            and (feature is None or call["feature"] == feature)
            and (user is None or call["user_id"] == user)
            and since <= call["created_at"] < until
        ),
        Decimal(0),
    )


def _set_budgets(connection: psycopg.Connection[Any]) -> None:
    for project, feature, user, period, zone in BUDGETS:
        connection.execute(
            "INSERT INTO budgets (project_id, feature, user_id, period, time_zone, limit_usd)"
            " VALUES (%s, %s, %s, %s, %s, 10)",
            (project, feature, user, period, zone),
        )


def _status(
    connection: psycopg.Connection[Any], budget: tuple[Any, ...], at: datetime
) -> dict[str, Any]:
    project, feature, user, period, _ = budget
    rows = connection.execute(
        "SELECT period, feature, user_id, period_start, period_end, spend_usd, limit_usd,"
        " remaining_usd, state FROM costdb_budget_status(%s, %s, %s, %s)",
        (project, feature, user, at),
    ).fetchall()
    (row,) = [r for r in rows if (r[0], r[1], r[2]) == (period, feature, user)]
    return dict(
        zip(
            (
                "period",
                "feature",
                "user_id",
                "start",
                "end",
                "spend",
                "limit",
                "remaining",
                "state",
            ),
            row,
            strict=True,
        )
    )


@EACH_DATABASE_AND_COVERAGE
def test_the_status_equals_the_raw_calls_priced_in_python(
    request: pytest.FixtureRequest, database_fixture: str, covered: bool
) -> None:
    database: DatabaseSettings = request.getfixturevalue(database_fixture)
    calls = _calls(seed=21, count=1500)
    with _connect(database) as connection:
        _store_and_roll_up(connection, calls, covered=covered)
        _set_budgets(connection)
        for at in ASKED_AT:
            for budget in BUDGETS:
                start, end = _period(budget[3], budget[4], at)
                status = _status(connection, budget, at)
                assert (status["start"], status["end"]) == (start, end), (budget, at)
                assert status["spend"] == _oracle_spend(calls, budget, start, at), (budget, at)
                assert status["remaining"] == status["limit"] - status["spend"]


def test_new_yorks_short_day_has_23_hours_and_kolkatas_day_starts_mid_hour(
    migrated_database: DatabaseSettings,
) -> None:
    with _connect(migrated_database) as connection:
        _set_budgets(connection)
        short_day = _status(connection, BUDGETS[0], datetime(2026, 3, 8, 12, tzinfo=UTC))
        kolkata = _status(connection, BUDGETS[3], datetime(2026, 3, 8, 12, tzinfo=UTC))
    assert short_day["start"] == datetime(2026, 3, 8, 5, tzinfo=UTC)
    assert short_day["end"] - short_day["start"] == timedelta(hours=23)
    assert kolkata["start"] == datetime(2026, 3, 7, 18, 30, tzinfo=UTC)


def test_the_hourly_spend_equals_a_group_by_and_the_coverage_grows_only_when_contiguous(
    migrated_database: DatabaseSettings,
) -> None:
    calls = _calls(seed=22, count=600)
    with _connect(migrated_database) as connection:
        _store(connection, calls)
        roll_up(connection, "hour", FIRST, FIRST + timedelta(days=2))
        roll_up(connection, "hour", FIRST + timedelta(days=1), FIRST + timedelta(days=3))
        coverage = connection.execute(
            "SELECT covered_from, covered_until FROM costdb_rollup_coverage WHERE period = 'hour'"
        ).fetchone()
        assert coverage == (FIRST, FIRST + timedelta(days=3))
        rows = connection.execute(
            "SELECT project_id, scope, scope_key, hour, cost_usd, calls FROM costdb_spend_hourly"
        ).fetchall()
        roll_up(connection, "hour", FIRST + timedelta(days=4), FIRST + timedelta(days=5))
        after_gap = connection.execute(
            "SELECT covered_from, covered_until FROM costdb_rollup_coverage WHERE period = 'hour'"
        ).fetchone()
    assert after_gap == (FIRST + timedelta(days=4), FIRST + timedelta(days=5))
    expected: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    for call in calls:
        hour = call["created_at"].replace(minute=0, second=0, microsecond=0)
        if not FIRST <= hour < FIRST + timedelta(days=3):
            continue
        keys = [("project", ""), ("feature", call["feature"]), ("model", call["model"])]
        if call["user_id"] is not None:
            keys.append(("user", call["user_id"]))
        for scope, key in keys:
            totals = expected[(call["project_id"], scope, key, hour)]
            totals[0] += _cost(call)
            totals[1] += 1
    assert {tuple(row[:4]): [row[4], row[5]] for row in rows} == dict(expected)


def test_the_hour_in_progress_is_covered_up_to_the_latest_run_only(
    migrated_database: DatabaseSettings,
) -> None:
    calls = _calls(seed=23, count=2000)
    hour = FIRST + timedelta(days=2)

    def project_spend(start: datetime, end: datetime) -> Decimal:
        return _oracle_spend(calls, ("acme", None, None, "day", "UTC"), start, end)

    def ledger(connection: psycopg.Connection[Any], at: datetime) -> tuple[Any, ...]:
        row = connection.execute(
            "SELECT h.cost_usd, c.covered_until FROM costdb_spend_hourly h,"
            " costdb_rollup_coverage c WHERE c.period = 'hour' AND h.project_id = 'acme'"
            " AND h.scope = 'project' AND h.hour = %s",
            (at,),
        ).fetchone()
        assert row is not None
        return tuple(row)

    with _connect(migrated_database) as connection:
        _store(connection, calls)
        roll_up(connection, "hour", FIRST, hour + timedelta(minutes=20))
        first = ledger(connection, hour)
        roll_up(connection, "hour", FIRST + timedelta(days=1), hour + timedelta(minutes=10))
        after_an_older_run = ledger(connection, hour)
        roll_up(connection, "hour", FIRST + timedelta(days=1), hour + timedelta(minutes=100))
        closed = ledger(connection, hour)
        next_open = ledger(connection, hour + timedelta(hours=1))
    assert first[0] > 0 and next_open[0] > 0  # calls in both hours in progress
    assert first == (project_spend(hour, hour + timedelta(minutes=20)), first[1])
    assert first[1] == hour + timedelta(minutes=20)
    assert after_an_older_run == first
    assert closed[0] == project_spend(hour, hour + timedelta(hours=1))
    assert next_open == (
        project_spend(hour + timedelta(hours=1), hour + timedelta(minutes=100)),
        hour + timedelta(minutes=100),
    )


def test_the_gateway_query_returns_the_budgets_that_apply_and_only_those(
    migrated_database: DatabaseSettings,
) -> None:
    at = datetime(2026, 3, 7, tzinfo=UTC)
    with _connect(migrated_database) as connection:
        _set_budgets(connection)
        connection.execute(
            "INSERT INTO budgets (project_id, user_id, period, limit_usd, active)"
            " VALUES ('acme', 'u1', 'day', 1, false)"
        )
        rows = connection.execute(
            "SELECT feature, user_id, period FROM costdb_budget_status('acme', 'chat', 'u1', %s)",
            (at,),
        ).fetchall()
        project_only = connection.execute(
            "SELECT count(*) FROM costdb_budget_status('acme', at => %s)", (at,)
        ).fetchone()
        everything = connection.execute("SELECT count(*) FROM budget_status").fetchone()
    assert sorted(rows, key=str) == sorted(
        [(None, None, "day"), ("chat", None, "week"), (None, "u1", "month")], key=str
    )
    assert project_only == (1,)
    assert everything == (len(BUDGETS),)


def test_the_state_is_ok_then_warning_then_exceeded(migrated_database: DatabaseSettings) -> None:
    at = datetime(2026, 3, 7, 12, tzinfo=UTC)
    with _connect(migrated_database) as connection:
        connection.execute(
            "INSERT INTO budgets (project_id, period, limit_usd, alert_thresholds)"
            " VALUES ('solo', 'day', 1, '{80,100}')"
        )
        states = []
        for estimate in ("0.5", "0.3", "0.2"):  # 50 %, 80 %, 100 %: no price covers the model
            connection.execute(
                "INSERT INTO events (trace_id, span_id, project_id, feature, provider, model,"
                " input_tokens, output_tokens, latency_ms, estimated_cost_usd, created_at)"
                " VALUES ('t', 's', 'solo', 'f', 'x', 'unpriced', 1, 1, 1, %s, %s)",
                (Decimal(estimate), at - timedelta(hours=1)),
            )
            row = connection.execute(
                "SELECT state, used_percent FROM costdb_budget_status('solo', at => %s)", (at,)
            ).fetchone()
            states.append(row)
    assert states == [("ok", Decimal("50.00")), ("warning", Decimal("80.00")), ("exceeded", 100)]


@pytest.mark.parametrize(
    ("columns", "values", "constraint"),
    [
        ("limit_usd", "0", "budgets_limit_positive_check"),
        ("limit_usd", "-5", "budgets_limit_positive_check"),
        ("alert_thresholds", "'{80,50}'", "budgets_thresholds_valid_check"),
        ("alert_thresholds", "'{50,150}'", "budgets_thresholds_valid_check"),
        ("alert_thresholds", "'{0}'", "budgets_thresholds_valid_check"),
        ("alert_thresholds", "'{}'", "budgets_thresholds_valid_check"),
        ("alert_thresholds", "'{50,NULL}'", "budgets_thresholds_valid_check"),
        ("period", "'year'", "budgets_period_valid_check"),
        ("feature, user_id", "'chat', 'u1'", "budgets_one_scope_check"),
    ],
)
def test_plain_sql_meets_the_rules_and_changes_nothing(
    migrated_database: DatabaseSettings, columns: str, values: str, constraint: str
) -> None:
    defaults = {"project_id": "'acme'", "period": "'day'", "limit_usd": "10"}
    for column in columns.split(", "):
        defaults.pop(column, None)
    names = ", ".join([*defaults, columns])
    given = ", ".join([*defaults.values(), values])
    with _connect(migrated_database) as connection:
        with pytest.raises(psycopg.errors.CheckViolation) as raised:
            connection.execute(f"INSERT INTO budgets ({names}) VALUES ({given})")  # noqa: S608
        assert raised.value.diag.constraint_name == constraint
        assert connection.execute("SELECT count(*) FROM budgets").fetchone() == (0,)


def test_an_unknown_time_zone_is_refused_naming_it(migrated_database: DatabaseSettings) -> None:
    with _connect(migrated_database) as connection:
        with pytest.raises(psycopg.errors.InvalidParameterValue, match="Mars/Olympus"):
            connection.execute(
                "INSERT INTO budgets (project_id, period, limit_usd, time_zone)"
                " VALUES ('acme', 'day', 10, 'Mars/Olympus')"
            )
        assert connection.execute("SELECT count(*) FROM budgets").fetchone() == (0,)


def test_one_budget_per_scope_and_period_even_with_nulls(
    migrated_database: DatabaseSettings,
) -> None:
    insert = "INSERT INTO budgets (project_id, period, limit_usd) VALUES ('acme', 'day', 10)"
    with _connect(migrated_database) as connection:
        connection.execute(insert)
        with pytest.raises(psycopg.errors.UniqueViolation):
            connection.execute(insert)
        connection.execute(
            "INSERT INTO budgets (project_id, period, limit_usd) VALUES ('acme', 'month', 10)"
        )


SPEND_BY_RANGES = (  # whole covered hours; edges off the hour on both sides; across the
    # coverage's end (the hour in progress); after it (calls only); empty
    (FIRST + timedelta(days=1), FIRST + timedelta(days=2)),
    (datetime(2026, 3, 6, 7, 13, 5, tzinfo=UTC), datetime(2026, 3, 8, 22, 41, 59, tzinfo=UTC)),
    (datetime(2026, 3, 7, 23, 30, tzinfo=UTC), datetime(2026, 3, 10, 4, 5, tzinfo=UTC)),
    (COVERED_UNTIL, LAST),
    (COVERED_UNTIL, COVERED_UNTIL),
)
DIMENSIONS = {"feature": "feature", "user": "user_id", "model": "model"}


def _oracle_spend_by(
    calls: list[dict[str, Any]], column: str, project: str | None, since: datetime, until: datetime
) -> list[tuple[Any, ...]]:
    totals: dict[Any, list[Any]] = defaultdict(lambda: [Decimal(0), 0])
    for call in calls:
        if (project is None or call["project_id"] == project) and since <= call[
            "created_at"
        ] < until:
            totals[call[column]][0] += _cost(call)
            totals[call[column]][1] += 1
    return sorted(((key, cost, count) for key, (cost, count) in totals.items()), key=str)


@EACH_DATABASE_AND_COVERAGE
def test_the_dashboards_spend_by_equals_the_raw_calls_priced_in_python(
    request: pytest.FixtureRequest, database_fixture: str, covered: bool
) -> None:
    database: DatabaseSettings = request.getfixturevalue(database_fixture)
    calls = _calls(seed=24, count=1500)
    with _connect(database) as connection:
        _store_and_roll_up(connection, calls, covered=covered)
        for since, until in SPEND_BY_RANGES:
            for dimension, column in DIMENSIONS.items():
                for project in ("acme", None):
                    rows = connection.execute(
                        "SELECT key, cost_usd, calls FROM costdb_spend_by(%s, %s, %s, %s)",
                        (dimension, since, until, project),
                    ).fetchall()
                    expected = _oracle_spend_by(calls, column, project, since, until)
                    assert sorted(rows, key=str) == expected, (dimension, project, since, until)
                    costs = [row[1] for row in rows]
                    assert costs == sorted(costs, reverse=True)  # the dearest first


def test_the_dashboards_spend_by_names_a_bad_dimension(
    migrated_database: DatabaseSettings,
) -> None:
    with (
        _connect(migrated_database) as connection,
        pytest.raises(psycopg.errors.InvalidParameterValue) as failure,
    ):
        connection.execute(
            "SELECT * FROM costdb_spend_by('region', now() - interval '1 day', now())"
        )
    assert str(failure.value).startswith(
        "costdb_spend_by: dimension must be feature, user or model, not 'region'"
    )
