"""Budget alerts: each threshold once per period, announced by NOTIFY and delivered to a
webhook at least once, whatever the checkers, the receiver or the late calls do. The checks
run as ``costdb budgets check`` processes against a local HTTP receiver, except where a test
needs two checkers inside the same instant (threads) or a process stopped half-way."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from costdb.budgets.alerts import CHANNEL, record_crossings
from costdb.exit_codes import ExitCode
from costdb.maintenance.rollup import roll_up
from costdb.settings import DatabaseSettings
from testsupport.cli_runner import run_module, url_environment
from testsupport.webhook_receiver import Receiver, webhook_receiver

pytestmark = pytest.mark.slow  # commands as processes


def _connect(database: DatabaseSettings) -> psycopg.Connection[Any]:
    return psycopg.connect(database.conninfo("test-budget-alerts"), autocommit=True)


def _spend(
    connection: psycopg.Connection[Any], usd: str, at: datetime | None = None, project: str = "p"
) -> None:
    """A call no price covers: it costs the client's estimate, ``usd``."""
    connection.execute(
        "INSERT INTO events (trace_id, span_id, project_id, feature, user_id, provider, model,"
        " input_tokens, output_tokens, latency_ms, estimated_cost_usd, created_at)"
        " VALUES ('t', 's', %s, 'chat', 'u1', 'x', 'unpriced', 1, 1, 1, %s, coalesce(%s, now()))",
        (project, Decimal(usd), at),
    )


def _budget(connection: psycopg.Connection[Any], limit: str, **columns: str) -> None:
    values = {"project_id": "p", "period": "day", "limit_usd": limit} | columns
    names = ", ".join(values)
    connection.execute(
        f"INSERT INTO budgets ({names}) VALUES ({', '.join(['%s'] * len(values))})",  # noqa: S608
        tuple(values.values()),
    )


