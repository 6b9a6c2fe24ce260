"""The images and the Compose stack, run for real: needs a Docker engine with Compose v2.

Skipped, with the reason, where none is reachable. Each stack is isolated (tests/containers.py):
its own project, ports, volume and secrets.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from costdb.local.cluster import free_port
from testsupport.cli_runner import clean_environment, run_module
from testsupport.containers import (
    CITUS_COORDINATOR_IMAGE,
    CITUS_DOCKERFILE,
    CITUS_WORKER_IMAGE,
    DB_IMAGE,
    IMAGE_PASSWORDS,
    REPO,
    TOOLS_IMAGE,
    WHOLE_STACK,
    Stack,
    build,
    build_from_commit,
    health_of,
    inspect,
    run,
    run_detached,
    wait_for_check_output,
    wait_for_health,
)
from testsupport.database_actions import encrypted
from testsupport.migration_fixtures import HEAD, revision_source
from testsupport.node_client import run_program
from testsupport.registry import image_labels, local_registry
from testsupport.spec_rows import kept_rows, spec_rows, write_spec_rows
from testsupport.webhook_receiver import webhook_receiver

pytestmark = [pytest.mark.docker, pytest.mark.slow]
SBOM_PATH = "/usr/share/doc/costdb/sbom.cdx.json"


@pytest.fixture
def stack(images: None, tmp_path: Path) -> Iterator[Stack]:
    stack = Stack(tmp_path)
    try:
        yield stack
    finally:
        stack.down()
    assert stack.leftovers() == []  # a test suite removes everything it made


@pytest.fixture
def running(stack: Stack) -> Stack:
    started = stack.up(*WHOLE_STACK)
    assert started.returncode == 0, (
        started.stderr + stack.health_report() + stack.logs("healthcheck") + stack.logs("db")
    )
    return stack


def _readyz(stack: Stack) -> tuple[int, dict[str, object]]:
    url = f"http://127.0.0.1:{stack.health_port}/readyz"
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, json.load(response)


def test_a_fresh_checkout_comes_up_first_time_and_keeps_the_passwords_it_made(
    images: None, tmp_path: Path
) -> None:
    """`docker compose up --wait` with no step before it: no ./secrets, no variable."""
    stack = Stack(tmp_path, own_secrets=False)
    try:
        first = stack.up()
        assert first.returncode == 0, first.stderr + stack.logs("secrets")
        password = stack.password("costdb_app_password")
        assert len(password) == 32
        assert not (tmp_path / "secrets").exists()  # nothing written into the checkout
        with psycopg.connect(stack.role("costdb_app").conninfo("test")) as connection:
            assert connection.execute("SELECT current_user").fetchone() == ("costdb_app",)
        stopped = stack.compose("down")  # the volumes stay
        assert stopped.returncode == 0, stopped.stderr
        again = stack.up()
        assert again.returncode == 0, again.stderr
        assert stack.password("costdb_app_password") == password
        made = stack.logs("secrets")
        assert "kept costdb_app_password" in made and password not in made
    finally:
        stack.down()
    assert stack.leftovers() == []


def test_the_default_up_is_the_db_image_alone_with_its_one_shots(stack: Stack) -> None:
    """`docker compose up --wait` with no profile: one image; db (migrated and verified) and
    the roll-ups run, the passwords and the prices are made by one-shots that exited 0."""
    started = stack.up()
    assert started.returncode == 0, started.stderr + stack.health_report()
    listed = stack.compose("ps", "--all", "--format", "{{.Service}} {{.State}} {{.Image}}")
    states = {line.split()[0]: line.split()[1:] for line in listed.stdout.splitlines()}
    assert states == {
        "db": ["running", stack.db_image],
        "rollup": ["running", stack.db_image],
        "secrets": ["exited", stack.db_image],
        "prices": ["exited", stack.db_image],
    }
    for one_shot in ("secrets", "prices"):
        code = run(
            "docker", "inspect", "--format", "{{.State.ExitCode}}", stack.container(one_shot)
        )
        assert code.stdout.strip() == "0", stack.logs(one_shot)
    with psycopg.connect(stack.role("costdb_app").conninfo("test")) as connection:
        synced = connection.execute(PRICE_ROWS).fetchall()
    assert synced[0][0] == "genai-prices" and synced[0][1] > 2000


def test_up_wait_returns_with_the_schema_migrated_and_verified(running: Stack) -> None:
    status, report = _readyz(running)
    assert (status, report["status"]) == (200, "healthy")
    db_health, output = health_of(running.container("db"))
    assert db_health == "healthy"
    assert output.startswith("healthy: ")
    probe = run_module(
        "healthcheck", env=clean_environment(DATABASE_URL=running.role("costdb_readonly").url)
    )
    assert probe.returncode == 0, probe.stdout
    assert '"event": "done"' in running.logs("db")


def test_the_exporter_shows_the_server_and_costdbs_series_and_the_log_stays_clean(
    running: Stack,
) -> None:
    """postgres_exporter as the read-only role over verified TLS: the server's series, costdb's
    queries, and not one ERROR in the server's log for any of its default collectors."""
    url = f"http://127.0.0.1:{running.exporter_port}/metrics"
    deadline = time.monotonic() + 60
    while True:
        with urllib.request.urlopen(url, timeout=10) as response:
            metrics = response.read().decode()
        if "costdb_rollup_lag_seconds" in metrics or time.monotonic() > deadline:
            break
        time.sleep(2)  # the roll-up service's first run writes the coverage

    def value(name: str) -> str | None:
        found = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", metrics, re.MULTILINE)
        return found.group(1) if found else None

    assert value("pg_up") == "1", metrics[:2000]
    assert int(float(value("costdb_events_inserted") or "-1")) >= 0
    assert 0 <= float(value("costdb_rollup_lag_seconds") or "-1") < 3600
    assert "pg_stat_database_xact_commit" in metrics
    alarming = [
        line
        for line in running.logs("db").splitlines()
        if any(level in line for level in ("FATAL:", "ERROR:", "PANIC:"))
    ]
    assert alarming == []


