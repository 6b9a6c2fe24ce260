"""``costdb local``: the stack natively, initialised by the very same initdb/ scripts."""

from __future__ import annotations

import gzip
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from costdb.errors import CostdbError
from costdb.local.cluster import PostgresCluster, find_binaries, free_port
from costdb.settings import load_settings
from testsupport.cli_runner import clean_environment, run_module
from testsupport.migration_fixtures import HEAD, SHIPPED_REVISIONS
from testsupport.servers import shared_tempdir

pytestmark = pytest.mark.slow  # each test initialises and starts a cluster of its own

INITDB = Path(__file__).resolve().parents[1] / "initdb"


@pytest.fixture
def stack_env() -> Iterator[dict[str, str]]:
    parent = shared_tempdir("costdb-local-")
    env = clean_environment(
        COSTDB_LOCAL_DIR=str(parent / "stack"),
        COSTDB_LOCAL_PORT=str(free_port()),
        COSTDB_LOCAL_HEALTH_PORT=str(free_port()),
    )
    yield env
    run_module("costdb", "local", "down", env=env)
    shutil.rmtree(parent, ignore_errors=True)


def _up(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_module("costdb", "local", "up", "--detach", env=env, timeout=120)


def _connect(env: dict[str, str], role: str) -> psycopg.Connection[tuple[object, ...]]:
    url_file = Path(env["COSTDB_LOCAL_DIR"]) / f"{role}.url"
    settings = load_settings({"DATABASE_URL_FILE": str(url_file)})
    return psycopg.connect(settings.conninfo("test"), autocommit=True)


def _server_runs(env: dict[str, str]) -> bool:
    data = Path(env["COSTDB_LOCAL_DIR"]) / "data"
    pg_ctl = find_binaries().program("pg_ctl")
    user = "postgres" if os.geteuid() == 0 else None
    status = subprocess.run(
        [pg_ctl, "status", "-D", str(data)], user=user, capture_output=True, check=False
    )
    return status.returncode == 0


def test_up_brings_a_healthy_stack_and_a_second_up_keeps_the_data(
    stack_env: dict[str, str],
) -> None:
    first = _up(stack_env)
    assert first.returncode == 0, first.stderr
    assert "init: running 10-extension.sql" in first.stderr
    assert "init: running 20-roles.sh" in first.stderr
    assert f"applied {HEAD}" in first.stderr
    app_url = Path(stack_env["COSTDB_LOCAL_DIR"]) / "app.url"
    assert f"DATABASE_URL_FILE={app_url}" in first.stdout
    assert oct(app_url.stat().st_mode & 0o777) == "0o600"
    status = run_module("costdb", "local", "status", env=stack_env)
    assert f"revision:   {HEAD} (head {HEAD})" in status.stdout
    assert "/readyz 200" in status.stdout

    with _connect(stack_env, "app") as app:
        app.execute(
            "INSERT INTO model_pricing (provider, model, input_price_per_1k, output_price_per_1k)"
            " VALUES ('openai', 'gpt-4o', 0.0025, 0.01)"
        )
    assert run_module("costdb", "local", "down", env=stack_env).returncode == 0
    assert not _server_runs(stack_env)

    second = _up(stack_env)
    assert second.returncode == 0, second.stderr
    assert "init: running" not in second.stderr
    assert "nothing to apply" in second.stderr
    with _connect(stack_env, "readonly") as readonly:
        assert readonly.execute("SELECT count(*) FROM model_pricing").fetchone() == (1,)


def test_the_maintenance_commands_run_on_the_local_stack_as_the_app_role(
    stack_env: dict[str, str],
) -> None:
    assert _up(stack_env).returncode == 0
    app = {**stack_env, "DATABASE_URL_FILE": str(Path(stack_env["COSTDB_LOCAL_DIR"]) / "app.url")}
    with _connect(stack_env, "app") as connection:
        connection.execute(
            "INSERT INTO events (trace_id, span_id, feature, provider, model, input_tokens,"
            " output_tokens, latency_ms, estimated_cost_usd, created_at)"
            " VALUES ('t', 's', 'f', 'openai', 'm', 1, 1, 1, 0.5, now() - interval '500 days')"
        )
    rollup = run_module("costdb", "rollup", "--period", "day", "--since", "501d", env=app)
    assert rollup.returncode == 0, rollup.stderr
    retention = run_module("costdb", "retention", "--keep", "400d", env=app)
    assert retention.returncode == 0, retention.stderr
    assert "events 1, prompt_analysis 0, prompt_embeddings 0" in retention.stdout
    with _connect(stack_env, "readonly") as readonly:
        kept = readonly.execute("SELECT call_count, total_cost FROM cost_aggregates").fetchall()
    assert kept == [(1, Decimal("0.500000"))]  # roll-ups outlive the events


def test_roles_have_exactly_their_privileges(stack_env: dict[str, str]) -> None:
    assert _up(stack_env).returncode == 0
    with _connect(stack_env, "app") as app:
        app.execute(
            "INSERT INTO model_pricing (provider, model, input_price_per_1k,"
            " output_price_per_1k) VALUES ('a', 'b', 1, 1)"
        )
        assert app.execute("SELECT current_setting('statement_timeout')").fetchone() == ("30s",)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("CREATE TABLE sneaky (id int)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("DROP TABLE events")
        for bookkeeping in (
            "UPDATE alembic_version SET version_num = 'x'",
            "DELETE FROM costdb_migration_history",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(bookkeeping)
        history = app.execute("SELECT count(*) FROM costdb_migration_history").fetchone()
        assert history == (len(SHIPPED_REVISIONS),)
        # Schema v2's table, view and functions reach the roles like the spec's tables.
        app.execute(
            "INSERT INTO model_pricing_tiers (pricing_id, min_input_tokens, input_price_per_1k,"
            " output_price_per_1k) SELECT id, 200001, 2, 2 FROM model_pricing"
        )
        assert app.execute("SELECT count(*) FROM events_with_cost").fetchone() == (0,)
    with _connect(stack_env, "readonly") as readonly:
        assert readonly.execute("SELECT count(*) FROM model_pricing").fetchone() == (1,)
        cost = readonly.execute("SELECT costdb_event_cost('a', 'b', now(), 1000, 0, 0, 0)")
        assert cost.fetchone() == (Decimal("1.000000"),)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            readonly.execute(
                "INSERT INTO model_pricing (provider, model, input_price_per_1k,"
                " output_price_per_1k) VALUES ('c', 'd', 1, 1)"
            )
        readonly.execute("SET default_transaction_read_only = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            readonly.execute("DELETE FROM model_pricing")
    readonly_url = Path(stack_env["COSTDB_LOCAL_DIR"]) / "readonly.url"
    probe = run_module("healthcheck", env=clean_environment(DATABASE_URL_FILE=str(readonly_url)))
    assert probe.returncode == 0, probe.stdout


def test_every_later_up_applies_the_privileges_again_and_gives_back_a_lost_grant(
    stack_env: dict[str, str],
) -> None:
    """initdb/30-privileges.sql runs at the first boot and again at every later start (the db
    image's entrypoint does the same): on a database with every grant it changes nothing, and
    it gives back a grant an older stack lacks."""
    assert _up(stack_env).returncode == 0
    root = Path(stack_env["COSTDB_LOCAL_DIR"])
    password = (root / "superuser.password").read_text(encoding="utf-8").strip()
    with _connect(stack_env, "owner") as owner:
        superuser = owner.info.get_parameters() | {"user": "postgres", "password": password}
    with psycopg.connect(make_conninfo(**superuser), autocommit=True) as connection:
        connection.execute("REVOKE pg_monitor FROM costdb_readonly")
        connection.execute("ALTER DEFAULT PRIVILEGES FOR ROLE costdb_owner IN SCHEMA public"
                           " REVOKE SELECT ON TABLES FROM costdb_readonly")  # fmt: skip
    assert run_module("costdb", "local", "down", env=stack_env).returncode == 0
    again = _up(stack_env)
    assert again.returncode == 0, again.stderr
    with psycopg.connect(make_conninfo(**superuser), autocommit=True) as connection:
        given = connection.execute(
            "SELECT pg_has_role('costdb_readonly', 'pg_monitor', 'MEMBER'),"
            " has_database_privilege('costdb_app', current_database(), 'CONNECT'),"
            " has_database_privilege('public', current_database(), 'CONNECT')"
        ).fetchone()
    assert given == (True, True, False)
    with _connect(stack_env, "owner") as owner:
        owner.execute("CREATE TABLE after_the_grants (id int)")
    with _connect(stack_env, "readonly") as readonly:
        assert readonly.execute("SELECT count(*) FROM after_the_grants").fetchone() == (0,)


def _shared_dir(env: dict[str, str]) -> Path:
    """A directory beside the stack that the server's OS user can read (unlike tmp_path)."""
    return Path(env["COSTDB_LOCAL_DIR"]).parent


def test_password_files_are_used_and_both_forms_at_once_are_refused(
    stack_env: dict[str, str],
) -> None:
    secret = _shared_dir(stack_env) / "app-password"
    secret.write_text("app-Secret-From-File\n")
    secret.chmod(0o644)  # the init script reads it as the server's OS user
    conflicting = dict(stack_env, COSTDB_APP_PASSWORD="other", COSTDB_APP_PASSWORD_FILE=str(secret))
    refused = _up(conflicting)
    assert refused.returncode == 1
    assert "init script 20-roles.sh failed" in refused.stderr
    assert "both COSTDB_APP_PASSWORD and COSTDB_APP_PASSWORD_FILE are set" in refused.stderr
    assert not _server_runs(stack_env)
    assert not (Path(stack_env["COSTDB_LOCAL_DIR"]) / "data").exists()

    accepted = _up(dict(stack_env, COSTDB_APP_PASSWORD_FILE=str(secret)))
    assert accepted.returncode == 0, accepted.stderr
    with _connect(stack_env, "app") as app:
        assert app.info.password == "app-Secret-From-File"


def test_a_failing_init_script_is_named_and_leaves_nothing_running(
    stack_env: dict[str, str],
) -> None:
    scripts = _shared_dir(stack_env) / "initdb"
    shutil.copytree(INITDB, scripts)
    (scripts / "30-broken.sql").write_text("CREATE TABLE broken (;\n")
    (scripts / "40-never.sql").write_text("CREATE TABLE never_reached (id int);\n")
    env = dict(stack_env, COSTDB_INITDB_DIR=str(scripts))
    failed = _up(env)
    assert failed.returncode == 1
    assert "init script 30-broken.sql failed: " in failed.stderr
    assert "syntax error" in failed.stderr
    assert "40-never.sql" not in failed.stderr
    assert not _server_runs(stack_env)

    (scripts / "30-broken.sql").unlink()
    (scripts / "50-sourced.sh").write_text(  # not executable: sourced, as the image does
        'psql -v ON_ERROR_STOP=1 --dbname "$POSTGRES_DB" -c "CREATE TABLE sourced (id int)"\n'
    )
    (scripts / "60-compressed.sql.gz").write_bytes(gzip.compress(b"CREATE TABLE packed (id int);"))
    (scripts / "README.txt").write_text("ignored\n")
    fixed = _up(env)
    assert fixed.returncode == 0, fixed.stderr
    assert "init: ignoring README.txt" in fixed.stderr
    with _connect(stack_env, "owner") as owner:
        tables = {row[0] for row in owner.execute("SELECT tablename FROM pg_tables")}
    assert {"never_reached", "sourced", "packed"} <= tables


def test_foreground_up_stops_everything_on_sigterm(stack_env: dict[str, str]) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "costdb", "local", "up"],
        env=stack_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with process:  # reaped and its pipes closed even if an assertion fails
        try:
            assert process.stderr is not None
            for line in process.stderr:
                if "serving /livez /readyz /metrics" in line:
                    break
            assert _server_runs(stack_env)
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 0
    assert not _server_runs(stack_env)


def test_down_stops_the_detached_health_server_and_postgres(stack_env: dict[str, str]) -> None:
    assert _up(stack_env).returncode == 0
    pid = int((Path(stack_env["COSTDB_LOCAL_DIR"]) / "health.pid").read_text())
    down = run_module("costdb", "local", "down", env=stack_env)
    assert "stopped: health server, PostgreSQL" in down.stderr
    assert not _server_runs(stack_env)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_busy_port_is_reported_with_the_servers_reason(stack_env: dict[str, str]) -> None:
    assert _up(stack_env).returncode == 0
    other = dict(stack_env, COSTDB_LOCAL_DIR=stack_env["COSTDB_LOCAL_DIR"] + "-other")
    result = _up(other)
    shutil.rmtree(other["COSTDB_LOCAL_DIR"], ignore_errors=True)
    assert result.returncode == 1
    assert "PostgreSQL did not start" in result.stderr
    assert f"port {stack_env['COSTDB_LOCAL_PORT']}" in result.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the data directory to another user")
def test_a_directory_the_server_user_cannot_reach_is_refused(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    cluster = PostgresCluster(
        root=private / "stack", port=free_port(), superuser_password="x", binaries=find_binaries()
    )
    with pytest.raises(CostdbError, match="OS user the server runs as cannot write"):
        cluster.initialise()


def test_missing_binaries_name_the_provisioning_script(tmp_path: Path) -> None:
    with pytest.raises(CostdbError, match=r"no PostgreSQL server binaries found.*provision"):
        find_binaries({"COSTDB_PG_BINDIR": str(tmp_path)})


def test_a_server_without_pgvector_is_named(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "postgres").write_text("")
    with pytest.raises(CostdbError, match="without the pgvector extension"):
        find_binaries({"COSTDB_PG_BINDIR": str(bindir)})


def _health_pid(env: dict[str, str]) -> int:
    return int((Path(env["COSTDB_LOCAL_DIR"]) / "health.pid").read_text())


def _listening(port: str) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", int(port))) == 0


def test_a_second_up_reuses_the_running_stack_and_down_stops_it(stack_env: dict[str, str]) -> None:
    assert _up(stack_env).returncode == 0
    first = _health_pid(stack_env)
    again = _up(stack_env)
    assert again.returncode == 0, again.stderr
    assert f"already running, pid {first}" in again.stderr
    assert _health_pid(stack_env) == first
    down = run_module("costdb", "local", "down", env=stack_env)
    assert "stopped: health server, PostgreSQL" in down.stderr
    assert not _listening(stack_env["COSTDB_LOCAL_HEALTH_PORT"])


def test_up_after_the_server_was_killed_starts_it_again(stack_env: dict[str, str]) -> None:
    assert _up(stack_env).returncode == 0
    postmaster = Path(stack_env["COSTDB_LOCAL_DIR"]) / "data" / "postmaster.pid"
    os.kill(int(postmaster.read_text().split()[0]), signal.SIGKILL)
    time.sleep(1)
    again = _up(stack_env)
    assert again.returncode == 0, again.stderr
    with _connect(stack_env, "app") as app:
        assert app.execute("SELECT count(*) FROM events").fetchone() == (0,)
    status = run_module("costdb", "local", "status", env=stack_env)
    assert "/readyz 200" in status.stdout


def test_two_first_ups_at_once_make_one_stack(stack_env: dict[str, str]) -> None:
    command = [sys.executable, "-m", "costdb", "local", "up", "--detach"]
    racers = [
        subprocess.Popen(command, env=stack_env, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [racer.communicate(timeout=180)[1] for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0], outputs
    assert "Traceback" not in "".join(outputs)
    assert sum("initialised and started" in output for output in outputs) == 1
    with _connect(stack_env, "owner") as owner:  # the passwords on file match the cluster
        assert owner.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD,)


def test_init_scripts_the_server_user_cannot_read_still_run(stack_env: dict[str, str]) -> None:
    """A checkout under a private home (/root is 0700): the server's OS user runs the scripts."""
    private = _shared_dir(stack_env) / "private"
    private.mkdir(mode=0o700)
    shutil.copytree(INITDB, private / "initdb")
    up = _up(dict(stack_env, COSTDB_INITDB_DIR=str(private / "initdb")))
    assert up.returncode == 0, up.stderr
    with _connect(stack_env, "app") as app:
        assert app.execute("SELECT current_user").fetchone() == ("costdb_app",)


def test_a_killed_postmaster_not_yet_reaped_is_not_running() -> None:
    """`pg_ctl status` still sees a postmaster that exited and was not reaped; `costdb local up`
    must start the server again rather than wait on a corpse (the CI flake it fixed)."""
    root = shared_tempdir("costdb-zombie-")
    cluster = PostgresCluster(root, free_port(), "unused", find_binaries())
    cluster.datadir.mkdir(mode=0o755)
    # Exited at once and never waited for by this process: a zombie owned by the server's user.
    corpse = subprocess.Popen(["true"], user=cluster.os_user)
    try:
        time.sleep(0.5)
        (cluster.datadir / "PG_VERSION").write_text("15\n")
        (cluster.datadir / "postmaster.pid").write_text(f"{corpse.pid}\n{cluster.datadir}\n")
        assert not cluster.is_running
    finally:
        corpse.wait()
        shutil.rmtree(root, ignore_errors=True)
