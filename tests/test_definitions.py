"""The database's functions and views, one versioned file each (``costdb.migrate.definitions``):
every version is what its revision left in the database, the newest is the current one, a
shipped version never changes, and a new revision installs and restores versions by name."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic import command

from costdb.db.engine import connect
from costdb.migrate.definitions import Version, definitions_folder, version, versions
from costdb.migrate.scripts import alembic_config
from costdb.settings import DatabaseSettings
from costdb.verify.manifest import load_manifest
from testsupport.definitions_catalog import current_definitions
from testsupport.migration_fixtures import HEAD, SHIPPED_REVISIONS, ScriptCopy
from testsupport.servers import migrate_to

pytestmark = pytest.mark.slow
LAST_INLINE_REVISION = "0014"
"""The revisions up to this one shipped their SQL inline; they never change."""


KNOWN_DOWNGRADE_DRIFT = {("costdb_event_cost", "0008", "0013"): 2}
"""Found by this test, and kept since shipped revisions never change: 0014's downgrade restores
0007's SQL-language costdb_event_cost (version 2), not 0008's PL/pgSQL one (version 3), and it
stays so down to 0008. The two run the same query (the same results); version 2 only keeps no
plan for the session. Upgrading again installs version 4, as on every path."""


def _expected_at(revision: str, *, downgraded: bool = False) -> dict[str, Version]:
    """Each definition's version a database at ``revision`` has (the newest installed by then,
    or after a downgrade, what the downgrades are known to leave)."""
    found: dict[str, Version] = {}
    for entry in versions():
        if entry.installed_by <= revision:
            found[entry.name] = entry
    for (name, lowest, highest), number in KNOWN_DOWNGRADE_DRIFT.items():
        if downgraded and lowest <= revision <= highest:
            found[name] = version(name, number)
    return found


def _holds_its_versions(
    connection: psycopg.Connection[Any], revision: str, *, downgraded: bool = False
) -> None:
    """The database has exactly the expected definitions, and running each expected version's
    file changes nothing (rolled back after)."""
    expected = _expected_at(revision, downgraded=downgraded)
    before = current_definitions(connection)
    assert set(before) == set(expected), revision
    assert {name: kind for name, (kind, _sql) in before.items()} == {
        name: entry.kind for name, entry in expected.items()
    }
    with connection.transaction(force_rollback=True):
        for entry in expected.values():
            connection.execute(entry.sql().encode())  # no parameters: the file as it is
        assert current_definitions(connection) == before, revision


def test_every_version_file_is_listed_with_the_checksum_it_shipped_with() -> None:
    files = {
        path.relative_to(definitions_folder()).as_posix()
        for path in definitions_folder().rglob("*.sql")
    }
    assert files == {
        entry.path.relative_to(definitions_folder()).as_posix() for entry in versions()
    }
    changed = [
        f"{entry.name} v{entry.version}"
        for entry in versions()
        if hashlib.sha256(entry.path.read_bytes()).hexdigest() != entry.sha256
    ]
    assert changed == [], "a shipped version changed: add a new version instead"
    for entry in versions():
        assert re.fullmatch(r"\d{4}", entry.installed_by), entry


def test_each_version_is_what_its_revision_left_in_the_database_both_ways(
    empty_database: DatabaseSettings,
) -> None:
    for revision in SHIPPED_REVISIONS:
        migrate_to(empty_database, revision)
        with psycopg.connect(empty_database.conninfo("test"), autocommit=True) as connection:
            _holds_its_versions(connection, revision)
    for revision in reversed(SHIPPED_REVISIONS[:-1]):
        with connect(empty_database, "costdb-tests") as connection:
            command.downgrade(alembic_config(connection), revision)
            connection.commit()
        with psycopg.connect(empty_database.conninfo("test"), autocommit=True) as connection:
            _holds_its_versions(connection, revision, downgraded=True)


def test_the_probes_manifest_expects_every_current_definition_and_nothing_else() -> None:
    manifest = load_manifest()
    current = _expected_at(HEAD)
    functions = {name for name, entry in current.items() if entry.kind == "function"}
    assert {signature.split("(")[0] for signature in manifest.routines} == functions
    assert set(manifest.views) == {name for name, entry in current.items() if entry.kind == "view"}


def test_revisions_after_the_inline_ones_read_no_revision_and_inline_no_definition() -> None:
    """From 0015 on, a revision installs a function or view by its versioned file and never
    reads another revision's constants."""
    versions_folder = Path(alembic_config().get_main_option("script_location") or "") / "versions"
    offending = []
    for path in sorted(versions_folder.glob("[0-9][0-9][0-9][0-9]_*.py")):
        if path.name[:4] <= LAST_INLINE_REVISION:
            continue
        source = path.read_text(encoding="utf-8")
        if re.search(r"get_revision|earlier_revision|CREATE (OR REPLACE )?(FUNCTION|VIEW)", source):
            offending.append(path.name)
    assert offending == []


def test_a_revision_installs_a_version_and_its_downgrade_restores_the_one_before(
    empty_database: DatabaseSettings, tmp_path: Path
) -> None:
    """The way a new revision changes a definition: install("name", N+1) up, N down. Shown
    here with the shipped versions of costdb_similar_prompts (0010 installed its third)."""
    scripts = ScriptCopy(tmp_path)
    scripts.write(
        "9001",
        HEAD,
        'from costdb.migrate.definitions import install\ninstall("costdb_similar_prompts", 2)',
    )
    path = scripts.root / "versions" / "9001_test.py"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "def downgrade() -> None:\n    pass",
            "def downgrade() -> None:\n"
            "    from costdb.migrate.definitions import install\n\n"
            '    install("costdb_similar_prompts", 3)',
        ),
        encoding="utf-8",
    )
    with connect(empty_database, "costdb-tests") as connection:
        config = scripts.config()
        config.attributes["connection"] = connection
        command.upgrade(config, "9001")
        connection.commit()
    second, third = version("costdb_similar_prompts", 2), version("costdb_similar_prompts", 3)
    with psycopg.connect(empty_database.conninfo("test"), autocommit=True) as connection:
        assert current_definitions(connection)["costdb_similar_prompts"][1] == second.sql()
    with connect(empty_database, "costdb-tests") as connection:
        config = scripts.config()
        config.attributes["connection"] = connection
        command.downgrade(config, HEAD)
        connection.commit()
    with psycopg.connect(empty_database.conninfo("test"), autocommit=True) as connection:
        assert current_definitions(connection)["costdb_similar_prompts"][1] == third.sql()


def test_a_missing_version_is_named() -> None:
    with pytest.raises(LookupError, match="no version 99 of costdb_event_cost"):
        version("costdb_event_cost", 99)


def test_the_index_is_sorted_and_complete() -> None:
    index = json.loads((definitions_folder() / "index.json").read_text(encoding="utf-8"))
    assert list(index) == sorted(index)
    assert all(entry["kind"] in ("function", "view") for entry in index.values())