def test_clients_reach_db_verified_and_plain_clients_too(running: Stack) -> None:
    """The stack's own services verify db (verify-full, the stack's CA: /readyz is healthy
    through it); a user on this machine does the same with the CA the README fetches; a
    client that prefers TLS gets it, and one that never asks for it (node-postgres' and
    JDBC's default) connects in clear text. The probe says so, without a warning."""
    _status, report = _readyz(running)
    checks = report["checks"]
    assert isinstance(checks, list)
    assert {"name": "tls", "status": "pass"} in checks
    assert {"name": "clear_text", "status": "pass"} in checks
    assert encrypted(running.verified_role("costdb_app"))
    assert encrypted(running.role("costdb_app").with_params(sslmode="prefer"))
    assert not encrypted(running.role("costdb_app").with_params(sslmode="disable"))
    url = f"http://127.0.0.1:{running.health_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert "costdb_clear_text_accepted 1.0" in response.read().decode()


def test_the_specs_plain_client_connects_from_this_machine_and_from_the_stacks_network(
    running: Stack, node_client: Path
) -> None:
    """The seed's TypeScript client (node-postgres, `new Pool({ connectionString })`), its
    URL without any TLS parameter: from this machine to the published port, and from the
    stack's own network to `db` (the healthcheck container's network: the host's Node.js
    joins it, since the engine may have no Node.js image). And psql in a container of the
    stack, told never to ask for TLS."""
    password = running.password("costdb_app_password")
    from_host = run_program(
        "seed-client", f"postgresql://costdb_app:{password}@127.0.0.1:{running.db_port}/costdb"
    )
    healthcheck = inspect(running.container("healthcheck"))
    networks = inspect(running.container("db"))["NetworkSettings"]
    assert isinstance(networks, dict)
    (db_address,) = [n["IPAddress"] for n in networks["Networks"].values()]
    state = healthcheck["State"]
    assert isinstance(state, dict)
    inside = ["nsenter", f"--net=/proc/{state['Pid']}/ns/net", "--"]
    from_network = run_program(
        "seed-client", f"postgresql://costdb_app:{password}@{db_address}:5432/costdb", inside
    )
    for result in (from_host, from_network):
        assert result["projectId"] == "default" and result["orphans"] == 0
        assert result["suggestions"] == ["trim the system prompt"]
        assert result["rejected"]["code"] == "23503"
    plain_psql = running.compose(
        "run", "--rm", "--no-deps", "--entrypoint", "psql",
        "-e", "PGSSLMODE=disable", "-e", f"PGPASSWORD={password}",
        "example-app", "-At", "-c", "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )  # fmt: skip
    assert plain_psql.returncode == 0, plain_psql.stderr
    assert plain_psql.stdout.strip().splitlines()[-1] == "f"


def test_tls_required_on_the_development_stack_refuses_clear_text_on_the_same_volume(
    running: Stack,
) -> None:
    """`COSTDB_TLS=required docker compose up --wait`: db is created again on its volume and
    from this start on refuses clear text; the stack's services (verify-full) keep working."""
    plain = running.role("costdb_app").with_params(sslmode="disable")
    with psycopg.connect(plain.conninfo("test"), autocommit=True) as connection:
        connection.execute(
            "INSERT INTO budgets (project_id, period, limit_usd) VALUES ('kept', 'day', 1)"
        )
    running.environment["COSTDB_TLS"] = "required"
    again = running.up(*WHOLE_STACK)
    assert again.returncode == 0, again.stderr + running.health_report()
    with pytest.raises(psycopg.OperationalError, match="no encryption"):
        psycopg.connect(plain.conninfo("test")).close()
    with psycopg.connect(running.verified_role("costdb_app").conninfo("test")) as connection:
        kept = connection.execute("SELECT count(*) FROM budgets WHERE project_id = 'kept'")
        assert kept.fetchone() == (1,)
    status, report = _readyz(running)
    assert status == 200
    assert {"name": "clear_text", "status": "pass"} in report["checks"]  # type: ignore[operator]


def test_the_roles_reach_only_the_costdb_database(running: Stack) -> None:
    for role in ("costdb_app", "costdb_readonly", "costdb_owner"):
        with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
            psycopg.connect(running.role(role, database="postgres").conninfo("test")).close()
        psycopg.connect(running.role(role).conninfo("test")).close()


PRICE_ROWS = "SELECT source, count(*) FROM model_pricing GROUP BY source ORDER BY source"


def test_rows_survive_down_and_up_and_the_second_start_applies_nothing(running: Stack) -> None:
    with psycopg.connect(running.role("costdb_app").conninfo("test")) as connection:
        connection.execute(
            "INSERT INTO model_pricing (provider, model, input_price_per_1k, output_price_per_1k)"
            " VALUES ('p', 'm', 0.001, 0.002)"
        )
        synced = connection.execute(PRICE_ROWS).fetchall()
    assert synced[0][0] == "genai-prices" and synced[0][1] > 2000  # the first up synced
    assert running.compose("down", "--timeout", "10").returncode == 0  # the volume stays
    started = running.up(*WHOLE_STACK)
    assert started.returncode == 0, started.stderr
    with psycopg.connect(running.role("costdb_app").conninfo("test")) as connection:
        assert connection.execute(PRICE_ROWS).fetchall() == synced  # the re-sync wrote nothing
    assert "nothing to apply" in running.logs("db")
    assert '"rows_written": 0' not in running.logs("prices")  # text logs: the line below
    assert "wrote 0 price rows" in running.logs("prices")


def test_rollup_retention_and_similar_run_on_the_compose_stack(running: Stack) -> None:
    """The rollup service's role and image run each maintenance command (`compose run`)."""
    with psycopg.connect(running.role("costdb_app").conninfo("test")) as connection:
        row = connection.execute(
            "INSERT INTO events (trace_id, span_id, project_id, feature, provider, model,"
            " input_tokens, output_tokens, latency_ms, estimated_cost_usd, created_at)"
            " VALUES ('t', 's', 'acme', 'chat', 'openai', 'gpt-4o', 100, 10, 5, 0.25,"
            " now() - interval '3 hours') RETURNING id"
        ).fetchone()
        assert row is not None
        connection.execute(
            "INSERT INTO prompt_embeddings (event_id, embedding, prompt_hash)"
            " VALUES (%s, array_fill(0.5, ARRAY[1536])::vector, 'h')",
            row,
        )
    rolled = running.compose("run", "--rm", "rollup", "rollup", "--since", "1d")
    assert rolled.returncode == 0, rolled.stderr
    kept = running.compose("run", "--rm", "rollup", "retention", "--keep", "30d", "--dry-run")
    assert kept.returncode == 0, kept.stderr
    assert "would delete everything before" in kept.stdout
    found = running.compose("run", "--rm", "rollup", "similar", str(row[0]))
    assert found.returncode == 0, found.stderr
    assert "no earlier prompt of this project" in found.stdout
    with psycopg.connect(running.role("costdb_readonly").conninfo("test")) as connection:
        totals = connection.execute(
            "SELECT total_cost, total_tokens, call_count FROM cost_aggregates"
            " WHERE project_id = 'acme'"
        ).fetchall()
    # Priced by the list the prices service synced: 100 x $2.50 + 10 x $10 per million.
    assert totals == [(Decimal("0.000350"), 110, 1)]


def test_the_rollup_service_alerts_a_budget_to_a_webhook_on_this_machine(stack: Stack) -> None:
    """A budget set with the tools image, calls over it written as the app role: the rollup
    service's next run records the alert and POSTs it to a receiver outside the stack."""
    with webhook_receiver(listen="0.0.0.0", advertised_host="host.docker.internal") as receiver:  # noqa: S104
        stack.environment["COSTDB_BUDGET_WEBHOOK_URL"] = receiver.url
        started = stack.up()
        assert started.returncode == 0, started.stderr
        budget = stack.compose(
            *("run", "--rm", "rollup", "budgets", "set", "--project", "acme"),
            *("--period", "day", "--limit", "0.0001", "--alert-at", "100"),
        )
        assert budget.returncode == 0, budget.stderr
        with psycopg.connect(stack.role("costdb_app").conninfo("test")) as connection:
            connection.execute(
                "INSERT INTO events (trace_id, span_id, project_id, feature, provider, model,"
                " input_tokens, output_tokens, latency_ms, estimated_cost_usd)"
                " VALUES ('t', 's', 'acme', 'chat', 'openai', 'gpt-4o', 1000, 100, 5, 0.01)"
            )
        assert stack.compose("restart", "rollup").returncode == 0  # its next run: now
        deadline = time.monotonic() + 90
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.5)
    assert len(receiver.received) == 1, stack.logs("rollup")
    alert = receiver.received[0].body["alert"]
    # Priced by the synced list: 1000 x $2.50 + 100 x $10 per million.
    assert (alert["project_id"], Decimal(alert["spend_usd"])) == ("acme", Decimal("0.0035"))
    with psycopg.connect(stack.role("costdb_readonly").conninfo("test")) as connection:
        delivered = connection.execute(
            "SELECT delivered_at IS NOT NULL, attempts FROM budget_alerts"
        ).fetchall()
    assert delivered == [(True, 1)]
    assert "secret-token" not in stack.logs("rollup")


