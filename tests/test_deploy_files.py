"""The Dockerfile, the Compose file, the Kubernetes example and the workflow, read as data.

No engine runs here, so what they would run is checked by parsing them: the start-up order,
the commands (each must parse as a real costdb command), the variables (each must configure
the probe and the sidecar), the secrets, and the init scripts they ship.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from costdb.settings import load_settings
from costdb.tls.stack_secrets import NAMES
from testsupport.cli_runner import clean_environment, run_module

REPO = Path(__file__).resolve().parents[1]


def _yaml(path: str) -> Any:
    return yaml.safe_load((REPO / path).read_text())


def _dockerfile_stages() -> dict[str, list[str]]:
    """Instructions per stage (continuation lines joined), keyed by the stage's name."""
    text = re.sub(r"\\\n\s*", " ", (REPO / "Dockerfile").read_text())
    stages: dict[str, list[str]] = {}
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if match := re.match(r"FROM \S+ AS ([\w-]+)", line):
            current = match.group(1)
        stages.setdefault(current, []).append(line)
    return stages


def test_dockerfile_needs_no_frontend_image_and_pins_its_bases() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert not text.startswith("# syntax=")  # BuildKit would pull a frontend image to build
    arguments = dict(re.findall(r"ARG (\w+)=(\S+)", text))
    assert arguments["PGVECTOR_IMAGE"] == "pgvector/pgvector:0.8.6-pg17-bookworm"
    assert re.fullmatch(r"python:3\.\d+-slim-\w+", arguments["PYTHON_IMAGE"])


def test_dockerfile_db_target_migrates_on_start_and_probes_itself() -> None:
    db = _dockerfile_stages()["db"]
    assert "COPY --chmod=0755 initdb/ /docker-entrypoint-initdb.d/" in db
    assert "STOPSIGNAL SIGINT" in db
    assert 'ENTRYPOINT ["db-entrypoint.sh"]' in db
    assert 'CMD ["postgres"]' in db
    healthcheck = next(line for line in db if line.startswith("HEALTHCHECK"))
    assert 'CMD ["db-healthcheck.sh"]' in healthcheck
    assert "--start-interval" in healthcheck


def test_the_images_install_only_hash_pinned_dependencies() -> None:
    stages = _dockerfile_stages()
    for stage in ("db-python", "tools"):
        installs = [line for line in stages[stage] if "pip install" in line]
        assert any("--require-hashes" in line and "requirements.lock" in line for line in installs)
        assert all("--no-deps /dist/*.whl" in line for line in installs if "/dist" in line)


def test_the_lock_pins_every_dependency_of_pyproject() -> None:
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = dict(re.findall(r"^([a-z0-9-]+)==(\S+)", (REPO / "requirements.lock").read_text(), re.M))
    for dependency in map(Requirement, dependencies):
        name = canonicalize_name(dependency.name)
        assert name in pins, f"{name} is not in requirements.lock: run `make lock`"
        assert dependency.specifier.contains(pins[name]), f"{name}=={pins[name]}: run `make lock`"
        for extra in dependency.extras:  # psycopg[binary] -> psycopg-binary
            assert f"{name}-{extra}" in pins


def test_dockerfile_tools_target_runs_costdb_as_a_non_root_user() -> None:
    tools = _dockerfile_stages()["tools"]
    assert "USER 10001:10001" in tools
    assert any("groupadd --system --gid 10001 costdb" in line for line in tools)
    assert 'ENTRYPOINT ["costdb"]' in tools
    assert 'CMD ["migrate"]' in tools
    assert any("healthcheck.http_check" in line for line in tools if line.startswith("HEALTHCHECK"))


def test_dockerignore_keeps_secrets_and_local_data_out_of_the_build() -> None:
    rules = (REPO / ".dockerignore").read_text().splitlines()
    assert rules[rules.index("*")] == "*"  # everything excluded, then only what images need
    assert {"!src/", "!healthcheck/", "!migrations/", "!initdb/", "!pyproject.toml"} <= set(rules)


