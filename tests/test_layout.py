"""The shape of the code: one dependency direction, one exit-code contract, fast start-up,
and a wheel that carries the top-level folders the design card names."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from costdb.errors import CostdbError
from costdb.exit_codes import ExitCode
from testsupport.cli_runner import clean_environment
from testsupport.migration_fixtures import HEAD

REPO = Path(__file__).resolve().parents[1]

# Lower layers never import higher ones. Every module is listed: a new one must be placed.
#   0 the library: errors, settings, defaults, schema, prices, the connection layer (costdb.db)
#   1 the verdict core (costdb.verify): catalog read, manifest, checks
#   2 the probe's faces (healthcheck): CLI, one-shot read, kept connection, HTTP server
#   3 the workers: migration runner, local stack, maintenance
#   4 the command line
LAYERS_BY_NUMBER: dict[int, tuple[str, ...]] = {
    0: (
        "costdb",
        "costdb.budget_gauges",
        "costdb.db",
        "costdb.db.connection",
        "costdb.db.engine",
        "costdb.db.libpq",
        "costdb.db.maintenance_session",
        "costdb.db.retrying",
        "costdb.defaults",
        "costdb.drizzle_schema",
        "costdb.errors",
        "costdb.exit_codes",
        "costdb.file_writes",
        "costdb.log_format",
        "costdb.paths",
        "costdb.pricing",
        "costdb.schema",
        "costdb.settings",
        "costdb.stack_secrets",
        "costdb.tls",
        "costdb.tls.certificates",
        "costdb.tls.server_files",
        "costdb.unpriced",
    ),
    1: (
        "costdb.verify",
        "costdb.verify.catalog",
        "costdb.verify.checks",
        "costdb.verify.manifest",
        "costdb.verify.server_checks",
    ),
    2: (
        "healthcheck",
        "healthcheck.__main__",
        "healthcheck.cli",
        "healthcheck.http_check",
        "healthcheck.kept_connection",
        "healthcheck.one_shot",
        "healthcheck.report",
        "healthcheck.server",
        "healthcheck.server_certificate",
    ),
    3: (
        "costdb.backup",
        "costdb.backup.history",
        "costdb.backup.pgbackrest",
        "costdb.backup.restore",
        "costdb.backup.schedule",
        "costdb.backup.take",
        "costdb.budgets",
        "costdb.budgets.alerts",
        "costdb.budgets.check",
        "costdb.budgets.delivery",
        "costdb.budgets.store",
        "costdb.budgets.webhook",
        "costdb.local",
        "costdb.local.cluster",
        "costdb.local.init_scripts",
        "costdb.local.stack",
        "costdb.maintenance",
        "costdb.maintenance.changed_periods",
        "costdb.maintenance.durations",
        "costdb.maintenance.heartbeat",
        "costdb.maintenance.repricing",
        "costdb.maintenance.retention",
        "costdb.maintenance.rollup",
        "costdb.maintenance.scheduling",
        "costdb.maintenance.similar",
        "costdb.migrate",
        "costdb.migrate.distribute",
        "costdb.migrate.extension_libraries",
        "costdb.migrate.history",
        "costdb.migrate.lock",
        "costdb.migrate.manifest_builder",
        "costdb.migrate.placements",
        "costdb.migrate.runner",
        "costdb.migrate.scripts",
        "costdb.migrate.sidecar",
        "costdb.migrate.status",
        "costdb.prices",
        "costdb.prices.conversion",
        "costdb.prices.match_rules",
        "costdb.prices.names",
        "costdb.prices.price_list",
        "costdb.prices.sync",
    ),
    4: (
        "costdb.__main__",
        "costdb.backup_commands",
        "costdb.budget_commands",
        "costdb.cli",
        "costdb.command_options",
        "costdb.commands",
    ),
}
LAYERS = {module: layer for layer, modules in LAYERS_BY_NUMBER.items() for module in modules}


def _modules() -> dict[str, Path]:
    found = {}
    for root, package in (
        (REPO / "src" / "costdb", "costdb"),
        (REPO / "healthcheck", "healthcheck"),
    ):
        for path in root.rglob("*.py"):
            parts = [package, *path.relative_to(root).with_suffix("").parts]
            found[".".join(part for part in parts if part != "__init__")] = path
    return found


def _imported(path: Path) -> set[str]:
    """Every costdb or healthcheck module ``path`` imports, at any depth of the file."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.split(".")[0] in ("costdb", "healthcheck")}


