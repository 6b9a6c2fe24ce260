"""The probe's manifest is what a fresh migration produces, never kept by hand."""

from __future__ import annotations

import json

import psycopg

from costdb.migrate.manifest_builder import build_manifest
from costdb.migrate.scripts import script_directory
from costdb.schema import metadata
from costdb.settings import DatabaseSettings
from costdb.verify.manifest import MANIFEST_PATH, load_manifest


def test_committed_manifest_equals_a_fresh_migration(migrated_database: DatabaseSettings) -> None:
    with open(MANIFEST_PATH, encoding="utf-8") as manifest:
        committed = json.load(manifest)
    with psycopg.connect(migrated_database.conninfo("test"), autocommit=True) as connection:
        fresh = build_manifest(connection)
    assert committed == fresh, "out of date: run `make manifest`"


def test_manifest_covers_every_table_column_index_and_the_head_revision() -> None:
    manifest = load_manifest()
    assert set(manifest.tables) == set(metadata.tables)
    for name, table in metadata.tables.items():
        assert list(manifest.tables[name]) == [column.name for column in table.columns]
    declared = {str(index.name) for table in metadata.tables.values() for index in table.indexes}
    primary_keys = {f"{name}_pkey" for name in metadata.tables}
    assert {index.name for index in manifest.indexes} >= declared | primary_keys
    assert manifest.head == script_directory().get_current_head()
    assert manifest.tables["prompt_embeddings"]["embedding"].type == "vector(1536)"
    assert (
        "ON DELETE CASCADE"
        in manifest.constraints["prompt_analysis"]["prompt_analysis_event_id_events_id_fk"]
    )
