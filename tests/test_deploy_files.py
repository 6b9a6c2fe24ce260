"""The Dockerfile, the Compose file, the Kubernetes example and the workflow, read as data.

No engine runs here, so what they would run is checked by parsing them: the start-up order,
the commands (each must parse as a real costdb command), the variables (each must configure
the probe and the sidecar), the secrets, and the init scripts they ship.
"""

from __future__ import annotations

import os
import re
import shlex
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from costdb.settings import load_settings
from tests.cli_runner import clean_environment, run_module

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
        if match := re.match(r"FROM \S+ AS (\w+)", line):
            current = match.group(1)
        stages.setdefault(current, []).append(line)
    return stages


def test_dockerfile_db_target_is_pinned_and_ships_the_init_scripts() -> None:
    stages = _dockerfile_stages()
    arguments = dict(re.findall(r"ARG (\w+)=(\S+)", (REPO / "Dockerfile").read_text()))
    assert re.fullmatch(r"pgvector/pgvector:0\.8\.\d+-pg17-\w+", arguments["PGVECTOR_IMAGE"])
    db = stages["db"]
    assert "COPY --chmod=0755 initdb/ /docker-entrypoint-initdb.d/" in db
    assert "STOPSIGNAL SIGINT" in db
    healthcheck = next(line for line in db if line.startswith("HEALTHCHECK"))
    assert "--host=127.0.0.1" in healthcheck
    assert "--start-interval" in healthcheck


def test_dockerfile_tools_target_runs_costdb_as_a_non_root_user() -> None:
    tools = _dockerfile_stages()["tools"]
    assert any(re.fullmatch(r"USER 10001(:10001)?", line) for line in tools)
    assert 'ENTRYPOINT ["costdb"]' in tools
    assert 'CMD ["migrate"]' in tools
    assert any("healthcheck.http_check" in line for line in tools if line.startswith("HEALTHCHECK"))


def test_dockerignore_keeps_secrets_and_local_data_out_of_the_build() -> None:
    rules = (REPO / ".dockerignore").read_text().splitlines()
    assert rules[rules.index("*")] == "*"  # everything excluded, then only what images need
    assert {"!src/", "!healthcheck/", "!migrations/", "!initdb/", "!pyproject.toml"} <= set(rules)


def test_compose_starts_everything_in_order() -> None:
    services = _yaml("docker-compose.yml")["services"]
    assert services["migrate"]["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert services["healthcheck"]["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"}
    }
    assert services["example-app"]["depends_on"] == {
        "healthcheck": {"condition": "service_healthy"}
    }
    assert services["example-app"]["profiles"] == ["example"]
    assert services["migrate"]["restart"] == "no"
    db = services["db"]
    assert {"start_period", "start_interval"} <= set(db["healthcheck"])
    assert "--host=127.0.0.1" in db["healthcheck"]["test"]
    assert db["shm_size"] == "1gb"
    assert any(volume.endswith(":/var/lib/postgresql/data") for volume in db["volumes"])


@pytest.mark.parametrize("service", ["migrate", "healthcheck"])
def test_compose_commands_parse_as_costdb_commands(service: str) -> None:
    command = _yaml("docker-compose.yml")["services"][service]["command"]
    result = run_module("costdb", *command, "--help", env=clean_environment())
    assert result.returncode == 0, result.stderr


def _secret_names_created_by_the_script() -> set[str]:
    script = (REPO / "scripts" / "generate-secrets.sh").read_text()
    names = re.search(r"for name in ([^;]+);", script)
    assert names is not None
    return set(shlex.split(names.group(1)))


def test_compose_secrets_are_the_files_the_script_generates() -> None:
    compose = _yaml("docker-compose.yml")
    files = {name: spec["file"] for name, spec in compose["secrets"].items()}
    assert set(files) == _secret_names_created_by_the_script()
    assert all(path == f"./secrets/{name}" for name, path in files.items())
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
    assert mounted.name in spec["secrets"]
    secret = tmp_path / mounted.name
    secret.write_text("pw\n")
    settings = load_settings(environment | {"PGPASSWORD_FILE": str(secret)})
    assert (settings.host, settings.user, settings.dbname, settings.password) == (
        "db",
        role,
        "costdb",
        "pw",
    )


def test_init_scripts_run_in_order_with_the_roles_after_the_extension() -> None:
    scripts = sorted(path.name for path in (REPO / "initdb").iterdir())
    assert scripts == ["10-extension.sql", "20-roles.sh"]
    assert os.access(REPO / "initdb" / "20-roles.sh", os.X_OK)


def _kubernetes() -> dict[str, dict[str, Any]]:
    documents = {}
    for name in ("db.yaml", "health.yaml"):
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


def test_kubernetes_database_probes_over_tcp_and_reads_secrets_from_files() -> None:
    container = _kubernetes()["StatefulSet/costdb-db"]["spec"]["template"]["spec"]["containers"][0]
    assert "--host=127.0.0.1" in container["startupProbe"]["exec"]["command"]
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


def test_workflow_runs_the_ci_script_and_the_container_smoke_test() -> None:
    jobs = _yaml(".github/workflows/ci.yml")["jobs"]
    runs = {job: [step.get("run", "") for step in spec["steps"]] for job, spec in jobs.items()}
    assert "bash .ci/run" in runs["test"]
    assert any("pytest -m docker" in command for command in runs["containers"])


def test_kubernetes_images_carry_the_version_of_pyproject() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    images = _yaml("deploy/kubernetes/kustomization.yaml")["images"]
    assert {image["name"]: image["newTag"] for image in images} == {
        "costdb-db": version,
        "costdb-tools": version,
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
