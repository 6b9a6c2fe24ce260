"""The real images and the Compose stack, end to end: needs a Docker engine.

Skipped, with the reason, where no engine is reachable (our CI machines have only the
client). GitHub's runners have one: .github/workflows/ci.yml runs this with ``-m docker``.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from costdb.settings import DatabaseSettings
from tests.cli_runner import clean_environment, run_module

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.docker


def _engine_or_skip() -> None:
    """Skip unless a Docker engine answers (asked through the CLI, which Compose needs too)."""
    pytest.importorskip("docker", reason="the docker SDK is not installed")
    try:
        answer = subprocess.run(
            ["docker", "version", "--format", "{{.Server.Version}}"],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
    except FileNotFoundError:
        pytest.skip("the docker CLI is not installed")
    if answer.returncode != 0:
        reason = (answer.stderr.strip().splitlines() or ["no answer"])[-1]
        pytest.skip(f"no Docker engine reachable: {reason}")


def _compose(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "compose", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.fixture(scope="module")
def compose_stack() -> Iterator[None]:
    _engine_or_skip()
    if not (REPO / "secrets" / "postgres_password").is_file():
        subprocess.run(["bash", "scripts/generate-secrets.sh"], cwd=REPO, check=True)
    import docker  # noqa: PLC0415  (only once an engine is known to be there)

    client = docker.from_env()
    for target in ("db", "tools"):
        client.images.build(path=str(REPO), target=target, tag=f"costdb-{target}:dev", rm=True)
    started = _compose("up", "--wait", "--wait-timeout", "300")
    try:
        assert started.returncode == 0, started.stderr
        yield
    finally:
        _compose("down", "--volumes", "--remove-orphans")


def test_stack_becomes_healthy_with_the_schema_complete(compose_stack: None) -> None:
    with urllib.request.urlopen("http://127.0.0.1:8080/readyz", timeout=10) as response:
        report = json.load(response)
    assert response.status == 200
    assert report["status"] == "healthy"
    password = (REPO / "secrets" / "costdb_readonly_password").read_text().strip()
    readonly = DatabaseSettings(
        {
            "host": "127.0.0.1",
            "port": "5432",
            "user": "costdb_readonly",
            "password": password,
            "dbname": "costdb",
        }
    )
    probe = run_module("healthcheck", env=clean_environment(DATABASE_URL=readonly.url))
    assert probe.returncode == 0, probe.stdout


def test_migrate_completed_and_exited_zero(compose_stack: None) -> None:
    state = _compose("ps", "--all", "--format", "json", "migrate")
    containers = [json.loads(line) for line in state.stdout.splitlines() if line.strip()]
    assert [c["ExitCode"] for c in containers] == [0]
