"""Docker and Compose, driven through their command lines as a user would, for the container
tests. Every stack gets its own project name, free ports, a fresh volume and secrets in a
temporary directory: a test never touches the user's own `costdb` project or `./secrets/`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml

from costdb.local.cluster import free_port
from costdb.settings import DatabaseSettings

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "docker-compose.yml"
DB_IMAGE = "costdb-db:test"
TOOLS_IMAGE = "costdb-tools:test"
EXPORTER_IMAGE = "costdb-exporter:test"
CITUS_DOCKERFILE = REPO / "docker" / "citus" / "Dockerfile"
CITUS_WORKER_IMAGE = "costdb-citus-worker:test"
CITUS_COORDINATOR_IMAGE = "costdb-citus-coordinator:test"
WHOLE_STACK = ("--profile", "monitoring")
"""The development stack with its health server and exporter (not in the default ``up``)."""
COMPOSE_PROFILES = sorted(
    {
        profile
        for service in yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"].values()
        for profile in service.get("profiles", [])
    }
)
SECRET_NAMES = (
    "postgres_password",
    "costdb_owner_password",
    "costdb_app_password",
    "costdb_readonly_password",
)


def run(
    *args: str,
    timeout: float = 600,
    check: bool = False,
    cwd: Path = REPO,
    env: Mapping[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args),
        cwd=cwd,
        env={**os.environ, **(env or {})},
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


def superuser_sql(
    container: str,
    statement: str,
    variables: Mapping[str, str] | None = None,
    timeout: float = 600,
) -> str:
    """``statement`` in the db container's costdb database as the superuser (psql over its
    socket, the statement on standard input); ``variables`` reach it as psql's :'name'."""
    settings = [
        part for name, value in (variables or {}).items() for part in ("-v", f"{name}={value}")
    ]
    result = run(
        "docker", "exec", "--interactive", container,
        "psql", "-U", "postgres", "-d", "costdb", "-v", "ON_ERROR_STOP=1", *settings, "-At",
        input=statement, timeout=timeout,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def engine_or_skip() -> None:
    """Skip unless a Docker engine and Compose v2 answer."""
    if shutil.which("docker") is None:
        pytest.skip("the docker CLI is not installed")
    answer = run("docker", "version", "--format", "{{.Server.Version}}", timeout=30)
    if answer.returncode != 0:
        reason = (answer.stderr.strip().splitlines() or ["no answer"])[-1]
        pytest.skip(f"no Docker engine reachable: {reason}")
    if run("docker", "compose", "version", timeout=30).returncode != 0:
        pytest.skip("Docker Compose v2 (`docker compose`) is not installed")


def build(target: str, tag: str, context: Path = REPO, dockerfile: Path | None = None) -> None:
    """Build one target of the Dockerfile with BuildKit (what `COPY --chmod` needs)."""
    result = run(
        "docker",
        "build",
        "--file",
        str(dockerfile or context / "Dockerfile"),
        "--target",
        target,
        "--tag",
        tag,
        str(context),
        env={"DOCKER_BUILDKIT": "1"},
        timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def build_from_commit(commit: str, target: str, tag: str, workdir: Path) -> None:
    """Build ``target`` of the Dockerfile as it was at ``commit`` (a commit reachable from
    main), from ``git archive``: the image an earlier release of this repository built. Skips
    where the checkout lacks that history (a shallow clone: ``git fetch --unshallow``)."""
    if run("git", "cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        pytest.skip(f"commit {commit} is not in this checkout (a shallow clone?)")
    context = workdir / f"context-{commit}"
    context.mkdir()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit],
        cwd=REPO,
        capture_output=True,
        check=True,
        timeout=120,
    )
    subprocess.run(["tar", "-x", "-C", str(context)], input=archive.stdout, check=True, timeout=120)
    build(target, tag, context)


def inspect(container: str) -> dict[str, object]:
    result = run("docker", "inspect", container, check=True)
    return dict(json.loads(result.stdout)[0])


def health_of(container: str) -> tuple[str, str]:
    """The container's health status and the output of its latest health check."""
    state = inspect(container)["State"]
    assert isinstance(state, dict)
    health = state.get("Health") or {}
    log = health.get("Log") or [{}]
    return str(health.get("Status", "none")), str(log[-1].get("Output", ""))


def wait_for_health(container: str, wanted: str, timeout: float) -> str:
    """Poll until the container's health is ``wanted``; return the last check's output."""
    deadline = time.monotonic() + timeout
    status, output = health_of(container)
    while status != wanted and time.monotonic() < deadline:
        time.sleep(1)
        status, output = health_of(container)
    assert status == wanted, f"{container} is {status}: {output}"
    return output


def wait_for_check_output(container: str, text: str, timeout: float) -> tuple[str, str]:
    """Poll until the latest health check's output contains ``text``; return status and it.

    Failures inside the start period are shown in ``docker inspect`` at once but do not yet
    make the container "unhealthy": this reads what an operator reads.
    """
    deadline = time.monotonic() + timeout
    status, output = health_of(container)
    while text not in output and time.monotonic() < deadline:
        time.sleep(1)
        status, output = health_of(container)
    assert text in output, f"{container} is {status}: {output}"
    return status, output


IMAGE_PASSWORDS = (
    "POSTGRES_PASSWORD",
    "COSTDB_OWNER_PASSWORD",
    "COSTDB_APP_PASSWORD",
    "COSTDB_READONLY_PASSWORD",
)


def image_options() -> list[str]:
    """``docker run`` options that give the db image every password, as ``pw-...``."""
    passwords = [f"{key}=pw-{key.lower()}" for key in IMAGE_PASSWORDS]
    return [part for value in [*passwords, "POSTGRES_DB=costdb"] for part in ("--env", value)]


def run_detached(image: str, prefix: str, *options: str) -> str:
    """``docker run --detach`` the image as a user would, every password given as ``pw-...``
    (and ``options``); return the container's name."""
    name = f"{prefix}-{secrets.token_hex(4)}"
    started = run("docker", "run", "--detach", "--name", name, *image_options(), *options, image)
    assert started.returncode == 0, started.stderr
    return name


class Stack:
    """The Compose stack under its own project name, ports, volume and secrets."""

    def __init__(
        self, directory: Path, *, db_image: str = DB_IMAGE, own_secrets: bool = True
    ) -> None:
        self.directory = directory
        self.project = f"costdb-test-{secrets.token_hex(4)}"
        self.db_port = free_port()
        self.health_port = free_port()
        self.exporter_port = free_port()
        self.citus_port = free_port()
        self.citus_health_port = free_port()
        self.db_image = db_image
        self.environment: dict[str, str] = {}
        """More variables for Compose to substitute (``COSTDB_BUDGET_WEBHOOK_URL``)."""
        if not own_secrets:  # a fresh checkout: the stack makes its passwords
            return
        (directory / "secrets").mkdir(exist_ok=True)
        for name in SECRET_NAMES:
            (directory / "secrets" / name).write_text(secrets.token_urlsafe(24))
            (directory / "secrets" / name).chmod(0o644)

    def compose(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return run(
            "docker",
            "compose",
            "--project-name",
            self.project,
            "--file",
            str(COMPOSE_FILE),
            "--project-directory",
            str(self.directory),
            *args,
            env={
                "COSTDB_DB_IMAGE": self.db_image,
                "COSTDB_TOOLS_IMAGE": TOOLS_IMAGE,
                "COSTDB_DB_PORT": str(self.db_port),
                "COSTDB_HEALTH_PORT": str(self.health_port),
                "COSTDB_EXPORTER_IMAGE": EXPORTER_IMAGE,
                "COSTDB_EXPORTER_PORT": str(self.exporter_port),
                "COSTDB_CITUS_WORKER_IMAGE": CITUS_WORKER_IMAGE,
                "COSTDB_CITUS_COORDINATOR_IMAGE": CITUS_COORDINATOR_IMAGE,
                "COSTDB_CITUS_PORT": str(self.citus_port),
                "COSTDB_CITUS_HEALTH_PORT": str(self.citus_health_port),
            }
            | self.environment,
            timeout=timeout,
        )

    def up(self, *options: str, services: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
        """``docker compose [options] up --wait [services]``: returns once all are healthy."""
        return self.compose(
            *options, "up", "--no-build", "--wait", "--wait-timeout", "180", *services
        )

    def health_report(self) -> str:
        """Every service's health state and its last checks' output: what a failed ``up``
        shows, so that a service that did not become healthy says why."""
        listed = self.compose("ps", "--all", "--format", "{{.Service}}")
        lines = []
        for service in sorted(set(listed.stdout.split())):
            state = run(
                "docker", "inspect", "--format", "{{json .State.Health}}", self.container(service)
            )
            lines.append(f"{service}: {state.stdout.strip()[:2000]}")
        return "\n".join(lines)

    def down(self) -> None:
        """Remove everything the stack made, the containers of every profile included (a
        plain ``down`` leaves those of profiles it was not given)."""
        profiles = [part for name in COMPOSE_PROFILES for part in ("--profile", name)]
        self.compose(*profiles, "down", "--volumes", "--remove-orphans", "--timeout", "5")

    def leftovers(self) -> list[str]:
        """Containers and volumes of this project still in the engine."""
        names = []
        for kind in ("ps", "volume"):
            listed = run(
                "docker",
                kind,
                *(["--all"] if kind == "ps" else ["ls"]),
                "--quiet",
                "--filter",
                f"label=com.docker.compose.project={self.project}",
            )
            names += listed.stdout.split()
        return names

    def container(self, service: str) -> str:
        return f"{self.project}-{service}-1"

    def password(self, name: str) -> str:
        """The password the stack uses: the test's own, else the one the stack made (read as
        the README says)."""
        given = self.directory / "secrets" / name
        if given.exists():
            return given.read_text()
        shown = self.compose("exec", "-T", "db", "cat", f"/run/secrets/{name}")
        assert shown.returncode == 0, shown.stderr
        return shown.stdout

    def role(
        self, role: str, database: str = "costdb", port: int | None = None
    ) -> DatabaseSettings:
        """How ``role`` reaches ``database`` on the db service (or another published ``port``)."""
        return DatabaseSettings(
            {
                "host": "127.0.0.1",
                "port": str(port or self.db_port),
                "user": role,
                "password": self.password(f"{role}_password"),
                "dbname": database,
            }
        )

    def verified_role(self, role: str) -> DatabaseSettings:
        """``role`` over TLS to ``localhost``, the server verified against the stack's CA
        fetched as the README says (``docker compose cp``)."""
        copied = self.compose("cp", "db:/run/secrets/costdb_ca.crt", str(self.directory))
        assert copied.returncode == 0, copied.stderr
        return self.role(role).with_params(
            host="localhost",
            sslmode="verify-full",
            sslrootcert=str(self.directory / "costdb_ca.crt"),
        )

    def logs(self, service: str) -> str:
        result = self.compose("logs", "--no-color", "--no-log-prefix", service)
        return result.stdout + result.stderr
