"""``costdb rollup``, ``retention`` and ``similar`` against a real database and ground truth.

The roll-ups' ground truth is computed here in Python from the raw rows
(``costdb.prices.pricing`` for the cost, the client's estimate where no price covers a call),
not by the SQL under test.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from costdb.prices.conversion import ALWAYS
from costdb.prices.pricing import Price, Rates, Tier, Usage, event_cost
from costdb.settings import DatabaseSettings
from testsupport.cli_runner import run_module, url_environment
from testsupport.factories import unit_vector
from testsupport.price_rows import store_prices

pytestmark = pytest.mark.slow  # commands as processes

START = datetime(2026, 10, 1, tzinfo=UTC)
PRICES = {
    ("openai", "gpt-4o"): (
        Price(
            START - timedelta(days=30),
            Rates(Decimal("0.0025"), Decimal("0.01"), Decimal("0.00125")),
        ),
        Price(START + timedelta(hours=20), Rates(Decimal("0.002"), Decimal("0.008"))),
    ),
    ("anthropic", "claude-sonnet-4-5"): (
        Price(
            START - timedelta(days=1),
            Rates(Decimal("0.003"), Decimal("0.015"), Decimal("0.0003"), Decimal("0.00375")),
            (Tier(200_001, Rates(Decimal("0.006"), Decimal("0.0225"))),),
        ),
    ),
}
UNPRICED = ("openai", "gpt-unpriced")


def _connect(database: DatabaseSettings) -> psycopg.Connection[Any]:
    return psycopg.connect(database.conninfo("test-maintenance"), autocommit=True)


def _store_prices(connection: psycopg.Connection[Any]) -> None:
    for (provider, model), history in PRICES.items():
        store_prices(connection, provider, model, history)


def _random_events(seed: int, count: int, hours: int = 48) -> list[dict[str, Any]]:
    rng = random.Random(seed)  # noqa: S311  (reproducible test data, not secrets)
    models = [*PRICES, UNPRICED]
    events = []
    for _ in range(count):
        provider, model = rng.choice(models)
        input_tokens = rng.choice([rng.randint(0, 5_000), rng.randint(150_000, 300_000)])
        cached = rng.randint(0, input_tokens)
        written = rng.randint(0, input_tokens - cached) if rng.random() < 0.3 else 0
        events.append(
            {
                "project_id": rng.choice(["acme", "globex"]),
                "feature": rng.choice(["chat", "search", "summarise"]),
                "provider": provider,
                "model": model,
                "input_tokens": input_tokens,
                "output_tokens": rng.randint(0, 4_000),
                "cached_tokens": cached,
                "cache_write_tokens": written,
                "latency_ms": rng.randint(50, 9_000),
                "estimated_cost_usd": Decimal(rng.randint(0, 2_000_000)) / 1_000_000,
                "created_at": START + timedelta(seconds=rng.uniform(0, hours * 3600)),
            }
        )
    return events


def _priced_events(database: DatabaseSettings, seed: int, count: int) -> list[dict[str, Any]]:
    """The published prices and ``count`` random events stored in ``database``; the events."""
    events = _random_events(seed=seed, count=count)
    with _connect(database) as connection:
        _store_prices(connection)
        _insert(connection, events)
    return events


def _insert(connection: psycopg.Connection[Any], events: list[dict[str, Any]]) -> None:
    columns = list(events[0])
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO events (trace_id, span_id, {', '.join(columns)})"  # noqa: S608
            f" VALUES ('t', 's', {', '.join(['%s'] * len(columns))})",  # the test's own names
            [tuple(event[c] for c in columns) for event in events],
        )


def _ground_truth(
    events: list[dict[str, Any]], period: timedelta, prices: dict[Any, Any] = PRICES
) -> dict[tuple[Any, ...], Any]:
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        seconds = int((event["created_at"] - START).total_seconds() // period.total_seconds())
        start = START + seconds * period
        groups[(event["project_id"], event["feature"], event["model"], start)].append(event)
    truth = {}
    for key, members in groups.items():
        cost = Decimal(0)
        for event in members:
            usage = Usage(
                event["input_tokens"],
                event["output_tokens"],
                event["cached_tokens"],
                event["cache_write_tokens"],
            )
            computed = event_cost(
                prices.get((event["provider"], event["model"]), ()), usage, event["created_at"]
            )
            cost += event["estimated_cost_usd"] if computed is None else computed
        latency = Decimal(sum(e["latency_ms"] for e in members)) / len(members)
        truth[key] = (
            cost,
            sum(e["input_tokens"] + e["output_tokens"] for e in members),
            len(members),
            latency.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
        )
    return truth


def _aggregates(database: DatabaseSettings, period: str) -> dict[tuple[Any, ...], Any]:
    with _connect(database) as connection:
        rows = connection.execute(
            "SELECT project_id, feature, model, period_start, total_cost, total_tokens,"
            " call_count, avg_latency FROM cost_aggregates WHERE period = %s",
            (period,),
        ).fetchall()
    return {tuple(row[:4]): tuple(row[4:]) for row in rows}


def _costdb(database: DatabaseSettings, *args: str) -> subprocess.CompletedProcess[str]:
    return run_module("costdb", *args, env=url_environment(database), timeout=180)


def _rollup(database: DatabaseSettings, *args: str) -> subprocess.CompletedProcess[str]:
    return _costdb(
        database, "rollup", "--since", START.isoformat(), "--until", "2026-10-04T00:00Z", *args
    )


@pytest.mark.parametrize(
    ("period", "length"), [("hour", timedelta(hours=1)), ("day", timedelta(days=1))]
)
def test_roll_ups_equal_a_group_by_over_the_raw_events(
    migrated_database: DatabaseSettings, period: str, length: timedelta
) -> None:
    events = _priced_events(migrated_database, seed=1, count=600)
    result = _rollup(migrated_database, "--period", period)
    assert result.returncode == 0, result.stderr
    assert _aggregates(migrated_database, period) == _ground_truth(events, length)


def test_a_rerun_writes_nothing_and_a_late_event_is_picked_up(
    migrated_database: DatabaseSettings,
) -> None:
    events = _priced_events(migrated_database, seed=2, count=300)
    assert _rollup(migrated_database).returncode == 0
    with _connect(migrated_database) as connection:
        versions = connection.execute("SELECT ctid, xmin::text FROM cost_aggregates").fetchall()
    rerun = _rollup(migrated_database)
    assert rerun.returncode == 0
    assert "0 row(s) written" in rerun.stderr
    with _connect(migrated_database) as connection:
        assert (
            connection.execute("SELECT ctid, xmin::text FROM cost_aggregates").fetchall()
            == versions
        )
        late = {**events[0], "created_at": START + timedelta(minutes=30), "latency_ms": 1}
        _insert(connection, [late])
    assert "1 row(s) written" in _rollup(migrated_database).stderr
    assert _aggregates(migrated_database, "hour") == _ground_truth(
        [*events, late], timedelta(hours=1)
    )


def test_a_rerun_recomputes_only_the_periods_whose_events_changed(
    migrated_database: DatabaseSettings,
) -> None:
    events = _priced_events(migrated_database, seed=4, count=300)
    first = _rollup(migrated_database)
    assert "rolled up 72 closed hour period(s)" in first.stderr  # 3 days, none covered yet
    assert "rolled up 0 closed hour period(s)" in _rollup(migrated_database).stderr
    with _connect(migrated_database) as connection:
        connection.execute(  # tokens changed in place, in a rolled-up hour: a new fingerprint
            "UPDATE events SET output_tokens = output_tokens + 7"
            " WHERE id = (SELECT id FROM events ORDER BY created_at LIMIT 1)"
        )
        (moved_at,) = connection.execute(  # moved to another key, tokens unchanged: unseen
            "UPDATE events SET feature = 'moved' WHERE id ="
            " (SELECT id FROM events ORDER BY created_at DESC LIMIT 1) RETURNING created_at"
        ).fetchone() or (None,)
        rows = connection.execute(
            "SELECT project_id, feature, model, input_tokens, output_tokens, created_at FROM events"
        ).fetchall()
    assert "rolled up 1 closed hour period(s)" in _rollup(migrated_database).stderr
    changed = {(r[0], r[5]): r for r in rows}
    current = [
        event
        | {
            "feature": changed[(event["project_id"], event["created_at"])][1],
            "output_tokens": changed[(event["project_id"], event["created_at"])][4],
        }
        for event in events
    ]
    stale = _aggregates(migrated_database, "hour")
    assert stale != _ground_truth(current, timedelta(hours=1))  # the moved event: unseen
    assert any(key[1] == "moved" for key in _ground_truth(current, timedelta(hours=1)))
    full = _rollup(migrated_database, "--full")
    assert "rolled up 72 closed hour period(s)" in full.stderr
    fixed = _aggregates(migrated_database, "hour")
    truth = _ground_truth(current, timedelta(hours=1))
    assert {k: v for k, v in fixed.items() if k in truth} == truth
    assert moved_at is not None


def test_two_runs_at_once_and_ingest_give_the_same_exact_roll_ups(
    migrated_database: DatabaseSettings,
) -> None:
    events = _priced_events(migrated_database, seed=3, count=800)
    command = [
        sys.executable,
        "-m",
        "costdb",
        "rollup",
        "--since",
        START.isoformat(),
        "--until",
        "2026-10-04T00:00Z",
    ]
    runners = [
        subprocess.Popen(
            command, env=url_environment(migrated_database), stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    late = _random_events(seed=4, count=50)
    with _connect(migrated_database) as connection:
        _insert(connection, late)  # ingest while the roll-ups run
    outputs = [runner.communicate(timeout=180)[1] for runner in runners]
    assert [runner.returncode for runner in runners] == [0, 0], outputs
    assert _rollup(migrated_database).returncode == 0  # the next scheduled run
    assert _aggregates(migrated_database, "hour") == _ground_truth(
        [*events, *late], timedelta(hours=1)
    )


def test_a_period_that_overflows_the_counters_names_the_key_and_writes_nothing(
    migrated_database: DatabaseSettings,
) -> None:
    huge = {
        **_random_events(seed=5, count=1)[0],
        "input_tokens": 2_000_000_000,
        "cached_tokens": 0,
        "cache_write_tokens": 0,
        "project_id": "acme",
        "feature": "bulk",
        "model": "gpt-unpriced",
        "provider": "openai",
        "created_at": START + timedelta(minutes=5),
    }
    with _connect(migrated_database) as connection:
        _insert(connection, [huge, {**huge, "created_at": START + timedelta(minutes=6)}])
    result = _rollup(migrated_database)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith(
        "costdb: error: the hour from 2026-10-01T00:00:00+00:00 for project 'acme', feature "
        "'bulk', model 'gpt-unpriced' has 4,000,"
    )
    assert "Traceback" not in result.stderr
    assert _aggregates(migrated_database, "hour") == {}


def test_a_price_added_for_the_past_is_rolled_up_by_the_next_run_and_nothing_else(
    migrated_database: DatabaseSettings, tmp_path: Path
) -> None:
    events = _priced_events(migrated_database, seed=5, count=300)
    assert _rollup(migrated_database).returncode == 0
    assert _aggregates(migrated_database, "hour") == _ground_truth(events, timedelta(hours=1))
    with _connect(migrated_database) as connection:
        untouched = "SELECT xmin::text, id FROM cost_aggregates WHERE model <> %s ORDER BY id"
        before = connection.execute(untouched, (UNPRICED[1],)).fetchall()
    listed = [
        {
            "id": "openai",
            "name": "OpenAI",
            "api_pattern": "https://api\\.openai",
            "models": [
                {
                    "id": UNPRICED[1],
                    "match": {"equals": UNPRICED[1]},
                    "prices": {"input_mtok": "1.5", "output_mtok": 6},
                }
            ],
        }
    ]
    (tmp_path / "list.json").write_text(json.dumps(listed))
    synced = _costdb(migrated_database, "prices", "sync", "--source", str(tmp_path / "list.json"))
    assert synced.returncode == 0, synced.stderr
    # The next run's own window holds no event: only the recorded change brings them back.
    rolled = _costdb(
        migrated_database, "rollup", "--since", "2026-10-05T00:00Z", "--until", "2026-10-06T00:00Z"
    )
    assert rolled.returncode == 0, rolled.stderr
    assert "2 day(s) whose prices changed" in rolled.stderr
    prices = {**PRICES, UNPRICED: (Price(ALWAYS, Rates(Decimal("0.0015"), Decimal("0.006"))),)}
    assert _aggregates(migrated_database, "hour") == _ground_truth(
        events, timedelta(hours=1), prices
    )
    with _connect(migrated_database) as connection:
        assert connection.execute(untouched, (UNPRICED[1],)).fetchall() == before
        pending = "SELECT count(*) FROM costdb_repricing WHERE period = 'hour'"
        assert connection.execute(pending).fetchone() == (0,)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("rollup", "--since", "yesterday"), "--since: 'yesterday' is neither an ISO time"),
        (("rollup", "--every", "0s"), "--every: '0s' is not a positive duration"),
        (("retention", "--keep", "forever"), "--keep: 'forever' is not a positive duration"),
        (("similar", "not-a-uuid"), "EVENT_ID: 'not-a-uuid' is not a UUID"),
        (("rollup", "--since", "2d", "--until", "3d"), "--since 20"),
        (("rollup", "--since", "2026-11-30", "--until", "2026-11-30"), "--since 2026-11-30T"),
        (("rollup", "--period", "week"), "Invalid value for '--period': 'week' is not one of"),
        (("rollup", "--bogus"), "No such option '--bogus'."),
        (("retention",), "Missing option '--keep'"),
        (("similar",), "Missing argument 'EVENT_ID'"),
        (("similar", "-k", "0", str(uuid.UUID(int=1))), "Invalid value for '-k'"),
        (("no-such-command",), "No such command 'no-such-command'"),
    ],
)
def test_bad_arguments_end_in_one_line(
    migrated_database: DatabaseSettings, args: tuple[str, ...], message: str
) -> None:
    result = _costdb(migrated_database, *args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"costdb: error: {message}")
    assert "Usage:" not in result.stderr


def test_retention_deletes_only_what_is_older_than_the_horizon_in_batches(
    migrated_database: DatabaseSettings,
) -> None:
    now = datetime.now(UTC)
    ages = [500, 450, 401, 399, 10]  # days
    with _connect(migrated_database) as connection:
        for index, days in enumerate(ages):
            for copy in range(3):
                row = connection.execute(
                    "INSERT INTO events (trace_id, span_id, feature, provider, model, input_tokens,"
                    " output_tokens, latency_ms, estimated_cost_usd, created_at)"
                    " VALUES ('t', 's', 'f', 'openai', 'm', 1, 1, 1, 0, %s) RETURNING id",
                    (now - timedelta(days=days, minutes=copy),),
                ).fetchone()
                assert row is not None
                connection.execute("INSERT INTO prompt_analysis (event_id) VALUES (%s)", row)
                if copy == 0:
                    connection.execute(
                        "INSERT INTO prompt_embeddings (event_id, embedding, prompt_hash)"
                        " VALUES (%s, %s, 'h')",
                        (row[0], str(unit_vector(index))),
                    )
        connection.execute(
            "INSERT INTO cost_aggregates (feature, model, period, period_start)"
            " VALUES ('f', 'm', 'day', %s)",
            (now - timedelta(days=500),),
        )
    dry = _costdb(migrated_database, "retention", "--keep", "400d", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would delete" in dry.stdout
    assert "events 9, prompt_analysis 9, prompt_embeddings 3" in dry.stdout
    with _connect(migrated_database) as connection:
        assert connection.execute("SELECT count(*) FROM events").fetchone() == (15,)
    real = _costdb(migrated_database, "retention", "--keep", "400d", "--batch-size", "2")
    assert real.returncode == 0, real.stderr
    assert "deleted everything before" in real.stdout
    assert "events 9, prompt_analysis 9, prompt_embeddings 3 in " in real.stdout
    with _connect(migrated_database) as connection:
        left = connection.execute("SELECT min(now() - created_at), count(*) FROM events").fetchone()
        assert left is not None and left[1] == 6
        assert connection.execute("SELECT count(*) FROM prompt_analysis").fetchone() == (6,)
        assert connection.execute("SELECT count(*) FROM cost_aggregates").fetchone() == (1,)


def _embedding_near(base: list[float], index: int, weight: float) -> str:
    vector = [b + weight * u for b, u in zip(base, unit_vector(index), strict=True)]
    return str(vector)


def test_similar_prompts_stay_in_the_project_and_the_past_exact_first(
    migrated_database: DatabaseSettings,
) -> None:
    base = unit_vector(0)
    rows = [  # (name, project, minutes, embedding, hash)
        ("target", "acme", 100, str(base), "h-target"),
        ("exact", "acme", 10, _embedding_near(base, 5, 0.5), "h-target"),
        ("near", "acme", 20, _embedding_near(base, 1, 0.05), "h-near"),
        ("far", "acme", 30, str(unit_vector(7)), "h-far"),
        ("other-project", "globex", 40, str(base), "h-target"),
        ("later", "acme", 200, str(base), "h-later"),
    ]
    ids: dict[str, uuid.UUID] = {}
    with _connect(migrated_database) as connection:
        for name, project, minutes, embedding, prompt_hash in rows:
            row = connection.execute(
                "INSERT INTO events (trace_id, span_id, project_id, feature, provider, model,"
                " input_tokens, output_tokens, latency_ms, estimated_cost_usd, created_at)"
                " VALUES ('t', 's', %s, 'f', 'openai', 'm', 1, 1, 1, 0.5, %s) RETURNING id",
                (project, START + timedelta(minutes=minutes)),
            ).fetchone()
            assert row is not None
            ids[name] = row[0]
            connection.execute(
                "INSERT INTO prompt_embeddings (event_id, embedding, prompt_hash)"
                " VALUES (%s, %s, %s)",
                (row[0], embedding, prompt_hash),
            )
        savings = connection.execute(
            "SELECT feature, events, duplicated_events, cost_usd, avoidable_cost_usd"
            " FROM costdb_cache_savings('acme', %s, %s)",
            (START, START + timedelta(days=1)),
        ).fetchall()
    result = _costdb(migrated_database, "similar", str(ids["target"]), "--json")
    assert result.returncode == 0, result.stderr
    found = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(f["event_id"], f["exact_duplicate"]) for f in found] == [
        (str(ids["exact"]), True),
        (str(ids["near"]), False),
    ]
    assert found[1]["similarity"] > 0.95
    # target and later repeat an earlier prompt of acme; exact, near and far are firsts.
    assert savings == [("f", 5, 2, Decimal("2.500000"), Decimal("1.000000"))]


def test_the_heartbeat_says_whether_the_last_run_succeeded_recently(
    migrated_database: DatabaseSettings, tmp_path: Path
) -> None:
    beat = tmp_path / "rollup.heartbeat"
    check = ["costdb.maintenance.heartbeat", str(beat), "60"]
    missing = run_module(*check, env=url_environment(migrated_database))
    assert (missing.returncode, missing.stdout.split(":")[0]) == (1, "unhealthy")
    assert _rollup(migrated_database, "--heartbeat", str(beat)).returncode == 0
    assert run_module(*check, env=url_environment(migrated_database)).returncode == 0
    stale = time.time() - 120
    os.utime(beat, (stale, stale))
    old = run_module(*check, env=url_environment(migrated_database))
    assert old.returncode == 1
    assert old.stdout.startswith("unhealthy: the last successful run was 12")
    assert old.stdout.strip().endswith("s ago (limit 60 s)")
    failed = run_module(
        "costdb",
        "rollup",
        "--heartbeat",
        str(tmp_path / "never"),
        "--wait",
        "0",
        env=url_environment(migrated_database.with_params(port="1")),
    )
    assert failed.returncode != 0
    assert not (tmp_path / "never").exists()
