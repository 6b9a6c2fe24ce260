"""``python -m healthcheck`` against real databases, healthy and broken in every named way."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from costdb.local.cluster import PostgresCluster, free_port
from costdb.settings import DatabaseSettings
from testsupport.cli_runner import clean_environment, run_module, url_environment
from testsupport.database_actions import run_sql
from testsupport.migration_fixtures import HEAD, SHIPPED_REVISIONS
from testsupport.servers import TestServer, shared_tempdir


def _probe(database: DatabaseSettings, *args: str) -> tuple[int, list[str]]:
    result = run_module("healthcheck", *args, env=url_environment(database))
    assert "Traceback" not in result.stderr
    return result.returncode, result.stdout.strip().splitlines()


def test_a_migrated_database_is_healthy(migrated_database: DatabaseSettings) -> None:
    code, lines = _probe(migrated_database)
    assert code == 0
    assert lines[0].startswith("healthy: ")


def test_json_lists_every_check(migrated_database: DatabaseSettings) -> None:
    result = run_module("healthcheck", "--json", env=url_environment(migrated_database))
    report = json.loads(result.stdout)
    names = {check["name"] for check in report["checks"]}
    assert report["status"] == "healthy"
    assert {"connection", "primary", "extension:vector", "revision", "table:events"} <= names
    assert "index:idx_prompt_embeddings_hnsw" in names
    assert "constraint:prompt_analysis.prompt_analysis_event_id_events_id_fk" in names
    # Only an advisory may be other than "pass": this machine's pgvector may predate 0.8.4.
    statuses = {check["name"]: check["status"] for check in report["checks"]}
    assert {name for name, status in statuses.items() if status != "pass"} <= {"extension:vector"}
    assert statuses["extension:vector"] in ("pass", "warn")


def test_before_migrating_the_pending_revisions_are_named(empty_database: DatabaseSettings) -> None:
    code, lines = _probe(empty_database)
    assert code == 1
    assert (
        f"unhealthy: no migration applied; pending migrations: {', '.join(SHIPPED_REVISIONS)}"
        in lines
    )
    assert "unhealthy: table events is missing" in lines
    assert "unhealthy: extension vector is not installed" in lines


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (["DROP INDEX idx_events_trace"], "unhealthy: index idx_events_trace is missing"),
        (["DROP TABLE prompt_analysis"], "unhealthy: table prompt_analysis is missing"),
        (["DROP VIEW events_with_cost"], "unhealthy: view events_with_cost is missing"),
        (
            ["DROP FUNCTION costdb_event_cost CASCADE"],
            "unhealthy: function costdb_event_cost(text,text,timestamp with time zone,integer,"
            "integer,integer,integer) is missing",
        ),
        (
            ["ALTER TABLE events ALTER COLUMN id SET DEFAULT gen_random_uuid()"],
            "unhealthy: table events: column id is uuid NOT NULL DEFAULT gen_random_uuid(), "
            "expected uuid NOT NULL DEFAULT costdb_uuidv7()",
        ),
        (
            ["ALTER TABLE events DROP COLUMN span_id CASCADE"],  # the cost view goes with it
            "unhealthy: table events is missing columns: span_id",
        ),
        (
            [
                "DROP INDEX idx_events_created_at",
                "CREATE INDEX idx_events_created_at ON events (created_at)",
            ],
            "unhealthy: index idx_events_created_at is `CREATE INDEX idx_events_created_at ON "
            "public.events USING btree (created_at)`, expected `CREATE INDEX "
            "idx_events_created_at ON public.events USING brin (created_at)`",
        ),
        (
            [
                "DROP VIEW events_with_cost",
                "ALTER TABLE events ALTER COLUMN latency_ms TYPE bigint",
            ],
            "unhealthy: table events: column latency_ms is bigint NOT NULL, "
            "expected integer NOT NULL",
        ),
        (
            [
                "DROP VIEW events_with_cost",
                "ALTER TABLE events ALTER COLUMN estimated_cost_usd TYPE real",
                "ALTER TABLE events ALTER COLUMN metadata TYPE text",
            ],
            "unhealthy: table events: column estimated_cost_usd is real NOT NULL, expected "
            "numeric(12,6) NOT NULL; column metadata is text NULL, expected jsonb NULL",
        ),
        (
            [
                "DROP INDEX idx_prompt_embeddings_hnsw",
                "ALTER TABLE prompt_embeddings ALTER COLUMN embedding TYPE vector(768)",
            ],
            "unhealthy: table prompt_embeddings: column embedding is vector(768) NOT NULL, "
            "expected vector(1536) NOT NULL",
        ),
        (
            ["ALTER TABLE events ALTER COLUMN model DROP NOT NULL"],
            "unhealthy: table events: column model is text NULL, expected text NOT NULL",
        ),
        (
            ["ALTER TABLE events ALTER COLUMN project_id DROP DEFAULT"],
            "unhealthy: table events: column project_id is text NOT NULL, "
            "expected text NOT NULL DEFAULT 'default'::text",
        ),
        (
            [
                "ALTER TABLE events DROP CONSTRAINT events_latency_ms_nonnegative_check",
                "ALTER TABLE events ADD CONSTRAINT events_latency_ms_nonnegative_check"
                " CHECK (latency_ms >= -1000)",
            ],
            "unhealthy: constraint events_latency_ms_nonnegative_check on table events is "
            "`CHECK ((latency_ms >= '-1000'::integer))`, expected `CHECK ((latency_ms >= 0))`",
        ),
        (
            [
                "ALTER TABLE events DROP CONSTRAINT events_latency_ms_nonnegative_check",
                "ALTER TABLE events ADD CONSTRAINT events_latency_ms_nonnegative_check"
                " CHECK (latency_ms >= 0) NOT VALID",
            ],
            "unhealthy: constraint events_latency_ms_nonnegative_check on table events is NOT "
            "VALID (existing rows are not checked): ALTER TABLE events VALIDATE CONSTRAINT "
            "events_latency_ms_nonnegative_check",
        ),
        (
            [
                "ALTER TABLE prompt_analysis DROP CONSTRAINT prompt_analysis_event_id_events_id_fk",
                "ALTER TABLE prompt_analysis ADD CONSTRAINT prompt_analysis_event_id_events_id_fk"
                " FOREIGN KEY (event_id) REFERENCES events (id)",
            ],
            "unhealthy: constraint prompt_analysis_event_id_events_id_fk on table "
            "prompt_analysis is `FOREIGN KEY (event_id) REFERENCES events(id)`, expected "
            "`FOREIGN KEY (event_id) REFERENCES events(id) ON DELETE CASCADE`",
        ),
        (
            ["DROP EXTENSION vector CASCADE"],
            "unhealthy: extension vector is not installed",
        ),
        (
            ["ALTER TABLE cost_aggregates DROP CONSTRAINT cost_aggregates_period_valid_check"],
            "unhealthy: constraint cost_aggregates_period_valid_check on table cost_aggregates "
            "is missing",
        ),
        (
            ["UPDATE alembic_version SET version_num = '9999'"],
            f"unhealthy: database revision 9999 is newer than this image (head {HEAD})",
        ),
    ],
    ids=[
        "index",
        "table",
        "view",
        "function",
        "time-ordered-id-default",
        "column",
        "index-method",
        "column-type",
        "two-column-types",
        "vector-dimensions",
        "nullability",
        "default",
        "check-weakened",
        "check-not-valid",
        "fk-cascade",
        "extension",
        "constraint",
        "newer",
    ],
)
def test_each_kind_of_damage_is_named(
    migrated_database: DatabaseSettings, damage: list[str], expected: str
) -> None:
    run_sql(migrated_database, *damage)
    code, lines = _probe(migrated_database)
    assert code == 1
    assert expected in lines


def test_an_index_left_invalid_by_a_failed_concurrent_build_is_named(
    migrated_database: DatabaseSettings,
) -> None:
    run_sql(
        migrated_database,
        "INSERT INTO events (trace_id, span_id, feature, provider, model, input_tokens,"
        " output_tokens, latency_ms, estimated_cost_usd)"
        " SELECT 'same-trace', 's' || g, 'f', 'openai', 'm', 1, 1, 1, 0"
        " FROM generate_series(1, 2) AS g",
        "DROP INDEX idx_events_trace",
    )
    with pytest.raises(psycopg.errors.UniqueViolation):
        run_sql(
            migrated_database,
            "CREATE UNIQUE INDEX CONCURRENTLY idx_events_trace ON events (trace_id)",
        )
    code, lines = _probe(migrated_database)
    assert code == 1
    assert any(line.startswith("unhealthy: index idx_events_trace is invalid") for line in lines)


def test_a_read_only_database_is_not_a_usable_primary(migrated_database: DatabaseSettings) -> None:
    run_sql(
        migrated_database,
        f'ALTER DATABASE "{migrated_database.dbname}" SET default_transaction_read_only = on',
    )
    code, lines = _probe(migrated_database)
    assert code == 1
    assert "unhealthy: the database defaults to read-only transactions: writes would fail" in lines


def test_a_stopped_server_is_unhealthy(empty_database: DatabaseSettings) -> None:
    code, lines = _probe(empty_database.with_params(port=free_port()), "--timeout", "3")
    assert code == 1
    assert any("Connection refused" in line for line in lines)


def test_a_hung_server_is_unhealthy_within_the_timeout(silent_server: int) -> None:
    env = clean_environment(DATABASE_URL=f"postgresql://u:pw@127.0.0.1:{silent_server}/d")
    started = time.monotonic()
    result = run_module("healthcheck", "--timeout", "1", env=env)
    elapsed = time.monotonic() - started
    assert result.returncode == 1
    # Whichever bound fires first: libpq's connect_timeout or the probe's own deadline.
    assert "no answer within the 1 s timeout" in result.stdout or "timeout expired" in result.stdout
    assert elapsed < 5


def test_a_wrong_password_is_misconfiguration_and_never_printed(
    migrated_database: DatabaseSettings,
) -> None:
    wrong = "N0t-The-Passw0rd"
    result = run_module(
        "healthcheck", env=url_environment(migrated_database.with_params(password=wrong))
    )
    assert result.returncode == 2
    assert "password authentication failed" in result.stdout
    assert wrong not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "no database configured"),
        ({"DATABASE_URL": "postgresql://u@h/d", "PGCONNECT_TIMEOUT": "x"}, "PGCONNECT_TIMEOUT"),
    ],
)
def test_missing_configuration_exits_2_with_one_line(env: dict[str, str], message: str) -> None:
    result = run_module("healthcheck", env=clean_environment(**env))
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert message in result.stderr


def test_a_bad_timeout_is_a_usage_error() -> None:
    result = run_module("healthcheck", "--timeout", "-1", env=clean_environment())
    assert result.returncode == 2
    assert "must be more than 0 seconds" in result.stderr


@pytest.fixture
def hot_standby(
    test_server: TestServer, migrated_database: DatabaseSettings
) -> Iterator[DatabaseSettings]:
    """A streaming replica of the test server, started from ``pg_basebackup``."""
    primary = test_server.cluster
    if primary is None:
        pytest.skip("needs the tests' own cluster (COSTDB_TEST_DATABASE_URL is set)")
    root = shared_tempdir("costdb-standby-")
    standby = PostgresCluster(
        root=root,
        port=free_port(),
        superuser_password=primary.superuser_password,
        binaries=primary.binaries,
        server_settings=primary.server_settings,
    )
    os.chown(root, *_owner_of(primary.root))
    subprocess.run(
        [
            primary.binaries.program("pg_basebackup"),
            "--pgdata",
            str(standby.datadir),
            "--write-recovery-conf",
            "--host",
            "127.0.0.1",
            "--port",
            str(primary.port),
            "--username",
            primary.superuser,
            "--checkpoint",
            "fast",
        ],
        user=primary.os_user,
        env={**os.environ, "PGPASSWORD": primary.superuser_password},
        check=True,
        capture_output=True,
        timeout=120,
    )
    standby.start()
    yield migrated_database.with_params(port=standby.port)
    standby.stop(mode="immediate")
    shutil.rmtree(root, ignore_errors=True)


def _owner_of(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_uid, status.st_gid


@pytest.mark.slow
def test_a_hot_standby_is_unhealthy_unless_replicas_are_allowed(
    hot_standby: DatabaseSettings,
) -> None:
    code, lines = _probe(hot_standby)
    assert code == 1
    assert lines == ["unhealthy: server is a hot standby (read-only); not a primary"]
    code, lines = _probe(hot_standby, "--allow-replica")
    assert code == 0
    assert lines[0].startswith("healthy: ")


def test_the_cli_probe_loads_no_heavy_library() -> None:
    """Start-up is the probe's cost against pg_isready: no driver, ORM or server imports."""
    heavy = ("psycopg", "sqlalchemy", "alembic", "click", "prometheus_client", "numpy", "logging")
    code = (
        "import sys, runpy\n"
        "sys.argv = ['healthcheck', '--timeout', '1']\n"
        "try:\n    runpy.run_module('healthcheck', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({heavy!r})))\n"
    )
    env = clean_environment(DATABASE_URL="postgresql://u:pw@127.0.0.1:1/d")
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr


def test_a_role_that_lost_its_privilege_is_named(
    test_server: TestServer, migrated_database: DatabaseSettings
) -> None:
    name = f"probe_{os.getpid()}_{int(time.monotonic() * 1000)}"
    run_sql(migrated_database, f"CREATE ROLE {name} LOGIN PASSWORD 'probe-pw'")
    try:
        code, lines = _probe(migrated_database.with_params(user=name, password="probe-pw"))
    finally:
        run_sql(migrated_database, f"DROP ROLE {name}")
    assert code == 1
    assert lines == ["unhealthy: catalog query failed: permission denied for table alembic_version"]