def test_every_module_has_its_place_in_the_layers() -> None:
    assert sorted(_modules()) == sorted(LAYERS)


def test_no_module_imports_a_layer_above_it() -> None:
    upward = [
        f"{module} (layer {LAYERS[module]}) imports {target} (layer {LAYERS[target]})"
        for module, path in _modules().items()
        for target in sorted(_imported(path))
        if LAYERS[target] > LAYERS[module]
    ]
    assert upward == []


def test_the_runner_the_verdict_core_and_maintenance_import_nothing_of_the_probe() -> None:
    """The runner verifies with the library's verdict core; the probe is one of its users."""
    crossing = [
        f"{module} imports {target}"
        for module, path in _modules().items()
        if module.startswith(
            ("costdb.migrate", "costdb.verify", "costdb.maintenance", "costdb.prices")
        )
        for target in _imported(path)
        if target.split(".")[0] == "healthcheck"
    ]
    assert crossing == []


def test_the_migration_runner_and_the_local_stack_do_not_import_each_other() -> None:
    crossing = [
        f"{module} imports {target}"
        for module, path in _modules().items()
        for target in _imported(path)
        if {module.split(".")[:2][-1], target.split(".")[:2][-1]} == {"migrate", "local"}
        and module.startswith("costdb.")
        and target.startswith("costdb.")
    ]
    assert crossing == []


HEAVY = ("psycopg", "sqlalchemy", "alembic", "prometheus_client", "numpy")


@pytest.mark.parametrize("argv", [["--help"], ["health", "--help"], ["local", "--help"]])
def test_light_commands_import_no_driver_orm_or_migration_library(argv: list[str]) -> None:
    code = (
        "import sys\n"
        f"sys.argv = ['costdb', *{argv!r}]\n"
        "from costdb.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=clean_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr


def test_costdb_health_does_not_even_import_click() -> None:
    code = (
        "import sys\nsys.argv = ['costdb', 'health', '--help']\n"
        "from costdb.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('click' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.stdout.strip().splitlines()[-1] == "False", result.stdout + result.stderr


def _error_classes(base: type[CostdbError]) -> list[type[CostdbError]]:
    found = []
    for subclass in base.__subclasses__():
        found += [subclass, *_error_classes(subclass)]
    return found


def test_every_error_exits_with_a_member_of_the_contract() -> None:
    for module in _modules():
        if module not in ("costdb.__main__", "healthcheck.__main__"):
            __import__(module)
    errors: list[type[CostdbError]] = [CostdbError, *_error_classes(CostdbError)]
    assert len(errors) >= 9
    assert all(isinstance(error.exit_code, ExitCode) for error in errors)
    used = {error.exit_code for error in errors}
    assert used >= set(ExitCode) - {ExitCode.OK}


def test_the_commands_page_table_is_the_contract() -> None:
    page = (REPO / "docs" / "commands.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| (\d) \| (.+?) \|$", page, flags=re.MULTILINE))
    assert rows == {str(int(code)): code.description for code in ExitCode}


def test_the_migration_guide_names_the_next_revision_id() -> None:
    guide = (REPO / "docs" / "writing-a-migration.md").read_text(encoding="utf-8")
    assert re.findall(r"--rev-id (\d{4})", guide) == [f"{int(HEAD) + 1:04d}"]


def test_the_readme_is_a_front_door_whose_links_resolve() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200
    for document in (REPO / "README.md", *(REPO / "docs").glob("*.md")):
        for target in re.findall(r"\]\(([^)#]+?)(?:#[^)]*)?\)", document.read_text()):
            if "://" not in target:
                assert (document.parent / target).exists(), f"{document.name} links {target}"


def test_migrate_help_lists_the_contract() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "costdb", "migrate", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    flat = " ".join(result.stdout.split())
    for code in ExitCode:
        assert f"{int(code)} {code.description}" in flat


def test_the_wheel_carries_migrations_init_scripts_and_the_probe(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = tmp_path.glob("costdb-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "costdb/migrations/env.py",
        "costdb/migrations/script.py.mako",
        "costdb/migrations/versions/0001_initial_schema.py",
        "costdb/initdb/20-roles.sh",
        "costdb/py.typed",
        "costdb/verify/manifest.json",
        "healthcheck/py.typed",
    ):
        assert expected in names
    top_level = {name.split("/")[0] for name in names if not name.startswith("costdb-")}
    assert top_level == {"costdb", "healthcheck"}
