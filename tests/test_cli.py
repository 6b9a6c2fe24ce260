"""``costdb migrate`` and ``costdb status`` as processes against a real server."""

from __future__ import annotations

import json
import time

import psycopg
import pytest

from costdb.local.cluster import free_port
from costdb.settings import DatabaseSettings
from testsupport.cli_runner import clean_environment, run_module, url_environment
from testsupport.migration_fixtures import HEAD, SHIPPED_REVISIONS

pytestmark = pytest.mark.slow  # every test runs `costdb` as a process


def _costdb(*args: str, env: dict[str, str], timeout: float = 60) -> tuple[int, str, str]:
    result = run_module("costdb", *args, env=env, timeout=timeout)
    return result.returncode, result.stdout, result.stderr


def _assert_one_clean_line(stderr: str, *secrets: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    for secret in secrets:
        assert secret not in stderr


def test_migrate_brings_an_empty_database_to_head(empty_database: DatabaseSettings) -> None:
    env = url_environment(empty_database)
    code, _, stderr = _costdb("migrate", env=env)
    assert code == 0, stderr
    assert f"applied {HEAD}" in stderr
    code, stdout, _ = _costdb("status", "--json", env=env)
    status = json.loads(stdout)
    assert (code, status["current"], status["pending"]) == (0, status["head"], [])
    assert str(empty_database.password) not in stdout


def test_migrate_at_head_applies_nothing(migrated_database: DatabaseSettings) -> None:
    code, _, stderr = _costdb("migrate", env=url_environment(migrated_database))
    assert code == 0
    assert "nothing to apply" in stderr


def test_status_of_an_empty_database_lists_the_pending_revisions(
    empty_database: DatabaseSettings,
) -> None:
    code, stdout, _ = _costdb("status", env=url_environment(empty_database))
    assert code == 0
    assert f"pending:  {', '.join(SHIPPED_REVISIONS)}" in stdout
    assert "(empty: no migration applied)" in stdout


def test_a_database_newer_than_the_code_is_refused(migrated_database: DatabaseSettings) -> None:
    with psycopg.connect(migrated_database.conninfo("test")) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'f00dfeed'")
    code, _, stderr = _costdb("migrate", env=url_environment(migrated_database))
    assert code == 3
    _assert_one_clean_line(stderr)
    assert "database revision f00dfeed is newer than this image" in stderr


def test_wrong_password_exits_2_without_the_password(empty_database: DatabaseSettings) -> None:
    wrong = "Wr0ng-Passw0rd"
    code, _, stderr = _costdb(
        "status", env=url_environment(empty_database.with_params(password=wrong))
    )
    assert code == 2
    _assert_one_clean_line(stderr, wrong)
    assert "password authentication failed" in stderr


def test_refused_connection_exits_1(empty_database: DatabaseSettings) -> None:
    refused = empty_database.with_params(port=free_port())
    code, _, stderr = _costdb("status", env=url_environment(refused))
    assert code == 1
    _assert_one_clean_line(stderr, str(empty_database.password))
    assert "Connection refused" in stderr


def test_a_hung_server_times_out_instead_of_hanging(silent_server: int) -> None:
    env = clean_environment(
        DATABASE_URL=f"postgresql://u:pw@127.0.0.1:{silent_server}/d", PGCONNECT_TIMEOUT="1"
    )
    started = time.monotonic()
    code, _, stderr = _costdb("status", env=env, timeout=30)
    assert code == 1
    assert time.monotonic() - started < 10
    _assert_one_clean_line(stderr, "pw@")
    assert "timeout" in stderr.lower()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "no database configured"),
        ({"DATABASE_URL": "postgresql://u:hunter2@h:x/d"}, "port that is not a number"),
        ({"PGCONNECT_TIMEOUT": "soon", "DATABASE_URL": "postgresql://h/d"}, "PGCONNECT_TIMEOUT"),
    ],
)
def test_misconfiguration_exits_2_with_one_line(extra: dict[str, str], message: str) -> None:
    code, _, stderr = _costdb("migrate", env=clean_environment(**extra))
    assert code == 2
    _assert_one_clean_line(stderr, "hunter2")
    assert message in stderr


def test_ssl_required_against_a_server_without_ssl_fails_at_once(
    empty_database: DatabaseSettings,
) -> None:
    env = url_environment(empty_database.with_params(sslmode="require"))
    started = time.monotonic()
    code, _, stderr = _costdb("migrate", "--wait", "30", env=env)
    assert code == 2  # configuration: retrying for 30 s would not help
    assert time.monotonic() - started < 10
    _assert_one_clean_line(stderr, str(empty_database.password))
    assert "server does not support SSL, but SSL was required" in stderr


def test_migrate_at_head_refuses_a_column_of_the_wrong_definition(
    migrated_database: DatabaseSettings,
) -> None:
    with psycopg.connect(migrated_database.conninfo("test")) as connection:
        connection.execute("ALTER TABLE prompt_embeddings ALTER COLUMN embedding TYPE vector(768)")
    code, _, stderr = _costdb("migrate", env=url_environment(migrated_database))
    assert code == 7
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1] == (
        "costdb: error: the schema differs from what the migrations create: table "
        "prompt_embeddings: column embedding is vector(768) NOT NULL, expected vector(1536) "
        "NOT NULL"
    )