def test_the_backup_profile_archives_and_backs_up_on_its_own(stack: Stack) -> None:
    """`--profile backup`: the sidecar sets the repository up, takes the first full backup and
    records it; the server archives from then on; the probe reports both."""
    started = stack.up("--profile", "backup")
    assert started.returncode == 0, started.stderr + stack.health_report() + stack.logs("backup")
    listed = stack.compose("exec", "-T", "backup", "costdb-backup.sh", "list")
    assert listed.returncode == 0, listed.stderr
    [backup] = listed.stdout.splitlines()
    assert " full " in backup
    recorded = stack.compose(
        "exec", "-T", "db", "psql", "-U", "postgres", "-d", "costdb", "-Atc",
        "SELECT label, type FROM costdb_backups",
    )  # fmt: skip
    assert recorded.stdout.split() == [f"{backup.split()[0]}|full"]
    probe = run_module(
        "healthcheck", "--json",
        env=clean_environment(DATABASE_URL=stack.verified_role("costdb_readonly").url),
    )  # fmt: skip
    checks = {check["name"]: check for check in json.loads(probe.stdout)["checks"]}
    assert checks["backups"]["status"] == "pass"
    assert checks["backups"]["detail"].startswith(f"the last backup {backup.split()[0]} (full)")
    assert checks["archiving"]["status"] == "pass", checks["archiving"]
    assert checks["tls"]["status"] == "pass" and "valid" in checks["tls"]["detail"]


