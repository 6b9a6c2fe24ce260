"""``python -m healthcheck serve``: status codes, JSON, metrics, caching, reconnects, SIGTERM."""

from __future__ import annotations

import json
import math
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from costdb import defaults
from costdb.local.cluster import free_port
from costdb.settings import DatabaseSettings
from testsupport.database_actions import run_sql
from testsupport.health_servers import RunningServer, start_server
from testsupport.migration_fixtures import HEAD, SHIPPED_REVISIONS


@pytest.fixture
def healthy_server(
    migrated_database: DatabaseSettings, serve_factory: list[RunningServer]
) -> RunningServer:
    server = start_server(migrated_database, "--cache-seconds", "30")
    serve_factory.append(server)
    return server


def test_readyz_is_200_with_every_check_when_healthy(healthy_server: RunningServer) -> None:
    status, body = healthy_server.get("/readyz")
    report = json.loads(body)
    assert status == 200
    assert report["status"] == "healthy"
    assert {"name": "revision", "status": "pass"} in report["checks"]
    # What only an operator needs stays out of the default answer.
    assert "costdb_test" not in body
    assert '"detail": "primary' not in body


def test_details_show_every_check_when_asked(
    migrated_database: DatabaseSettings, serve_factory: list[RunningServer]
) -> None:
    server = start_server(migrated_database, "--details")
    serve_factory.append(server)
    report = json.loads(server.get("/readyz")[1])
    assert {"name": "revision", "status": "pass", "detail": f"at head {HEAD}"} in report["checks"]


def test_readyz_is_503_naming_the_failure_when_unhealthy(
    empty_database: DatabaseSettings, serve_factory: list[RunningServer]
) -> None:
    server = start_server(empty_database)
    serve_factory.append(server)
    status, body = server.get("/readyz")
    report = json.loads(body)
    assert status == 503
    assert report["status"] == "unhealthy"
    failed = {
        check["name"]: check["detail"] for check in report["checks"] if check["status"] == "fail"
    }
    assert failed["revision"] == (
        f"no migration applied; pending migrations: {', '.join(SHIPPED_REVISIONS)}"
    )
    assert failed["table:events"] == "table events is missing"


def test_livez_needs_no_database(
    empty_database: DatabaseSettings, serve_factory: list[RunningServer]
) -> None:
    server = start_server(empty_database.with_params(port=free_port()))
    serve_factory.append(server)
    assert server.get("/livez")[0] == 200
    status, body = server.get("/readyz")
    assert status == 503
    assert "Connection refused" in body
    assert server.get("/nothing-here")[0] == 404


def test_metrics_parse_and_report_every_check(healthy_server: RunningServer) -> None:
    healthy_server.get("/readyz")
    metrics = healthy_server.metrics()
    assert metrics["costdb_health_healthy"] == 1
    assert metrics["costdb_health_check_status[index:idx_prompt_embeddings_hnsw]"] == 1
    assert metrics["costdb_health_probe_duration_seconds_count"] >= 1
    assert metrics["costdb_health_last_success_timestamp_seconds"] > time.time() - 60
    # The test server neither archives nor has a backup nor serves TLS: not known, not 0.
    for unknown in ("archive_age_seconds", "backup_age_seconds", "tls_certificate_days_left"):
        assert math.isnan(metrics[f"costdb_{unknown}"])


def test_metrics_show_the_age_of_the_last_backup(
    migrated_database: DatabaseSettings, serve_factory: list[RunningServer]
) -> None:
    run_sql(
        migrated_database,
        "INSERT INTO costdb_backups VALUES ('20261205-000000F', 'full',"
        " now() - interval '2 hours 5 minutes', now() - interval '2 hours', 10, 1)",
    )
    server = start_server(migrated_database)
    serve_factory.append(server)
    server.get("/readyz")
    assert 7190 < server.metrics()["costdb_backup_age_seconds"] < 7300


def test_metrics_count_the_calls_of_the_last_hour_no_price_covers(
    migrated_database: DatabaseSettings, serve_factory: list[RunningServer]
) -> None:
    run_sql(
        migrated_database,
        "INSERT INTO events (trace_id, span_id, feature, provider, model, input_tokens,"
        " output_tokens, latency_ms, estimated_cost_usd, created_at) VALUES"
        " ('t', 's', 'f', 'acme', 'unpriced', 1, 1, 1, 0, now()),"
        " ('t', 's', 'f', 'acme', 'unpriced', 1, 1, 1, 0, now() - interval '2 hours')",
    )
    server = start_server(migrated_database)
    serve_factory.append(server)
    assert server.get("/readyz")[0] == 200  # data, not health: still ready
    deadline = time.monotonic() + 10  # read just after the probe answered
    while server.metrics()["costdb_unpriced_calls_last_hour"] != 1:
        assert time.monotonic() < deadline, server.metrics()
        time.sleep(0.05)


