"""``costdb local``: a native database under a project directory, reused across runs."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from costdb.engine import create_costdb_engine
from costdb.errors import CostdbError
from costdb.postgres_cluster import PostgresCluster, find_binaries, free_port
from costdb.settings import load_settings
from tests.cli_runner import clean_environment, run_module


@pytest.fixture
def stack_env() -> Iterator[dict[str, str]]:
    parent = Path(tempfile.mkdtemp(prefix="costdb-local-"))
    parent.chmod(0o755)  # the server's OS user must reach the directory inside
    env = clean_environment(
        COSTDB_LOCAL_DIR=str(parent / "stack"), COSTDB_LOCAL_PORT=str(free_port())
    )
    yield env
    run_module("costdb", "local", "down", env=env)
    shutil.rmtree(parent, ignore_errors=True)


def _engine(env: dict[str, str]) -> Engine:
    url_file = Path(env["COSTDB_LOCAL_DIR"]) / "database.url"
    return create_costdb_engine(load_settings({"DATABASE_URL_FILE": str(url_file)}))


def test_up_migrates_then_a_second_up_keeps_the_data(stack_env: dict[str, str]) -> None:
    first = run_module("costdb", "local", "up", env=stack_env)
    assert first.returncode == 0, first.stderr
    assert "initialised and started" in first.stderr
    url_file = Path(stack_env["COSTDB_LOCAL_DIR"]) / "database.url"
    assert f"DATABASE_URL_FILE={url_file}" in first.stdout
    password = (Path(stack_env["COSTDB_LOCAL_DIR"]) / "superuser.password").read_text().strip()
    assert password not in first.stdout + first.stderr
    assert oct(url_file.stat().st_mode & 0o777) == "0o600"

    engine = _engine(stack_env)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO model_pricing (provider, model, input_price_per_1k,"
                 " output_price_per_1k) VALUES ('openai', 'gpt-4o', 0.0025, 0.01)")
        )  # fmt: skip
    engine.dispose()

    assert run_module("costdb", "local", "down", env=stack_env).returncode == 0
    stopped = run_module("costdb", "local", "status", env=stack_env)
    assert (stopped.returncode, stopped.stdout.strip()) == (1, "local database: not running")

    second = run_module("costdb", "local", "up", env=stack_env)
    assert second.returncode == 0, second.stderr
    assert "already at head" in second.stderr
    engine = _engine(stack_env)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM model_pricing")).scalar_one() == 1
    engine.dispose()
    status = run_module("costdb", "local", "status", env=stack_env)
    assert status.returncode == 0
    assert "revision: 0001 (head 0001)" in status.stdout


def test_a_busy_port_is_reported_with_the_servers_reason(stack_env: dict[str, str]) -> None:
    assert run_module("costdb", "local", "up", env=stack_env).returncode == 0
    other = dict(stack_env, COSTDB_LOCAL_DIR=stack_env["COSTDB_LOCAL_DIR"] + "-other")
    result = run_module("costdb", "local", "up", env=other)
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