def test_the_example_dependent_starts_healthy_and_stops_at_once(stack: Stack) -> None:
    started = stack.up("--profile", "example")
    assert started.returncode == 0, started.stderr
    assert health_of(stack.container("example-app"))[0] == "healthy"
    began = time.monotonic()
    stopped = stack.compose("--profile", "example", "stop", "example-app")
    assert stopped.returncode == 0, stopped.stderr
    assert time.monotonic() - began <= 2.5


def test_the_db_container_stops_cleanly_on_sigterm_with_nothing_left(running: Stack) -> None:
    db = running.container("db")
    run("docker", "kill", "--signal", "TERM", db, check=True)
    deadline = time.monotonic() + 20
    while inspect(db)["State"]["Running"] and time.monotonic() < deadline:  # type: ignore[index]
        time.sleep(0.2)
    state = inspect(db)["State"]
    assert (state["Running"], state["ExitCode"]) == (False, 0)  # type: ignore[index]
    assert "database system is shut down" in running.logs("db")


def test_an_empty_password_file_stops_compose_before_the_database_starts(stack: Stack) -> None:
    (stack.directory / "secrets" / "costdb_app_password").write_text("")
    started = stack.up()
    assert started.returncode != 0
    assert "secrets" in started.stderr  # Compose names the one-shot service that failed
    refused = (
        "costdb: error: /project/secrets/costdb_app_password: a password file holds one"
        " non-empty line"
    )
    assert any(line.endswith(refused) for line in stack.logs("secrets").splitlines())
    db = run("docker", "inspect", "--format", "{{.State.StartedAt}}", stack.container("db"))
    assert db.returncode != 0 or db.stdout.startswith("0001-01-01")  # never started