def test_metrics_show_the_budgets_by_state_the_nearest_ones_and_the_alerts(
    migrated_database: DatabaseSettings, serve_factory: list[RunningServer]
) -> None:
    run_sql(
        migrated_database,
        "INSERT INTO budgets (project_id, period, limit_usd) VALUES ('acme', 'day', 1)",
        "INSERT INTO budgets (project_id, user_id, period, limit_usd)"
        " SELECT 'p' || n, 'u' || n, 'month', 10 FROM generate_series(1, 30) AS n",
        "INSERT INTO events (trace_id, span_id, project_id, feature, provider, model,"
        " input_tokens, output_tokens, latency_ms, estimated_cost_usd)"
        " VALUES ('t', 's', 'acme', 'f', 'x', 'unpriced', 1, 1, 1, 2),"
        "        ('t', 's', 'p1', 'f', 'x', 'unpriced', 1, 1, 1, 6)",
        "UPDATE events SET user_id = 'u1' WHERE project_id = 'p1'",
        "INSERT INTO budget_alerts (budget_id, period_start, threshold_percent, spend_usd,"
        " limit_usd, delivered_at, attempts)"
        " SELECT id, now(), t, 2, 1, CASE t WHEN 50 THEN now() END,"
        "        CASE t WHEN 100 THEN 24 ELSE 0 END"
        " FROM budgets, unnest('{50,80,100}'::numeric[]) AS t WHERE project_id = 'acme'",
    )
    server = start_server(migrated_database)
    serve_factory.append(server)
    assert server.get("/readyz")[0] == 200
    deadline = time.monotonic() + 10  # read just after the probe answered
    while "costdb_budgets[exceeded]" not in server.metrics():
        assert time.monotonic() < deadline, server.metrics()
        time.sleep(0.05)
    metrics = server.metrics()
    ratios = {k: v for k, v in metrics.items() if k.startswith("costdb_budget_spend_ratio")}
    assert len(ratios) == defaults.BUDGET_METRICS_TOP  # 31 budgets, a bounded few shown
    assert sorted(ratios.values(), reverse=True)[:2] == [2.0, 0.6]
    assert any(key.endswith(",day,acme,project]") for key in ratios)  # labels sorted
    assert [metrics[f"costdb_budgets[{state}]"] for state in ("ok", "warning", "exceeded")] == [
        29,
        1,
        1,
    ]
    assert [metrics[f"costdb_budget_alerts[{o}]"] for o in ("delivered", "pending", "failed")] == [
        1,
        1,
        1,
    ]


def test_many_concurrent_probes_cost_the_database_one_check(
    healthy_server: RunningServer, migrated_database: DatabaseSettings
) -> None:
    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(lambda _: healthy_server.get("/readyz")[0], range(200)))
    assert statuses == [200] * 200
    assert healthy_server.metrics()["costdb_health_probes_total"] == 1
    with psycopg.connect(migrated_database.conninfo("test")) as connection:
        connections = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'costdb-healthcheck'"
        ).fetchone()
    assert connections == (1,)


def test_a_killed_connection_is_replaced_without_a_failed_probe(
    migrated_database: DatabaseSettings, serve_factory: list[RunningServer]
) -> None:
    server = start_server(migrated_database, "--cache-seconds", "0.01")
    serve_factory.append(server)
    assert server.get("/readyz")[0] == 200
    run_sql(
        migrated_database,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'costdb-healthcheck'",
    )
    time.sleep(0.05)
    assert server.get("/readyz")[0] == 200


def test_sigterm_stops_the_server_cleanly(healthy_server: RunningServer) -> None:
    assert healthy_server.get("/readyz")[0] == 200
    healthy_server.process.send_signal(signal.SIGTERM)
    output, _ = healthy_server.process.communicate(timeout=10)
    assert healthy_server.process.returncode == 0
    assert "SIGTERM received: shutting down" in output
    assert output.rstrip().endswith("healthcheck: stopped")
    assert "Traceback" not in output