def test_compose_starts_everything_in_order() -> None:
    services = _yaml("docker-compose.yml")["services"]
    made = {"secrets": {"condition": "service_completed_successfully"}}
    assert services["healthcheck"]["depends_on"] == made | {"db": {"condition": "service_healthy"}}
    assert services["example-app"]["depends_on"] == made | {"db": {"condition": "service_healthy"}}
    assert services["example-app"]["profiles"] == ["example"]
    assert services["example-app"]["init"] is True
    assert "disable" not in services["example-app"]["healthcheck"]  # `up --wait` needs one
    assert services["migrate"]["profiles"] == ["tools"]
    assert services["migrate"]["restart"] == "no"
    db = services["db"]
    assert db["healthcheck"]["test"] == ["CMD", "db-healthcheck.sh"]
    assert {"start_period", "start_interval"} <= set(db["healthcheck"])
    assert db["shm_size"] == "1gb"
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in db["volumes"])


@pytest.mark.parametrize("service", ["migrate", "healthcheck", "secrets", "rollup", "prices"])
def test_compose_commands_parse_as_costdb_commands(service: str) -> None:
    command = _yaml("docker-compose.yml")["services"][service]["command"]
    result = run_module("costdb", *command, "--help", env=clean_environment())
    assert result.returncode == 0, result.stderr


def _secret_names_created_by_the_script() -> set[str]:
    script = (REPO / "scripts" / "generate-secrets.sh").read_text()
    names = re.search(r"for name in ([^;]+);", script)
    assert names is not None
    return set(shlex.split(names.group(1)))


def test_compose_makes_the_passwords_the_script_would_and_every_service_reads_them() -> None:
    compose = _yaml("docker-compose.yml")
    assert set(NAMES) == _secret_names_created_by_the_script()
    maker = compose["services"]["secrets"]
    assert maker["command"][:2] == ["secrets", "init"]
    assert "/project/secrets" in maker["command"] and ".:/project:ro" in maker["volumes"]
    readers = [
        (name, spec)
        for name, spec in compose["services"].items()
        if any("/run/secrets/" in str(value) for value in (spec.get("environment") or {}).values())
    ]
    assert len(readers) >= 10
    for name, spec in readers:
        assert "secrets:/run/secrets:ro" in spec["volumes"], name
        condition = spec["depends_on"]["secrets"]["condition"]
        assert condition == "service_completed_successfully", name
    assert "secrets" not in compose  # no bind-mounted secret that must exist before `up`
    gitignore = (REPO / ".gitignore").read_text().splitlines()
    assert "/secrets/" in gitignore


@pytest.mark.parametrize(
    ("service", "role"), [("migrate", "costdb_owner"), ("healthcheck", "costdb_readonly")]
)
def test_compose_environment_configures_each_tool(service: str, role: str, tmp_path: Path) -> None:
    spec = _yaml("docker-compose.yml")["services"][service]
    environment = {
        key: re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value))
        for key, value in spec["environment"].items()
    }
    mounted = Path(environment["PGPASSWORD_FILE"])
    assert mounted.name in NAMES and "secrets:/run/secrets:ro" in spec["volumes"]
    secret = tmp_path / mounted.name
    secret.write_text("pw\n")
    settings = load_settings(environment | {"PGPASSWORD_FILE": str(secret)})
    assert (settings.host, settings.user, settings.dbname, settings.password) == (
        "db",
        role,
        "costdb",
        "pw",
    )


def test_init_scripts_mark_the_first_boot_from_first_to_last() -> None:
    scripts = sorted(path.name for path in (REPO / "initdb").iterdir())
    assert scripts == [
        "00-first-boot-started.sh",
        "10-extension.sql",
        "20-roles.sh",
        "30-privileges.sql",
        "99-first-boot-done.sh",
    ]
    assert all(
        os.access(REPO / "initdb" / name, os.X_OK) for name in scripts if name.endswith(".sh")
    )


def _kubernetes() -> dict[str, dict[str, Any]]:
    documents = {}
    for name in ("db.yaml", "health.yaml", "maintenance.yaml"):
        for document in yaml.safe_load_all((REPO / "deploy" / "kubernetes" / name).read_text()):
            documents[f"{document['kind']}/{document['metadata']['name']}"] = document
    return documents