def test_a_failed_first_boot_names_the_secret_and_the_volume_is_refused_for_ever(
    images: None, tmp_path: Path
) -> None:
    empty = tmp_path / "costdb_app_password"
    empty.write_text("")
    empty.chmod(0o644)
    name = f"costdb-test-first-boot-{secrets.token_hex(4)}"
    passwords = [
        f"{key}=pw-{key.lower()}" for key in IMAGE_PASSWORDS if key != "COSTDB_APP_PASSWORD"
    ]
    options = [part for value in passwords for part in ("--env", value)]
    started = run(
        *("docker", "run", "--detach", "--name", name, "--restart", "unless-stopped"),
        *options,
        *("--env", "POSTGRES_DB=costdb"),
        *("--env", "COSTDB_APP_PASSWORD_FILE=/run/secrets/costdb_app_password"),
        *("--volume", f"{empty}:/run/secrets/costdb_app_password:ro"),
        *("--volume", f"{name}:/var/lib/postgresql/data"),
        DB_IMAGE,
    )
    try:
        assert started.returncode == 0, started.stderr
        deadline = time.monotonic() + 90  # the first boot fails, then a restart or two
        text = ""
        while "can never become healthy" not in text and time.monotonic() < deadline:
            time.sleep(1)
            logs = run("docker", "logs", name)
            text = logs.stdout + logs.stderr
        assert (
            "20-roles.sh: COSTDB_APP_PASSWORD_FILE: /run/secrets/costdb_app_password is empty"
            in text
        )
        assert "every later start refuses it" in text
        assert "this volume can never become healthy: remove it" in text
        assert health_of(name)[0] != "healthy"
        assert "password authentication failed" not in text
    finally:
        run("docker", "rm", "--force", name)
        run("docker", "volume", "rm", name)


