"""``costdb migrate``: wait, lock, upgrade, record, verify — against real servers, no mocks."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from costdb.errors import CostdbError
from costdb.local.cluster import PostgresCluster, find_binaries, free_port
from costdb.migrate.history import HistoryMismatch
from costdb.migrate.lock import MIGRATION_LOCK_KEY
from costdb.migrate.runner import MigrationFailed
from costdb.migrate.sidecar import SidecarOptions, run_sidecar
from costdb.settings import DatabaseSettings
from testsupport.cli_runner import run_module, url_environment
from testsupport.database_actions import run_sql
from testsupport.migration_fixtures import HEAD, SHIPPED_REVISIONS, ScriptCopy
from testsupport.servers import TestServer, migrate_to, new_cluster, shared_tempdir

pytestmark = pytest.mark.slow  # runners as processes, clusters of their own

QUICK = SidecarOptions(wait_seconds=5, lock_timeout_seconds=60)


def _query(database: DatabaseSettings, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(database.conninfo("test")) as connection:
        return connection.execute(sql.encode()).fetchall()


def _history(database: DatabaseSettings) -> list[tuple[object, ...]]:
    return _query(database, "SELECT revision, how FROM costdb_migration_history ORDER BY id")


def _revision(database: DatabaseSettings) -> str:
    return str(_query(database, "SELECT version_num FROM alembic_version")[0][0])


def _migrate(database: DatabaseSettings, *args: str) -> subprocess.CompletedProcess[str]:
    return run_module("costdb", "migrate", *args, env=url_environment(database), timeout=120)


def _runners_at_once(
    database: DatabaseSettings, count: int, *arguments: str
) -> tuple[list[int], list[str]]:
    """``count`` `costdb migrate` processes started together: their exit codes and stderr."""
    command = [sys.executable, "-m", "costdb", "migrate", *arguments]
    runners = [
        subprocess.Popen(command, env=url_environment(database), stderr=subprocess.PIPE, text=True)
        for _ in range(count)
    ]
    outputs = [runner.communicate(timeout=180)[1] for runner in runners]
    return [runner.returncode for runner in runners], outputs


def test_eight_runners_at_once_apply_each_migration_exactly_once(
    empty_database: DatabaseSettings,
) -> None:
    codes, outputs = _runners_at_once(empty_database, 8, "--log-format", "json")
    assert codes == [0] * 8, outputs
    events = [json.loads(line) for output in outputs for line in output.splitlines()]
    assert [e["revision"] for e in events if e.get("event") == "applied"] == [*SHIPPED_REVISIONS]
    assert _history(empty_database) == [(r, "upgrade") for r in SHIPPED_REVISIONS]
    probe = run_module("healthcheck", env=url_environment(empty_database))
    assert probe.returncode == 0, probe.stdout


def test_rerunning_at_head_applies_nothing(migrated_database: DatabaseSettings) -> None:
    first = _migrate(migrated_database)
    second = _migrate(migrated_database)
    assert (first.returncode, second.returncode) == (0, 0)
    assert "nothing to apply" in second.stderr
    assert _history(migrated_database) == [(r, "upgrade") for r in SHIPPED_REVISIONS]


def test_json_logs_name_each_revision_and_its_duration(empty_database: DatabaseSettings) -> None:
    result = _migrate(empty_database, "--log-format", "json")
    events = [json.loads(line) for line in result.stderr.splitlines()]
    applied = [event for event in events if event.get("event") == "applied"]
    assert result.returncode == 0
    assert [event["revision"] for event in applied] == [*SHIPPED_REVISIONS]
    assert isinstance(applied[0]["duration_ms"], int)
    assert events[-1]["event"] == "done"


def test_sql_mode_prints_the_migrations_without_a_database() -> None:
    result = run_module("costdb", "migrate", "--sql", env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert "CREATE EXTENSION IF NOT EXISTS vector;" in result.stdout
    assert "CREATE TABLE events (" in result.stdout


def test_the_printed_sql_builds_the_schema_through_psql(
    empty_database: DatabaseSettings, tmp_path: Path
) -> None:
    """What a DBA does with --sql: psql -f on an empty database, then costdb finds the schema
    complete at head (the offline rendering escapes nothing a function body needs)."""
    script = tmp_path / "upgrade.sql"
    script.write_text(
        run_module("costdb", "migrate", "--sql", env={"PATH": "/usr/bin:/bin"}).stdout
    )
    psql = [find_binaries().program("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
    applied = subprocess.run(
        [*psql, "-f", str(script), empty_database.url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert applied.returncode == 0, applied.stderr
    result = _migrate(empty_database)
    assert result.returncode == 0, result.stderr
    assert f"database already at head {HEAD}; nothing to apply; schema verified" in result.stderr


@pytest.fixture
def unstarted_cluster() -> Iterator[PostgresCluster]:
    root = shared_tempdir("costdb-late-")
    cluster = new_cluster(root / "cluster", fsync="off")
    cluster.initialise()
    yield cluster
    if cluster.is_running:
        cluster.stop(mode="immediate")
    shutil.rmtree(root, ignore_errors=True)


def test_a_runner_started_before_the_server_waits_for_it(
    unstarted_cluster: PostgresCluster,
) -> None:
    runner = subprocess.Popen(
        [sys.executable, "-m", "costdb", "migrate", "--wait", "60"],
        env=url_environment(unstarted_cluster.settings()),
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)
    unstarted_cluster.start()
    _, stderr = runner.communicate(timeout=90)
    assert runner.returncode == 0, stderr
    assert "waiting for 127.0.0.1" in stderr
    assert f"applied {HEAD}" in stderr


def test_a_server_that_never_comes_up_ends_the_wait(empty_database: DatabaseSettings) -> None:
    absent = empty_database.with_params(port=free_port())
    started = time.monotonic()
    result = _migrate(absent, "--wait", "3")
    elapsed = time.monotonic() - started
    assert result.returncode == 5
    assert 3 <= elapsed < 8
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("costdb: error: gave up after 3 s ")
    assert f"waiting for 127.0.0.1:{absent.port}/{absent.dbname}: Connection refused" in last
    assert str(absent.password) not in result.stderr


def test_a_wrong_password_fails_at_once(empty_database: DatabaseSettings) -> None:
    wrong = "Definitely-N0t-It"
    started = time.monotonic()
    result = _migrate(empty_database.with_params(password=wrong), "--wait", "60")
    elapsed = time.monotonic() - started
    assert result.returncode == 2
    assert elapsed < 2
    assert "password authentication failed" in result.stderr
    assert wrong not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_held_lock_times_out_with_its_own_exit_code(migrated_database: DatabaseSettings) -> None:
    with psycopg.connect(migrated_database.conninfo("holder"), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        result = _migrate(migrated_database, "--lock-timeout", "1")
    assert result.returncode == 6
    assert "held the migration lock" in result.stderr


def test_a_migration_failing_halfway_leaves_the_database_as_it_was(
    migrated_database: DatabaseSettings, tmp_path: Path
) -> None:
    scripts = ScriptCopy(tmp_path)
    scripts.write("9001", HEAD, "op.execute('CREATE TABLE step_two (id int)')")
    broken = scripts.write(
        "9002", "9001", "op.execute('CREATE TABLE step_three (id int)')\nop.execute('SELECT 1/0')"
    )
    with pytest.raises(
        MigrationFailed, match=r"migration 9002 failed: division by zero.*stays at 9001"
    ):
        run_sidecar(migrated_database, QUICK, scripts.config())
    assert _revision(migrated_database) == "9001"
    tables = {row[0] for row in _query(migrated_database, "SELECT tablename FROM pg_tables")}
    assert "step_two" in tables
    assert "step_three" not in tables
    assert [row[0] for row in _history(migrated_database)] == [*SHIPPED_REVISIONS, "9001"]

    broken.unlink()  # an unapplied migration may still be fixed
    scripts.write("9002", "9001", "op.execute('CREATE TABLE step_three (id int)')")
    applied = run_sidecar(migrated_database, QUICK, scripts.config())
    assert [a.revision for a in applied] == ["9002"]
    assert _revision(migrated_database) == "9002"


def test_an_applied_migration_that_was_edited_is_refused(
    migrated_database: DatabaseSettings, tmp_path: Path
) -> None:
    scripts = ScriptCopy(tmp_path)
    applied_script = scripts.write("9001", HEAD, "op.execute('CREATE TABLE step_two (id int)')")
    run_sidecar(migrated_database, QUICK, scripts.config())
    applied_script.write_text(applied_script.read_text() + "# edited after release\n")
    scripts.write("9002", "9001", "op.execute('CREATE TABLE step_three (id int)')")
    with pytest.raises(HistoryMismatch, match="migration 9001 has changed since it was applied"):
        run_sidecar(migrated_database, QUICK, scripts.config())
    assert _revision(migrated_database) == "9001"


def test_concurrent_index_build_while_another_runner_waits(
    migrated_database: DatabaseSettings, tmp_path: Path
) -> None:
    scripts = ScriptCopy(tmp_path)
    scripts.write(
        "9001",
        HEAD,
        """
        op.execute("SELECT pg_sleep(1.5)")
        with op.get_context().autocommit_block():
            op.execute("CREATE INDEX CONCURRENTLY idx_events_model ON events (model)")
        """,
    )
    outcomes: dict[str, object] = {}

    def runner(name: str) -> None:
        try:
            outcomes[name] = [
                a.revision for a in run_sidecar(migrated_database, QUICK, scripts.config())
            ]
        except CostdbError as exc:  # pragma: no cover - reported by the assertion below
            outcomes[name] = exc

    first = threading.Thread(target=runner, args=("first",))
    second = threading.Thread(target=runner, args=("second",))
    first.start()
    time.sleep(0.5)
    second.start()
    first.join(60)
    second.join(60)
    assert not first.is_alive() and not second.is_alive(), "deadlock: a runner never finished"
    assert outcomes == {"first": ["9001"], "second": []}
    valid = _query(
        migrated_database,
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'idx_events_model'::regclass",
    )
    assert valid == [(True,)]


def test_a_database_migrated_by_plain_alembic_is_adopted(
    migrated_database: DatabaseSettings,
) -> None:
    run_sql(migrated_database, "DROP TABLE costdb_migration_history")
    result = _migrate(migrated_database)
    assert result.returncode == 0
    assert _history(migrated_database) == [(r, "adopted") for r in SHIPPED_REVISIONS]
    status = run_module("costdb", "status", "--json", env=url_environment(migrated_database))
    history = json.loads(status.stdout)["history"]
    assert history[0]["script_unchanged"] is True


def test_a_failing_bookkeeping_step_after_the_last_migration_is_one_line(
    empty_database: DatabaseSettings,
) -> None:
    """Every migration ran, then revoking the app's writes on the bookkeeping tables failed."""
    run_sql(
        empty_database,
        # A grant to PUBLIC on every new table: the runner must revoke it on alembic_version.
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT INSERT ON TABLES TO PUBLIC",
        "CREATE FUNCTION refuse() RETURNS event_trigger LANGUAGE plpgsql"
        " AS $$ BEGIN RAISE EXCEPTION 'REVOKE refused by the test'; END $$",
        "CREATE EVENT TRIGGER refuse_revoke ON ddl_command_start WHEN TAG IN ('REVOKE')"
        " EXECUTE FUNCTION refuse()",
    )
    result = _migrate(empty_database)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr
    assert lines[-1] == (
        "costdb: error: the final bookkeeping (privileges on alembic_version and the history) "
        f"failed: REVOKE refused by the test; it was rolled back and the database stays at {HEAD}"
    )
    assert _revision(empty_database) == HEAD