def _alerts(connection: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return connection.execute(
        "SELECT period_start, threshold_percent, spend_usd, limit_usd, delivered_at IS NOT NULL,"
        " attempts, last_error FROM budget_alerts ORDER BY period_start, threshold_percent"
    ).fetchall()


def _check(database: DatabaseSettings, receiver: Receiver | None = None) -> Any:
    return _check_with(database, None if receiver is None else receiver.url)


def _check_with(database: DatabaseSettings, webhook: str | None) -> Any:
    """``costdb budgets check`` as a process, with ``webhook`` as its URL (or none)."""
    extra = {} if webhook is None else {"COSTDB_BUDGET_WEBHOOK_URL": webhook}
    return run_module(
        "costdb", "budgets", "check", env=url_environment(database, **extra), timeout=120
    )


@pytest.mark.parametrize("database_fixture", ["migrated_database", "distributed_database"])
def test_each_threshold_fires_once_per_period_and_is_delivered(
    request: pytest.FixtureRequest, database_fixture: str
) -> None:
    migrated_database: DatabaseSettings = request.getfixturevalue(database_fixture)
    with _connect(migrated_database) as connection, webhook_receiver() as receiver:
        _budget(connection, "10")
        _spend(connection, "6")
        first = _check(migrated_database, receiver)
        second = _check(migrated_database, receiver)
        _spend(connection, "2.5")
        third = _check(migrated_database, receiver)
        alerts = _alerts(connection)
    for result in (first, second, third):
        assert result.returncode == 0, result.stderr
    assert [(a[1], a[2], a[4]) for a in alerts] == [
        (Decimal(50), Decimal("6.000000"), True),
        (Decimal(80), Decimal("8.500000"), True),
    ]
    bodies = [request.body for request in receiver.received]
    assert [body["alert"]["threshold_percent"] for body in bodies] == ["50", "80"]
    assert "80 % threshold reached" in bodies[1]["text"]
    assert receiver.received[1].headers["Idempotency-Key"] == bodies[1]["idempotency_key"]
    assert receiver.url not in first.stderr + second.stderr + third.stderr
    assert "secret-token" not in first.stderr + third.stderr


def test_two_checkers_racing_record_and_announce_each_alert_once(
    migrated_database: DatabaseSettings,
) -> None:
    with _connect(migrated_database) as setup:
        for project in ("p", "q", "r"):
            _budget(setup, "1", project_id=project)
            _spend(setup, "1", project=project)
    with _connect(migrated_database) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        start = threading.Barrier(2)
        recorded: list[int] = []

        def checker() -> None:
            with _connect(migrated_database) as connection:
                start.wait()
                recorded.append(len(record_crossings(connection, datetime.now(UTC), webhook=False)))

        threads = [threading.Thread(target=checker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        notices = list(listener.notifies(timeout=2))
        with _connect(migrated_database) as connection:
            stored = connection.execute("SELECT count(*) FROM budget_alerts").fetchone()
    assert sum(recorded) == 9  # 3 budgets x 3 thresholds, each recorded by one checker
    assert stored == (9,)
    assert len(notices) == 9
    assert len({notice.payload for notice in notices}) == 9


def test_an_alert_recorded_by_a_checker_that_died_is_delivered_by_the_next(
    migrated_database: DatabaseSettings,
) -> None:
    with _connect(migrated_database) as connection, webhook_receiver() as receiver:
        _budget(connection, "10", alert_thresholds="{100}")
        _spend(connection, "12")
        # What a checker killed between recording and delivering leaves behind:
        (alert,) = record_crossings(connection, datetime.now(UTC), webhook=True)
        assert _alerts(connection)[0][4] is False
        result = _check(migrated_database, receiver)
        assert result.returncode == 0, result.stderr
        assert [request.body["alert"]["id"] for request in receiver.received] == [str(alert.id)]
        assert _alerts(connection)[0][4] is True


def test_a_checker_killed_while_posting_leaves_the_alert_to_a_later_run(
    migrated_database: DatabaseSettings, silent_server: int
) -> None:
    with _connect(migrated_database) as connection, webhook_receiver() as receiver:
        _budget(connection, "10", alert_thresholds="{100}")
        _spend(connection, "10")
        hung = subprocess.Popen(  # posts to a receiver that never answers
            [sys.executable, "-m", "costdb", "budgets", "check"],
            env=url_environment(
                migrated_database, COSTDB_BUDGET_WEBHOOK_URL=f"http://127.0.0.1:{silent_server}/"
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while connection.execute(
            "SELECT count(*) FROM budget_alerts WHERE next_attempt_at > now()"
        ).fetchone() != (1,):  # recorded, then claimed for its POST
            assert time.monotonic() < deadline
            time.sleep(0.05)
        hung.send_signal(signal.SIGKILL)
        hung.wait(timeout=10)
        claimed = _check(migrated_database, receiver)  # the claim still holds: not posted
        posted_while_claimed = len(receiver.received)
        connection.execute("UPDATE budget_alerts SET next_attempt_at = now()")  # it lapses
        later = _check(migrated_database, receiver)
        (alert,) = _alerts(connection)
    assert claimed.returncode == 0 and later.returncode == 0
    assert posted_while_claimed == 0
    assert len(receiver.received) == 1
    assert alert[4:6] == (True, 1)


def test_a_receiver_answering_500_is_retried_with_the_same_key_until_it_takes_it(
    migrated_database: DatabaseSettings,
) -> None:
    with _connect(migrated_database) as connection, webhook_receiver() as receiver:
        _budget(connection, "10", alert_thresholds="{100}")
        _spend(connection, "10")
        receiver.statuses = [500]
        failed = _check(migrated_database, receiver)
        assert failed.returncode == 0, failed.stderr  # the check itself succeeded
        (after_failure,) = _alerts(connection)
        retry_at = connection.execute("SELECT next_attempt_at - now() FROM budget_alerts")
        backoff = retry_at.fetchone()
        too_soon = _check(migrated_database, receiver)  # before the backoff: nothing sent
        connection.execute("UPDATE budget_alerts SET next_attempt_at = now()")  # time passes
        delivered = _check(migrated_database, receiver)
        (after_retry,) = _alerts(connection)
    assert after_failure[4:] == (False, 1, "the webhook answered HTTP 500")
    assert backoff is not None and timedelta(seconds=5) < backoff[0] <= timedelta(seconds=10)
    assert "HTTP 500" in failed.stderr and receiver.url not in failed.stderr
    assert too_soon.returncode == 0 and delivered.returncode == 0
    assert after_retry[4:] == (True, 2, None)
    keys = [request.headers["Idempotency-Key"] for request in receiver.received]
    assert len(keys) == 2 and keys[0] == keys[1]


def test_a_receiver_that_is_down_never_holds_up_the_check(
    migrated_database: DatabaseSettings, silent_server: int
) -> None:
    with _connect(migrated_database) as connection:
        _budget(connection, "10", alert_thresholds="{100}")
        _spend(connection, "10")
        refused = _check_with(migrated_database, "http://127.0.0.1:9/hook?token=s3")
        connection.execute("UPDATE budget_alerts SET next_attempt_at = now()")
        # accepts the connection, never answers: the POST's timeout
        silent = _check_with(migrated_database, f"http://127.0.0.1:{silent_server}/hook?token=s3")
        (alert,) = _alerts(connection)
    assert refused.returncode == 0 and silent.returncode == 0
    assert "cannot reach the webhook: Connection refused" in refused.stderr
    assert "did not answer within 5 s" in silent.stderr
    assert "token=s3" not in refused.stderr + silent.stderr
    assert alert[4:6] == (False, 2)


def test_late_calls_that_push_a_closed_period_over_its_limit_fire_for_that_period(
    migrated_database: DatabaseSettings,
) -> None:
    with _connect(migrated_database) as connection:
        _budget(connection, "10", alert_thresholds="{100}", time_zone="Asia/Kolkata")
        connection.execute("UPDATE budgets SET created_at = now() - interval '3 days'")
        today = connection.execute(
            "SELECT period_start FROM costdb_budget_period('day', 'Asia/Kolkata', now())"
        ).fetchone()
        assert today is not None
        yesterday = today[0] - timedelta(hours=5)
        _spend(connection, "9", at=yesterday)
        roll_up(connection, "hour", today[0] - timedelta(days=2), datetime.now(UTC))
        assert record_crossings(connection, datetime.now(UTC), webhook=False) == []
        _spend(connection, "1.5", at=yesterday + timedelta(minutes=1))  # late, in a rolled hour
        roll_up(connection, "hour", today[0] - timedelta(days=2), datetime.now(UTC))
        (alert,) = record_crossings(connection, datetime.now(UTC), webhook=False)
    assert alert.period_start == today[0] - timedelta(days=1)
    assert alert.spend_usd == Decimal("10.500000")


def test_a_budget_changed_mid_period_keeps_what_fired_and_fires_what_it_now_crosses(
    migrated_database: DatabaseSettings,
) -> None:
    with _connect(migrated_database) as connection:
        _budget(connection, "10")
        _spend(connection, "8.5")
        now = datetime.now(UTC)
        assert len(record_crossings(connection, now, webhook=False)) == 2  # 50 %, 80 %
        connection.execute("UPDATE budgets SET limit_usd = 100")
        assert record_crossings(connection, now, webhook=False) == []
        connection.execute("UPDATE budgets SET limit_usd = 8")
        (exceeded,) = record_crossings(connection, now, webhook=False)
        alerts = _alerts(connection)
    assert (exceeded.threshold_percent, exceeded.limit_usd) == (Decimal(100), Decimal(8))
    assert [(a[1], a[3]) for a in alerts] == [
        (Decimal(50), Decimal(10)),
        (Decimal(80), Decimal(10)),
        (Decimal(100), Decimal(8)),
    ]


def test_a_daylight_saving_day_alerts_for_its_23_hours_only(
    migrated_database: DatabaseSettings,
) -> None:
    short_day = datetime(2026, 3, 8, 5, tzinfo=UTC)  # New York's midnight, UTC-5 until 07:00
    with _connect(migrated_database) as connection:
        _budget(connection, "10", alert_thresholds="{100}", time_zone="America/New_York")
        connection.execute("UPDATE budgets SET created_at = %s", (short_day - timedelta(days=9),))
        _spend(connection, "6", at=short_day - timedelta(microseconds=1))  # the day before
        _spend(connection, "6", at=short_day + timedelta(hours=23))  # the day after
        _spend(connection, "9.99", at=short_day + timedelta(hours=22, minutes=59))
        during = record_crossings(
            connection, short_day + timedelta(hours=22, minutes=59, seconds=30), webhook=False
        )
        _spend(connection, "0.01", at=short_day)
        (alert,) = record_crossings(connection, short_day + timedelta(hours=23), webhook=False)
    assert during == []
    assert alert.period_start == short_day
    assert alert.spend_usd == Decimal("10.000000")


def test_a_webhook_that_is_not_a_url_fails_in_one_line_without_echoing_it(
    migrated_database: DatabaseSettings,
) -> None:
    result = _check_with(migrated_database, "hooks.slack/T0/s3cr3t")
    assert result.returncode == ExitCode.MISCONFIGURED, result.stderr
    assert result.stderr.strip().splitlines() == [
        "costdb: error: COSTDB_BUDGET_WEBHOOK_URL is not an http(s) URL with a host"
    ]