def test_the_db_image_alone_comes_up_with_its_schema_and_a_clean_log(images: None) -> None:
    name = run_detached(DB_IMAGE, "costdb-test-alone")
    try:
        output = wait_for_health(name, "healthy", timeout=120)
        assert output.startswith("healthy: ")
        time.sleep(12)  # a later health check or two, as on a healthy day
        logs = run("docker", "logs", name)
        assert "pw-" not in logs.stdout + logs.stderr
        alarming = [
            line
            for line in (logs.stdout + logs.stderr).splitlines()
            if any(
                level in line
                for level in ("FATAL:", "ERROR:", "PANIC:", "No such file", "Traceback")
            )
        ]
        assert alarming == []  # a healthy start logs no FATAL or ERROR line, no shell noise
    finally:
        run("docker", "rm", "--force", "--volumes", name)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    try:
        with local_registry(tmp_path) as address:
            yield address
    except FileNotFoundError as missing:
        pytest.skip(f"no registry to push to: {missing}")


def _push(local: str, remote: str) -> str:
    """``docker push`` under ``remote``; the digest the registry stored."""
    run("docker", "tag", local, remote, check=True)
    pushed = run("docker", "push", remote)
    assert pushed.returncode == 0, pushed.stderr
    found = re.search(r"digest: (sha256:[0-9a-f]{64})", pushed.stdout)
    assert found is not None, pushed.stdout
    run("docker", "rmi", remote, check=True)
    return found.group(1)


def test_both_images_round_trip_a_registry_and_the_db_image_pulled_by_digest_runs_alone(
    images: None, registry: str
) -> None:
    """What staging does: pull the published image by digest and run it alone to healthy."""
    digests = {
        name: _push(local, f"{registry}/{name}:0.0.0-test")
        for name, local in (("costdb-db", DB_IMAGE), ("costdb-tools", TOOLS_IMAGE))
    }
    pinned = f"{registry}/costdb-db@{digests['costdb-db']}"
    local_id = run("docker", "image", "inspect", "--format", "{{.Id}}", DB_IMAGE, check=True)
    name = ""
    try:
        run("docker", "rmi", "--force", local_id.stdout.strip(), check=True)  # gone from here
        assert run("docker", "image", "inspect", pinned).returncode != 0
        pulled = run("docker", "pull", pinned)
        assert pulled.returncode == 0, pulled.stderr
        assert f"Digest: {digests['costdb-db']}" in pulled.stdout, pulled.stdout
        name = run_detached(pinned, "costdb-test-pulled")
        assert wait_for_health(name, "healthy", timeout=180).startswith("healthy: ")
    finally:
        if name:
            run("docker", "rm", "--force", "--volumes", name)
        if run("docker", "image", "inspect", DB_IMAGE).returncode != 0:
            run("docker", "tag", pinned, DB_IMAGE, check=True)  # for the tests after this one
        run("docker", "rmi", pinned)
    for name, digest in digests.items():
        labels = image_labels(registry, name, digest)
        assert labels["org.opencontainers.image.title"] == name
        for key in ("source", "version", "revision", "licenses", "description"):
            assert labels[f"org.opencontainers.image.{key}"], key
    missing = run("docker", "pull", f"{registry}/costdb-db@sha256:{'0' * 64}")
    assert missing.returncode != 0
    assert "manifest unknown" in missing.stderr or "not found" in missing.stderr
    nobody = f"127.0.0.1:{free_port()}/costdb-tools:0.0.0-test"  # no registry listens there
    run("docker", "tag", TOOLS_IMAGE, nobody, check=True)
    refused = run("docker", "push", nobody)
    run("docker", "rmi", nobody)
    assert refused.returncode != 0
    assert "connection refused" in refused.stderr.lower(), refused.stderr