def test_a_grant_to_public_on_the_bookkeeping_tables_is_revoked(
    empty_database: DatabaseSettings,
) -> None:
    run_sql(
        empty_database, "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO PUBLIC"
    )
    assert _migrate(empty_database).returncode == 0
    writable = _query(
        empty_database,
        "SELECT has_table_privilege('public', 'alembic_version', 'INSERT'),"
        " has_table_privilege('public', 'events', 'INSERT')",
    )
    assert writable == [(False, True)]


def _slow_revision(scripts: ScriptCopy, seconds: float) -> None:
    scripts.write(
        "9001",
        HEAD,
        f"op.execute('SELECT pg_sleep({seconds})')\nop.execute('CREATE TABLE step_two (id int)')",
    )


def _migrate_while_the_lock_session_is_terminated(
    database: DatabaseSettings, scripts: ScriptCopy
) -> MigrationFailed:
    """Run the sidecar, terminate its lock session 0.7 s in (migration 9001 is running, the
    lock session idle), and return the failure it must end with."""
    failures: list[BaseException] = []

    def runner() -> None:
        try:
            run_sidecar(database, QUICK, scripts.config())
        except CostdbError as exc:
            failures.append(exc)

    thread = threading.Thread(target=runner)
    thread.start()
    time.sleep(0.7)
    run_sql(
        database,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'costdb-migrate-lock'",
    )
    thread.join(30)
    (failure,) = failures
    assert isinstance(failure, MigrationFailed)
    return failure


