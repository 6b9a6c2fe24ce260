"""``python -m testsupport.manifest_writer`` (``make manifest``): migrate a throwaway database from
empty to head and write what PostgreSQL reports as src/costdb/verify/manifest.json."""

from __future__ import annotations

import shutil
import sys

import psycopg

from costdb.migrate.manifest_builder import render_manifest
from costdb.settings import DatabaseSettings
from costdb.verify.manifest import MANIFEST_PATH
from testsupport.servers import FAST_TEST_SETTINGS, migrate_to_head, new_cluster, shared_tempdir


def rendered_for(database: DatabaseSettings) -> str:
    """Migrate ``database`` (empty) to head and render its manifest."""
    migrate_to_head(database)
    with psycopg.connect(database.conninfo("costdb-manifest"), autocommit=True) as connection:
        return render_manifest(connection)


def main() -> None:
    cluster = new_cluster(shared_tempdir("costdb-manifest-"), **FAST_TEST_SETTINGS)
    cluster.initialise()
    cluster.start()
    try:
        with psycopg.connect(cluster.settings().conninfo("costdb-manifest"), autocommit=True) as c:
            c.execute("CREATE DATABASE costdb")
        rendered = rendered_for(cluster.settings("costdb"))
    finally:
        cluster.stop(mode="immediate")
        shutil.rmtree(cluster.root, ignore_errors=True)
    with open(MANIFEST_PATH, "w", encoding="utf-8") as target:
        target.write(rendered)
    print(f"wrote {MANIFEST_PATH}", file=sys.stderr)


if __name__ == "__main__":
    main()