@pytest.mark.parametrize(
    ("image", "title", "debian_package"),
    [(DB_IMAGE, "costdb-db", "postgresql-17"), (TOOLS_IMAGE, "costdb-tools", "libc6")],
    ids=["db", "tools"],
)
def test_each_image_carries_its_sbom(
    images: None, image: str, title: str, debian_package: str
) -> None:
    shown = run("docker", "run", "--rm", "--entrypoint", "cat", image, SBOM_PATH, check=True)
    sbom = json.loads(shown.stdout)
    assert (sbom["bomFormat"], sbom["metadata"]["component"]["name"]) == ("CycloneDX", title)
    names = {component["name"] for component in sbom["components"]}
    assert "costdb" in names  # installed from its wheel: no PyPI package URL
    purls = [component.get("purl", "") for component in sbom["components"]]
    for prefix in (
        "pkg:pypi/psycopg@",
        "pkg:pypi/sqlalchemy@",
        f"pkg:deb/debian/{debian_package}@",
    ):
        assert any(purl.startswith(prefix) for purl in purls), prefix
    assert not any(purl.startswith("pkg:pypi/cyclonedx") for purl in purls)  # the tool is gone


def test_the_tools_image_runs_as_a_named_non_root_user_and_group(images: None) -> None:
    result = run("docker", "run", "--rm", "--entrypoint", "id", TOOLS_IMAGE, check=True)
    assert result.stdout.strip() == "uid=10001(costdb) gid=10001(costdb) groups=10001(costdb)"


def _image_one_revision_ahead(tmp_path: Path) -> str:
    """The db image of the same code plus a revision 0099 that adds a table."""
    context = tmp_path / "context"
    shutil.copytree(
        REPO,
        context,
        ignore=shutil.ignore_patterns(".venv", ".git", ".costdb", "secrets", "node_modules"),
    )
    (context / "migrations" / "versions" / "0099_container_test.py").write_text(
        revision_source("0099", HEAD, "op.execute('CREATE TABLE upgrade_marker (id int)')")
    )
    manifest_path = context / "src" / "costdb" / "verify" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["revisions"].append("0099")
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    build("db", "costdb-db:test-next", context)
    return "costdb-db:test-next"


def test_a_volume_upgrades_on_start_and_an_older_image_refuses_it(
    stack: Stack, tmp_path: Path
) -> None:
    assert stack.up().returncode == 0
    with psycopg.connect(stack.role("costdb_app").conninfo("test")) as connection:
        connection.execute(
            "INSERT INTO events (trace_id, span_id, project_id, feature, provider, model,"
            " input_tokens, output_tokens, latency_ms, estimated_cost_usd)"
            " VALUES ('t', 's', 'p', 'f', 'openai', 'gpt-4o', 1, 2, 3, 0.01)"
        )
    stack.compose("stop")

    stack.db_image = _image_one_revision_ahead(tmp_path)
    upgraded = stack.up(services=("db",))  # the tools image (without 0099) would say "newer"
    assert upgraded.returncode == 0, upgraded.stderr + stack.logs("db")
    with psycopg.connect(stack.role("costdb_app").conninfo("test")) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == ("0099",)
        assert connection.execute("SELECT count(*) FROM events").fetchone() == (1,)
    assert '"revision": "0099"' in stack.logs("db")
    stack.compose("stop")

    stack.db_image = DB_IMAGE  # older than the volume now
    stack.compose("up", "--no-build", "--detach", "db")
    status, output = wait_for_check_output(stack.container("db"), "failed (exit 3)", timeout=120)
    assert status != "healthy"
    assert "migration sidecar: failed (exit 3)" in output
    assert "database revision 0099 is newer than this image" in output
    assert inspect(stack.container("db"))["State"]["Running"] is True  # type: ignore[index]


# The last commit whose db image shipped schema 0001 alone: a volume it made upgrades through
# every later revision, 0005's functions with their `SET hnsw.*` clauses included.
EARLIER_RELEASE = "1b5ae5924d8232f35bbc2b9fd9934f2061f89bc6"
EARLIER_DB_IMAGE = "costdb-db:test-1b5ae59"