def test_kubernetes_migrates_in_an_init_container_and_probes_the_health_server() -> None:
    pod = _kubernetes()["Deployment/costdb-health"]["spec"]["template"]["spec"]
    (migrate,) = pod["initContainers"]
    (health,) = pod["containers"]
    assert migrate["args"][0] == "migrate"
    assert health["args"][:2] == ["health", "serve"]
    assert health["startupProbe"]["httpGet"]["path"] == "/readyz"
    assert health["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert health["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert pod["securityContext"]["runAsNonRoot"] is True
    for container, role in ((migrate, "costdb_owner"), (health, "costdb_readonly")):
        env = {item["name"]: item["value"] for item in container["env"]}
        assert env["PGUSER"] == role
        mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
        assert str(Path(env["PGPASSWORD_FILE"]).parent) in mounts
        result = run_module("costdb", *container["args"], "--help", env=clean_environment())
        assert result.returncode == 0, result.stderr


def test_kubernetes_database_is_ready_on_the_probe_and_reads_secrets_from_files() -> None:
    pod = _kubernetes()["StatefulSet/costdb-db"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["startupProbe"]["exec"]["command"] == ["db-healthcheck.sh"]
    assert container["readinessProbe"]["exec"]["command"] == ["db-healthcheck.sh"]
    assert "--host=127.0.0.1" in container["livenessProbe"]["exec"]["command"]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert all(
        env[f"{name}_FILE"].startswith("/run/secrets/costdb/")
        for name in (
            "POSTGRES_PASSWORD",
            "COSTDB_OWNER_PASSWORD",
            "COSTDB_APP_PASSWORD",
            "COSTDB_READONLY_PASSWORD",
        )
    )


def _pods() -> dict[str, dict[str, Any]]:
    return {
        name: document["spec"]["template"]["spec"]
        for name, document in _kubernetes().items()
        if "template" in document["spec"]
    }


def test_kubernetes_pods_are_locked_down_and_sized() -> None:
    for name, pod in _pods().items():
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in pod.get("initContainers", []) + pod["containers"]:
            context = container["securityContext"]
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert {"requests", "limits"} <= set(container["resources"]), name
            if container["image"] == "costdb-tools":
                assert context["readOnlyRootFilesystem"] is True, name


def _seconds(value: str) -> float:
    return float(value.rstrip("s"))


def _option(args: list[str], name: str, default: float) -> float:
    return float(args[args.index(name) + 1]) if name in args else default


def test_every_probe_gives_up_before_its_orchestrator_does() -> None:
    """A slow database is reported by the probe itself, never by a caller timing it out."""
    server_default = 5.0  # python -m healthcheck serve --timeout default
    pods = _pods()
    health = pods["Deployment/costdb-health"]["containers"][0]
    server_timeout = _option(health["args"], "--timeout", server_default)
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert "timeoutSeconds" in health[probe], probe  # the kubelet's default is 1 s
        if probe != "livenessProbe":
            assert server_timeout < health[probe]["timeoutSeconds"], probe
    db = pods["StatefulSet/costdb-db"]["containers"][0]
    db_env = {item["name"]: item["value"] for item in db["env"]}
    for probe in ("startupProbe", "readinessProbe"):
        assert float(db_env["COSTDB_HEALTH_TIMEOUT"]) < db[probe]["timeoutSeconds"], probe
    # The images' own checks: db-healthcheck.sh's default probe bound, and the tools image's
    # HTTP check, which waits longer than the server's probe and less than Docker does.
    stages = _dockerfile_stages()
    db_check = next(line for line in stages["db"] if line.startswith("HEALTHCHECK"))
    script = (REPO / "docker" / "db-healthcheck.sh").read_text()
    script_default = float(re.search(r"COSTDB_HEALTH_TIMEOUT:-(\d+)", script).group(1))  # type: ignore[union-attr]
    assert script_default < _seconds(re.search(r"--timeout=(\S+)", db_check).group(1))  # type: ignore[union-attr]
    tools_check = next(line for line in stages["tools"] if line.startswith("HEALTHCHECK"))
    http_timeout = float(re.search(r'"--timeout", "(\d+)"', tools_check).group(1))  # type: ignore[union-attr]
    docker_timeout = _seconds(re.search(r"--timeout=(\S+)", tools_check).group(1))  # type: ignore[union-attr]
    assert server_default < http_timeout < docker_timeout
    compose = _yaml("docker-compose.yml")["services"]
    test = compose["healthcheck"]["healthcheck"]["test"]
    assert (
        server_default
        < float(test[test.index("--timeout") + 1])
        < _seconds(compose["healthcheck"]["healthcheck"]["timeout"])
    )
    assert script_default < _seconds(compose["db"]["healthcheck"]["timeout"])


def test_workflow_runs_the_ci_script() -> None:
    jobs = _yaml(".github/workflows/ci.yml")["jobs"]
    runs = {job: [step.get("run", "") for step in spec["steps"]] for job, spec in jobs.items()}
    assert "bash .ci/run" in runs["test"]


def test_kubernetes_images_carry_the_version_of_pyproject() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    images = _yaml("deploy/kubernetes/kustomization.yaml")["images"]
    assert {image["name"]: image["newTag"] for image in images} == {
        "costdb-db": version,
        "costdb-tools": version,
        "costdb-exporter": version,
    }
    pods = [
        doc["spec"]["template"]["spec"]
        for doc in _kubernetes().values()
        if "template" in doc["spec"]
    ]
    assert len(pods) == 2
    for pod in pods:
        for container in pod.get("initContainers", []) + pod["containers"]:
            assert ":" not in container["image"]  # the tag comes from kustomization.yaml


@pytest.mark.parametrize(
    "job", ["costdb-rollup", "costdb-retention", "costdb-prices", "costdb-budgets"]
)
def test_kubernetes_runs_the_maintenance_jobs_as_the_app_role(job: str) -> None:
    cron = _kubernetes()[f"CronJob/{job}"]["spec"]
    pod = cron["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert cron["concurrencyPolicy"] == "Forbid"
    assert pod["securityContext"]["runAsNonRoot"] is True
    env = {item["name"]: item["value"] for item in container["env"] if "value" in item}
    assert env["PGUSER"] == "costdb_app"
    mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
    assert str(Path(env["PGPASSWORD_FILE"]).parent) in mounts
    result = run_module("costdb", *container["args"], "--help", env=clean_environment())
    assert result.returncode == 0, result.stderr


def _release_notes(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(REPO / "scripts" / "release-notes.sh"), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_release_notes_are_the_changelogs_section_or_one_line_refusing() -> None:
    notes = _release_notes("0.1.0")
    assert notes.returncode == 0, notes.stderr
    assert notes.stdout.startswith("### Added\n")
    assert "## [" not in notes.stdout  # the next section is not included
    missing = _release_notes("9.9.9")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.strip().splitlines() == [
        'release-notes: error: CHANGELOG.md has no entry for 9.9.9 (add a "## [9.9.9] -'
        ' YYYY-MM-DD" section)'
    ]
    assert _release_notes().returncode == 2


def test_the_release_workflow_publishes_signed_multiarch_images_with_notes() -> None:
    workflow = _yaml(".github/workflows/release.yml")
    assert workflow[True]["push"]["tags"] == ["v*"]  # YAML reads the key `on` as True
    jobs = workflow["jobs"]
    notes_step = " ".join(step.get("run", "") for step in jobs["notes"]["steps"])
    assert "scripts/release-notes.sh" in notes_step
    images = jobs["images"]
    assert images["strategy"]["matrix"]["target"] == ["db", "tools", "exporter"]
    assert images["permissions"]["id-token"] == "write"
    steps = {step.get("id") or step.get("name") or step["uses"]: step for step in images["steps"]}
    build = steps["build"]["with"]
    assert build["platforms"] == "linux/amd64,linux/arm64"
    assert (build["sbom"], build["provenance"], build["push"]) == (True, "mode=max", True)
    tags = steps["meta"]["with"]["tags"]
    for pattern in ("pattern={{version}}", "pattern={{major}}.{{minor}}", "prefix=pg17-"):
        assert pattern in tags
    assert "cosign sign --yes" in steps["sign the pushed digest (keyless)"]["run"]
    assert jobs["release"]["permissions"]["contents"] == "write"


def test_the_default_up_is_one_image_and_every_profile_is_in_the_one_table() -> None:
    services = _yaml("docker-compose.yml")["services"]
    default = {name: spec for name, spec in services.items() if not spec.get("profiles")}
    assert set(default) == {"secrets", "db", "prices", "rollup"}
    assert {spec["image"] for spec in default.values()} == {"${COSTDB_DB_IMAGE:-costdb-db:dev}"}
    long_running = [name for name, spec in default.items() if spec.get("restart") != "no"]
    assert long_running == ["db", "rollup"]
    page = (REPO / "docs" / "deploying.md").read_text(encoding="utf-8")
    section = page.split("## Compose profiles", 1)[1].split("\n\n")
    table = next(block for block in section if block.startswith("| profile |"))
    documented = set(re.findall(r"^\| `([a-z]+)` \|", table, flags=re.MULTILINE))
    used = {profile for spec in services.values() for profile in spec.get("profiles", [])}
    assert documented == used
