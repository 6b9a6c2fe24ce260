"""``costdb prices sync`` and ``missing`` against a real database: exact, idempotent, history
kept, hand-entered prices winning, reported names resolved, bad lists refused whole."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from costdb.local.cluster import free_port
from costdb.settings import DatabaseSettings
from testsupport.cli_runner import run_module, url_environment

pytestmark = pytest.mark.slow  # `costdb prices` as processes


def _provider(*models: dict[str, Any], provider_id: str = "acme") -> dict[str, Any]:
    return {
        "id": provider_id,
        "name": "Acme",
        "api_pattern": "https://api\\.acme",
        "models": list(models),
    }


def _model(model_id: str, prices: Any, match: dict[str, str] | None = None) -> dict[str, Any]:
    return {"id": model_id, "match": match or {"equals": model_id}, "prices": prices}


def _write_list(tmp_path: Path, *providers: dict[str, Any], name: str = "prices.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(list(providers)))
    return str(path)


def _costdb(database: DatabaseSettings, *args: str) -> subprocess.CompletedProcess[str]:
    return run_module("costdb", *args, env=url_environment(database), timeout=120)


def _sync(database: DatabaseSettings, *args: str) -> subprocess.CompletedProcess[str]:
    return _costdb(database, "prices", "sync", *args)


def _query(database: DatabaseSettings, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(database.conninfo("test"), autocommit=True) as connection:
        cursor = connection.execute(sql.encode(), params)
        return cursor.fetchall() if cursor.description else []


def _cost(database: DatabaseSettings, provider: str, model: str, at: str, *usage: int) -> Any:
    return _query(
        database,
        "SELECT costdb_event_cost(%s, %s, %s::timestamptz, %s, %s, %s, %s)",
        provider,
        model,
        at,
        *usage,
    )[0][0]


def _rows(database: DatabaseSettings) -> list[tuple[Any, ...]]:
    return _query(
        database,
        "SELECT provider, model, effective_date, input_price_per_1k::text,"
        " output_price_per_1k::text, source FROM model_pricing ORDER BY 1, 2, 3",
    )


def _insert_event(database: DatabaseSettings, provider: str, model: str, at: str) -> None:
    _query(
        database,
        "INSERT INTO events (trace_id, span_id, project_id, feature, provider, model,"
        " input_tokens, output_tokens, latency_ms, estimated_cost_usd, created_at)"
        " VALUES ('t', 's', 'p', 'f', %s, %s, 1000, 100, 10, 0.5, %s)",
        provider,
        model,
        at,
    )


def test_the_bundled_list_syncs_exactly_once_and_prices_reported_names(
    migrated_database: DatabaseSettings,
) -> None:
    for provider, model in (
        ("openai", "gpt-4o-2024-08-06"),
        ("anthropic", "claude-sonnet-4-5-20250929"),
        ("bedrock", "anthropic.claude-3-5-sonnet-20240620-v1:0"),
    ):
        _insert_event(migrated_database, provider, model, "2026-11-01T00:00Z")
    first = _sync(migrated_database, "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["models_listed"] > 1500
    assert report["rows_written"] >= report["models_listed"]
    assert report["names_resolved"] == 3
    second = _sync(migrated_database, "--json")
    assert json.loads(second.stdout)["rows_written"] == 0  # idempotent
    usage = (100_000, 100_000, 0, 0)  # below every long-context tier
    gpt_4o = _cost(migrated_database, "openai", "gpt-4o", "2026-11-01Z", *usage)
    assert gpt_4o == Decimal("1.250000")  # $2.50 + $10 per million
    assert _cost(migrated_database, "openai", "gpt-4o-2024-08-06", "2026-11-01Z", *usage) == gpt_4o
    assert _cost(
        migrated_database, "anthropic", "claude-sonnet-4-5-20250929", "2026-11-01Z", *usage
    ) == (
        Decimal("1.800000")  # $3 + $15 per million
    )
    bedrock = _cost(
        migrated_database,
        "bedrock",
        "anthropic.claude-3-5-sonnet-20240620-v1:0",
        "2026-11-01Z",
        *usage,
    )
    assert bedrock is not None and bedrock > 0
    priced = _query(
        migrated_database, "SELECT count(*) FROM events_with_cost WHERE computed_cost_usd IS NULL"
    )
    assert priced == [(0,)]
    rules = dict(
        _query(
            migrated_database,
            "SELECT model, rule FROM costdb_model_names WHERE provider = 'openai'",
        )
    )  # (GitHub Copilot lists the same dated name: resolved too, as its own model)
    assert "matches openai model 'gpt-4o'" in rules["gpt-4o-2024-08-06"]
    assert report["listed_names_resolved"] > 1000  # every name the list gives exactly


def test_history_is_never_rewritten_and_dated_prices_keep_their_dates(
    migrated_database: DatabaseSettings, tmp_path: Path
) -> None:
    dated = [
        {"prices": {"input_mtok": 1, "output_mtok": 2}},
        {"constraint": {"start_date": "2026-06-01"}, "prices": {"input_mtok": 3, "output_mtok": 4}},
    ]
    before = _write_list(
        tmp_path,
        _provider(_model("a-1", {"input_mtok": "0.0375", "output_mtok": 2}), _model("a-2", dated)),
    )
    assert _sync(migrated_database, "--source", before).returncode == 0
    rows = _rows(migrated_database)
    assert [(r[1], r[2].isoformat(), r[3], r[5]) for r in rows] == [
        ("a-1", "1970-01-01T00:00:00+00:00", "0.0000375", "genai-prices"),
        ("a-2", "1970-01-01T00:00:00+00:00", "0.001", "genai-prices"),
        ("a-2", "2026-06-01T00:00:00+00:00", "0.003", "genai-prices"),
    ]
    assert _cost(
        migrated_database, "acme", "a-2", "2026-05-31T23:59Z", 1_000_000, 0, 0, 0
    ) == Decimal("1.000000")
    assert _cost(
        migrated_database, "acme", "a-2", "2026-06-01T00:00Z", 1_000_000, 0, 0, 0
    ) == Decimal("3.000000")
    # The list changes a-1's undated price: calls already priced keep theirs.
    past = _cost(migrated_database, "acme", "a-1", "2026-01-01Z", 1_000_000, 0, 0, 0)
    after = _write_list(
        tmp_path,
        _provider(_model("a-1", {"input_mtok": 5, "output_mtok": 2}), _model("a-2", dated)),
        name="after.json",
    )
    changed = _sync(migrated_database, "--source", after, "--json")
    assert json.loads(changed.stdout)["models_changed"] == ["acme/a-1"]
    assert _rows(migrated_database)[:1] == rows[:1]  # the old row is untouched
    assert (
        _cost(migrated_database, "acme", "a-1", "2026-01-01Z", 1_000_000, 0, 0, 0)
        == past
        == Decimal("0.037500")
    )
    assert _cost(migrated_database, "acme", "a-1", "2100-01-01Z", 1_000_000, 0, 0, 0) == Decimal(
        "5.000000"
    )
    assert (
        json.loads(_sync(migrated_database, "--source", after, "--json").stdout)["rows_written"]
        == 0
    )


def test_a_tier_applies_above_its_start_exactly_as_the_list_says(
    migrated_database: DatabaseSettings, tmp_path: Path
) -> None:
    tiered = {
        "input_mtok": {"base": 1, "tiers": [{"start": 200000, "price": 2}]},
        "output_mtok": 10,
    }
    assert (
        _sync(
            migrated_database, "--source", _write_list(tmp_path, _provider(_model("t", tiered)))
        ).returncode
        == 0
    )
    assert _query(migrated_database, "SELECT min_input_tokens FROM model_pricing_tiers") == [
        (200001,)
    ]
    # genai-prices: a tier applies when input tokens *exceed* its start.
    assert _cost(migrated_database, "acme", "t", "2026-01-01Z", 200000, 1000, 0, 0) == Decimal(
        "0.210000"
    )
    assert _cost(migrated_database, "acme", "t", "2026-01-01Z", 200001, 1000, 0, 0) == Decimal(
        "0.410002"
    )


def test_prices_entered_by_hand_win_and_a_name_resolved_by_hand_too(
    migrated_database: DatabaseSettings,
) -> None:
    _query(
        migrated_database,
        "INSERT INTO model_pricing (provider, model, input_price_per_1k, output_price_per_1k,"
        " effective_date) VALUES ('openai', 'gpt-4o', 0.001, 0.002, '2026-01-01Z')",
    )
    _query(
        migrated_database,
        "INSERT INTO costdb_model_names (provider, model, priced_provider, priced_model, rule)"
        " VALUES ('openai', 'gpt-4o-2024-08-06', 'openai', 'gpt-4o-mini', 'ours')",
    )
    _insert_event(migrated_database, "openai", "gpt-4o-2024-08-06", "2026-11-01T00:00Z")
    result = _sync(migrated_database, "--json")
    assert "openai/gpt-4o" in json.loads(result.stdout)["models_kept_manual"]
    assert _query(
        migrated_database,
        "SELECT source, count(*) FROM model_pricing WHERE model = 'gpt-4o' GROUP BY 1",
    ) == [("manual", 1)]
    assert _query(
        migrated_database,
        "SELECT priced_model, rule FROM costdb_model_names"
        " WHERE provider = 'openai' AND model = 'gpt-4o-2024-08-06'",
    ) == [("gpt-4o-mini", "ours")]
    assert _cost(migrated_database, "openai", "gpt-4o", "2026-11-01Z", 1000, 1000, 0, 0) == Decimal(
        "0.003000"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[{"id": "acme", "name"', "not valid JSON"),
        ("{}", "expected a JSON list of providers"),
        ('[{"id": "acme"}]', "not in genai-prices' format"),
        (json.dumps([_provider(_model("x", {"input_mtok": -1, "output_mtok": 1}))]), "-1"),
        # NaN and infinities, as JSON's non-standard literals and as strings; in a tier too
        (
            json.dumps([_provider(_model("x", {"input_mtok": float("nan"), "output_mtok": 1}))]),
            "finite number",
        ),
        (
            json.dumps([_provider(_model("x", {"input_mtok": 1, "output_mtok": "Infinity"}))]),
            "finite",
        ),
        (
            json.dumps(
                [
                    _provider(
                        _model(
                            "x",
                            {
                                "input_mtok": {
                                    "base": 1,
                                    "tiers": [{"start": 200000, "price": "-Infinity"}],
                                },
                                "output_mtok": 1,
                            },
                        )
                    )
                ]
            ),
            "-Infinity",
        ),
        (
            json.dumps(
                [
                    _provider(
                        _model("x", {"input_mtok": 1, "output_mtok": 1}),
                        _model("x", {"input_mtok": 2, "output_mtok": 1}),
                    )
                ]
            ),
            "listed twice",
        ),
    ],
)
def test_a_bad_list_is_one_line_and_changes_nothing(
    migrated_database: DatabaseSettings, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = _sync(migrated_database, "--source", str(path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("costdb: error: price list"), result.stderr
    assert message in lines[0]
    assert _rows(migrated_database) == []


def test_an_unreachable_url_and_a_missing_file_are_one_line(
    migrated_database: DatabaseSettings,
) -> None:
    url = f"http://user:secret@127.0.0.1:{free_port()}/prices.json?token=hidden"
    unreachable = _sync(migrated_database, "--source", url)
    assert unreachable.returncode == 1
    assert "cannot fetch it" in unreachable.stderr
    assert "secret" not in unreachable.stderr and "hidden" not in unreachable.stderr
    missing = _sync(migrated_database, "--source", "/nonexistent/prices.json")
    assert missing.returncode == 2
    assert "cannot read it" in missing.stderr
    assert _rows(migrated_database) == []


def test_two_syncs_at_once_write_the_list_once(
    migrated_database: DatabaseSettings, tmp_path: Path
) -> None:
    models = [_model(f"m-{n}", {"input_mtok": n, "output_mtok": n}) for n in range(50)]
    source = _write_list(tmp_path, _provider(*models))
    command = [sys.executable, "-m", "costdb", "prices", "sync", "--source", source, "--json"]
    runs = [
        subprocess.Popen(
            command, env=url_environment(migrated_database), stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    written = [json.loads(run.communicate(timeout=120)[0])["rows_written"] for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    assert sorted(written) == [0, 50]
    assert len(_rows(migrated_database)) == 50


def test_missing_lists_the_names_no_price_covers(migrated_database: DatabaseSettings) -> None:
    _insert_event(migrated_database, "acme", "ft:private-1", "2026-12-01T00:00Z")
    _insert_event(migrated_database, "acme", "ft:private-1", "2026-12-02T00:00Z")
    result = _costdb(
        migrated_database, "prices", "missing", "--since", "2026-11-01T00:00Z", "--json"
    )
    assert result.returncode == 0, result.stderr
    (row,) = [json.loads(line) for line in result.stdout.splitlines()]
    assert row == {
        "provider": "acme",
        "model": "ft:private-1",
        "calls": 2,
        "input_tokens": 2000,
        "output_tokens": 200,
        "first_seen": "2026-12-01T00:00:00+00:00",
        "last_seen": "2026-12-02T00:00:00+00:00",
        "estimated_cost_usd": "1.000000",
    }


def test_missing_agrees_with_the_cost_view_before_and_after_a_price_starts(
    migrated_database: DatabaseSettings,
) -> None:
    for at in ("2026-01-01T00:00Z", "2026-03-01T00:00Z"):
        _insert_event(migrated_database, "acme", "dated", at)
    _query(
        migrated_database,
        "INSERT INTO model_pricing (provider, model, input_price_per_1k, output_price_per_1k,"
        " effective_date) VALUES ('acme', 'dated', 0.001, 0.002, '2026-02-01Z')",
    )
    listed = _costdb(
        migrated_database, "prices", "missing", "--since", "2025-12-01T00:00Z", "--json"
    )
    (row,) = [json.loads(line) for line in listed.stdout.splitlines()]
    assert (row["calls"], row["last_seen"]) == (1, "2026-01-01T00:00:00+00:00")
    unpriced = "SELECT count(*) FROM events_with_cost WHERE computed_cost_usd IS NULL"
    assert _query(migrated_database, unpriced) == [(1,)]