def test_a_volume_made_by_an_earlier_release_upgrades_with_every_row_kept(
    stack: Stack, tmp_path: Path
) -> None:
    build_from_commit(EARLIER_RELEASE, "db", EARLIER_DB_IMAGE, tmp_path)
    # The passwords by today's one-shot (the stack's costdb commands run on the db image, and
    # that release's had no `secrets init`), then the volume by that release's db image alone.
    made = stack.compose("run", "--rm", "--no-deps", "secrets")
    assert made.returncode == 0, made.stderr
    stack.db_image = EARLIER_DB_IMAGE
    first = stack.compose("up", "--no-build", "--no-deps", "--wait", "--wait-timeout", "180", "db")
    assert first.returncode == 0, first.stderr + stack.logs("db")
    app = stack.role("costdb_app")
    with psycopg.connect(app.conninfo("test")) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == ("0001",)
    write_spec_rows(app)
    before = spec_rows(app)
    stack.compose("stop")

    stack.db_image = DB_IMAGE  # today's image on the same volume, with the same secrets
    upgraded = stack.up(services=("db",))
    assert upgraded.returncode == 0, upgraded.stderr + stack.logs("db")
    with psycopg.connect(app.conninfo("test")) as connection:
        assert connection.execute("SELECT version_num FROM alembic_version").fetchone() == (HEAD,)
    assert kept_rows(before, spec_rows(app)) == before
    assert health_of(stack.container("db"))[0] == "healthy"
    assert f'"revision": "{HEAD}"' in stack.logs("db")


def _citus_base_image() -> str:
    """docker/citus/Dockerfile's pinned base (its ``ARG CITUS_IMAGE`` default)."""
    for line in CITUS_DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("ARG CITUS_IMAGE="):
            return line.removeprefix("ARG CITUS_IMAGE=")
    raise AssertionError("docker/citus/Dockerfile names no CITUS_IMAGE")


def test_the_citus_profile_registers_migrates_distributes_and_gates(
    images: None, tmp_path: Path
) -> None:
    base = _citus_base_image()
    if run("docker", "image", "inspect", base, timeout=30).returncode != 0:
        pytest.skip(f"{base} is not in the engine and no registry is reachable")
    build("worker", CITUS_WORKER_IMAGE, dockerfile=CITUS_DOCKERFILE)
    build("coordinator", CITUS_COORDINATOR_IMAGE, dockerfile=CITUS_DOCKERFILE)
    stack = Stack(tmp_path)
    try:
        started = stack.up("--profile", "citus", services=("citus-health",))
        logs = stack.logs("citus-register") + stack.logs("citus-migrate")
        assert started.returncode == 0, started.stderr + logs
        url = f"http://127.0.0.1:{stack.citus_health_port}/readyz"
        with urllib.request.urlopen(url, timeout=10) as response:
            report = json.load(response)
        names = {check["name"] for check in report["checks"]}
        assert "citus:placement:events" in names
        assert {"citus:worker:citus-worker-1:5432", "citus:worker:citus-worker-2:5432"} <= names
        # The application's role writes through the coordinator; the cascade reaches the shards.
        app = stack.role("costdb_app", port=stack.citus_port)
        with psycopg.connect(app.conninfo("costdb-test"), autocommit=True) as connection:
            event = connection.execute(
                "INSERT INTO events (trace_id, span_id, feature, provider, model, input_tokens,"
                " output_tokens, latency_ms, estimated_cost_usd) VALUES"
                " ('t', 's', 'chat', 'openai', 'gpt-4o', 10, 5, 100, 0.001) RETURNING id"
            ).fetchone()
            assert event is not None
            connection.execute("INSERT INTO prompt_analysis (event_id) VALUES (%s)", event)
            connection.execute("DELETE FROM events WHERE id = %s", event)
            left = connection.execute("SELECT count(*) FROM prompt_analysis").fetchone()
        assert left == (0,)
    finally:
        stack.compose("--profile", "citus", "down", "--volumes", "--remove-orphans")