def test_the_lock_session_outlives_an_idle_session_timeout(
    migrated_database: DatabaseSettings, tmp_path: Path
) -> None:
    run_sql(
        migrated_database,
        f"ALTER DATABASE \"{migrated_database.dbname}\" SET idle_session_timeout = '1s'",
    )
    scripts = ScriptCopy(tmp_path)
    _slow_revision(scripts, 3)
    outcome: list[object] = []
    runner = threading.Thread(
        target=lambda: outcome.append(run_sidecar(migrated_database, QUICK, scripts.config()))
    )
    runner.start()
    time.sleep(2)  # the lock session has been idle for longer than the server allows
    held = _query(migrated_database, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
    runner.join(30)
    assert held == [(1,)]
    assert [a.revision for a in outcome[0]] == ["9001"]  # type: ignore[attr-defined]


def test_a_lock_lost_mid_migration_rolls_that_migration_back(
    migrated_database: DatabaseSettings, tmp_path: Path
) -> None:
    scripts = ScriptCopy(tmp_path)
    _slow_revision(scripts, 2)
    failure = _migrate_while_the_lock_session_is_terminated(migrated_database, scripts)
    assert failure.step == "migration 9001"
    assert failure.reached == HEAD
    assert "the migration lock was lost" in str(failure)
    assert _revision(migrated_database) == HEAD
    tables = {row[0] for row in _query(migrated_database, "SELECT tablename FROM pg_tables")}
    assert "step_two" not in tables


def test_a_waiter_whose_connection_drops_reconnects_and_migrates(
    empty_database: DatabaseSettings,
) -> None:
    with psycopg.connect(empty_database.conninfo("holder"), autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        waiter = subprocess.Popen(
            [sys.executable, "-m", "costdb", "migrate", "--wait", "30"],
            env=url_environment(empty_database),
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(2)  # waiting for the lock
        run_sql(
            empty_database,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = 'costdb-migrate-lock'",
        )
        time.sleep(0.5)
    _, stderr = waiter.communicate(timeout=60)  # the holder is gone: the lock is free
    assert waiter.returncode == 0, stderr
    assert "waiting for the lock" in stderr
    assert _revision(empty_database) == HEAD


def test_a_connection_storm_at_start_up_still_migrates_once(
    empty_database: DatabaseSettings, owner_role: DatabaseSettings
) -> None:
    """Twelve runners against a database that admits six connections: all wait their turn."""
    run_sql(empty_database, f'ALTER DATABASE "{empty_database.dbname}" CONNECTION LIMIT 6')
    codes, outputs = _runners_at_once(owner_role, 12, "--wait", "90", "--log-format", "json")
    assert codes == [0] * 12, outputs
    assert _history(empty_database) == [(r, "upgrade") for r in SHIPPED_REVISIONS]


def test_a_lock_lost_during_a_concurrent_index_build_is_caught_and_rerun_finishes(
    migrated_database: DatabaseSettings, tmp_path: Path
) -> None:
    scripts = ScriptCopy(tmp_path)
    scripts.write(
        "9001",
        HEAD,
        """
        with op.get_context().autocommit_block():
            op.execute("SELECT pg_sleep(2)")
            op.execute("CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_events_model ON events (model)")
        """,
    )
    failure = _migrate_while_the_lock_session_is_terminated(migrated_database, scripts)
    assert (failure.step, failure.reached) == ("migration 9001", HEAD)
    assert _revision(migrated_database) == HEAD
    # The index committed on its own (CONCURRENTLY cannot run in the migration's transaction):
    # a rerun finds it, records 9001, and leaves one valid index.
    applied = run_sidecar(migrated_database, QUICK, scripts.config())
    assert [a.revision for a in applied] == ["9001"]
    valid = _query(
        migrated_database,
        "SELECT indisvalid FROM pg_index WHERE indexrelid = 'idx_events_model'::regclass",
    )
    assert valid == [(True,)]


@pytest.fixture
def tiny_tablespace(
    test_server: TestServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A tablespace on an 8 MB tmpfs: a real "No space left on device" for the server."""
    if test_server.cluster is None or os.geteuid() != 0:
        pytest.skip("needs the tests' own cluster and root (to mount a small tmpfs)")
    mount_point = shared_tempdir("costdb-tiny-disk-")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    test_server.cluster.chown_to_server_user(mount_point)
    name = f"tiny_{secrets.token_hex(4)}"
    test_server.execute(f"CREATE TABLESPACE {name} LOCATION '{mount_point}'")
    try:
        yield name
    finally:
        test_server.execute(f"DROP TABLESPACE IF EXISTS {name}")
        subprocess.run(["umount", str(mount_point)], check=False)
        mount_point.rmdir()


def test_a_full_disk_during_a_migration_rolls_it_back(
    migrated_database: DatabaseSettings, tiny_tablespace: str, tmp_path: Path
) -> None:
    scripts = ScriptCopy(tmp_path)
    scripts.write(
        "9001",
        HEAD,
        f"""
        op.execute("CREATE TABLE padding (id int) TABLESPACE {tiny_tablespace}")
        op.execute("INSERT INTO padding SELECT generate_series(1, 2000000)")
        """,
    )
    with pytest.raises(MigrationFailed, match=r"migration 9001 failed: .*No space left on device"):
        run_sidecar(migrated_database, QUICK, scripts.config())
    assert _revision(migrated_database) == HEAD
    assert _query(migrated_database, "SELECT to_regclass('padding')") == [(None,)]


def test_an_index_build_that_failed_half_way_is_redone_by_the_next_run(
    empty_database: DatabaseSettings,
) -> None:
    """0004 builds idx_events_project_time CONCURRENTLY: a build that fails leaves an INVALID
    index of that name and 0004 unapplied; the next run replaces it and the probe passes."""
    migrate_to(empty_database, "0003")
    run_sql(
        empty_database,
        "INSERT INTO events (trace_id, span_id, feature, provider, model, input_tokens,"
        " output_tokens, latency_ms, estimated_cost_usd)"
        " SELECT 't', 's', 'f', 'openai', 'm', 1, 1, 1, 0 FROM generate_series(1, 2)",
    )
    with pytest.raises(psycopg.errors.UniqueViolation):
        run_sql(
            empty_database,
            "CREATE UNIQUE INDEX CONCURRENTLY idx_events_project_time ON events (project_id)",
        )
    probe = run_module("healthcheck", env=url_environment(empty_database))
    assert "unhealthy: index idx_events_project_time is invalid" in probe.stdout
    result = _migrate(empty_database)
    assert result.returncode == 0, result.stderr
    index = _query(
        empty_database,
        "SELECT indisvalid, pg_get_indexdef(indexrelid) FROM pg_index"
        " WHERE indexrelid = 'idx_events_project_time'::regclass",
    )
    assert index == [
        (
            True,
            "CREATE INDEX idx_events_project_time ON public.events USING btree "
            "(project_id, created_at)",
        )
    ]
    assert run_module("healthcheck", env=url_environment(empty_database)).returncode == 0
