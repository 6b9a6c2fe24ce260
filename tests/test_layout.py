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
#   0 the library: errors, settings, defaults, schema, the connection layer (costdb.db)
#   1 the verdict core (costdb.verify): catalog read, manifest, checks
#   2 the probe (costdb.health): CLI, one-shot read, kept connection, HTTP server
#   3 the capabilities' functions: migrate, local, prices, budgets, maintenance, backup, tls,
#     export (each feature's /metrics collector among them)
#   4 what every command shares (costdb.command_line): options, context, the lazy group
#   5 each capability's click group (<feature>.commands), thin over its functions
#   6 the entry points: costdb's command line (it only assembles the groups), python -m healthcheck
LAYERS_BY_NUMBER: dict[int, tuple[str, ...]] = {
    0: (
        "costdb",
        "costdb.db",
        "costdb.db.connection",
        "costdb.db.engine",
        "costdb.db.libpq",
        "costdb.db.maintenance_session",
        "costdb.db.retrying",
        "costdb.defaults",
        "costdb.durations",
        "costdb.errors",
        "costdb.exit_codes",
        "costdb.file_writes",
        "costdb.log_format",
        "costdb.paths",
        "costdb.schema",
        "costdb.settings",
    ),
    1: (
        "costdb.verify",
        "costdb.verify.catalog",
        "costdb.verify.checks",
        "costdb.verify.manifest",
        "costdb.verify.server_checks",
    ),
    2: (
        "costdb.health",
        "costdb.health.cli",
        "costdb.health.feature_metrics",
        "costdb.health.http_check",
        "costdb.health.kept_connection",
        "costdb.health.one_shot",
        "costdb.health.report",
        "costdb.health.server",
        "costdb.health.server_certificate",
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
        "costdb.budgets.gauges",
        "costdb.budgets.metrics",
        "costdb.budgets.store",
        "costdb.budgets.webhook",
        "costdb.export",
        "costdb.export.drizzle",
        "costdb.local",
        "costdb.local.cluster",
        "costdb.local.init_scripts",
        "costdb.local.stack",
        "costdb.maintenance",
        "costdb.maintenance.changed_periods",
        "costdb.maintenance.heartbeat",
        "costdb.maintenance.retention",
        "costdb.maintenance.rollup",
        "costdb.maintenance.rollup_pass",
        "costdb.maintenance.similar",
        "costdb.migrate",
        "costdb.migrate.distribute",
        "costdb.migrate.extension_libraries",
        "costdb.migrate.history",
        "costdb.migrate.definitions",
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
        "costdb.prices.metrics",
        "costdb.prices.names",
        "costdb.prices.price_list",
        "costdb.prices.pricing",
        "costdb.prices.repricing",
        "costdb.prices.sync",
        "costdb.prices.unpriced",
        "costdb.tls",
        "costdb.tls.certificates",
        "costdb.tls.server_files",
        "costdb.tls.stack_secrets",
    ),
    4: (
        "costdb.command_line",
        "costdb.command_line.context",
        "costdb.command_line.lazy_group",
        "costdb.command_line.options",
        "costdb.command_line.scheduling",
    ),
    5: (
        "costdb.backup.commands",
        "costdb.budgets.commands",
        "costdb.export.commands",
        "costdb.health.commands",
        "costdb.local.commands",
        "costdb.maintenance.commands",
        "costdb.migrate.commands",
        "costdb.prices.commands",
        "costdb.tls.commands",
    ),
    6: (
        "costdb.__main__",
        "costdb.cli",
        "healthcheck",
        "healthcheck.__main__",
        "healthcheck.http_check",
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


FEATURES = ("backup", "budgets", "export", "local", "maintenance", "migrate", "prices", "tls")


def _feature(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "costdb" and parts[1] in FEATURES else None


def test_nothing_in_costdb_imports_the_healthcheck_entry_point() -> None:
    crossing = [
        f"{module} imports {target}"
        for module, path in _modules().items()
        if module.startswith("costdb")
        for target in _imported(path)
        if target.split(".")[0] == "healthcheck"
    ]
    assert crossing == []


def test_the_probe_imports_no_feature() -> None:
    """The features' series reach /metrics through costdb.health.feature_metrics's collectors,
    never by the probe importing a feature (the local stack may serve the probe: one way)."""
    crossing = [
        f"{module} imports {target}"
        for module, path in _modules().items()
        if module.startswith("costdb.health") and module != "costdb.health.commands"
        for target in _imported(path)
        if _feature(target)
    ]
    assert crossing == []


def test_click_lives_in_the_command_modules_only() -> None:
    """A capability's functions return data; its click group is the one module beside them."""
    importing_click = sorted(
        module
        for module, path in _modules().items()
        if _feature(module) and "click" in _imported_any(path)
    )
    assert importing_click == sorted(
        module for module in _modules() if _feature(module) and module.endswith(".commands")
    )


def _imported_any(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
    return names


def test_the_migration_runner_and_the_local_stack_do_not_import_each_other() -> None:
    """``costdb local up`` migrates with the runner: its command wires the two, the stack's
    own modules and the runner never import each other."""
    crossing = [
        f"{module} imports {target}"
        for module, path in _modules().items()
        if not module.endswith(".commands")
        for target in _imported(path)
        if {_feature(module), _feature(target)} == {"migrate", "local"}
    ]
    assert crossing == []


def test_the_root_command_lists_each_group_with_its_own_summary() -> None:
    """``costdb --help`` reads the summaries from ``costdb.cli.COMMANDS`` without importing
    any group: they must say what the groups say of themselves."""
    from costdb.cli import COMMANDS  # noqa: PLC0415
    from costdb.command_line.lazy_group import LazyCommand  # noqa: PLC0415

    for name, (target, summary) in COMMANDS.items():
        command = LazyCommand(target, summary).load()
        assert command.name == name
        assert command.get_short_help_str(limit=1000) == summary


def _after_running(argv: list[str], expression: str) -> str:
    """``expression`` printed by a process that ran ``costdb *argv`` (what it imported)."""
    code = (
        f"import sys\nsys.argv = ['costdb', *{argv!r}]\n"
        "from costdb.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print({expression})\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=clean_environment(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return result.stdout.strip().splitlines()[-1] + "\n" + result.stderr


def test_the_root_help_imports_no_command_module() -> None:
    found = _after_running(["--help"], "sorted(m for m in sys.modules if m.endswith('.commands'))")
    assert found.startswith("[]\n"), found


HEAVY = ("psycopg", "sqlalchemy", "alembic", "prometheus_client", "numpy")


@pytest.mark.parametrize("argv", [["--help"], ["health", "--help"], ["local", "--help"]])
def test_light_commands_import_no_driver_orm_or_migration_library(argv: list[str]) -> None:
    found = _after_running(
        argv, f"sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))"
    )
    assert found.startswith("[]\n"), found


def test_costdb_health_does_not_even_import_click() -> None:
    found = _after_running(["health", "--help"], "'click' in sys.modules")
    assert found.startswith("False\n"), found


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
    assert len(readme.splitlines()) <= 120
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
