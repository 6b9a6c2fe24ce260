"""Every shipped revision upgrades to head the way a user's database does: made by an earlier
costdb, then given to a new ``costdb migrate`` process as the schema's non-superuser owner.

A fresh database migrated in one session hides what a later session lacks (issue 19: a session
that starts at 0004 has not loaded pgvector, so 0005's ``SET hnsw.*`` clauses were
placeholders that only a superuser may store). Here each step is its own process and session,
as it is for an existing volume, a ``costdb local`` data directory or a managed database.
"""

from __future__ import annotations

import psycopg
import pytest

from costdb.db.engine import connect
from costdb.migrate.extension_libraries import load_extension_libraries
from costdb.settings import DatabaseSettings
from testsupport.cli_runner import run_module, url_environment
from testsupport.migration_fixtures import HEAD, SHIPPED_REVISIONS
from testsupport.servers import migrate_to
from testsupport.spec_rows import kept_rows, spec_rows, write_spec_rows

pytestmark = pytest.mark.slow  # a costdb migrate process per revision


def _revision(database: DatabaseSettings) -> str:
    with psycopg.connect(database.conninfo("test")) as connection:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert row is not None
    return str(row[0])


@pytest.mark.parametrize("start", SHIPPED_REVISIONS[:-1])
def test_a_database_made_at_an_earlier_revision_upgrades_as_the_owner_in_a_new_process(
    owner_role: DatabaseSettings, start: str
) -> None:
    migrate_to(owner_role, start)  # what an earlier costdb left: its own session, then gone
    write_spec_rows(owner_role)
    before = spec_rows(owner_role)

    upgraded = run_module("costdb", "migrate", env=url_environment(owner_role), timeout=120)

    assert upgraded.returncode == 0, upgraded.stderr
    assert _revision(owner_role) == HEAD
    assert kept_rows(before, spec_rows(owner_role)) == before
    probe = run_module("healthcheck", env=url_environment(owner_role))
    assert probe.returncode == 0, probe.stdout + probe.stderr


def test_the_owner_downgrades_and_upgrades_again_in_new_sessions(
    owner_role: DatabaseSettings,
) -> None:
    """A downgrade re-creates earlier functions (0006 restores 0005's, with their SET
    clauses): it too runs in a session that has not used pgvector yet."""
    migrate_to(owner_role, HEAD)
    downgraded = run_module(
        "alembic", "downgrade", SHIPPED_REVISIONS[-3], env=url_environment(owner_role)
    )
    assert downgraded.returncode == 0, downgraded.stderr
    assert _revision(owner_role) == SHIPPED_REVISIONS[-3]
    upgraded = run_module("costdb", "migrate", env=url_environment(owner_role), timeout=120)
    assert upgraded.returncode == 0, upgraded.stderr
    assert _revision(owner_role) == HEAD


def test_loading_the_libraries_turns_placeholders_into_real_parameters(
    owner_role: DatabaseSettings,
) -> None:
    with connect(owner_role, "test") as connection:
        known = "SELECT count(*) FROM pg_settings WHERE name = 'hnsw.ef_search'"
        assert connection.exec_driver_sql(known).scalar_one() == 0  # a new session: not loaded
        types = load_extension_libraries(connection)
        assert connection.exec_driver_sql(known).scalar_one() == 1
        connection.exec_driver_sql(
            "CREATE FUNCTION uses_hnsw() RETURNS int LANGUAGE sql"
            " SET hnsw.ef_search = 100 AS 'SELECT 1'"
        )
    assert len(types) == 1  # one type loads pgvector's library: one per extension
    assert types[0] in {"halfvec", "sparsevec", "vector"}
