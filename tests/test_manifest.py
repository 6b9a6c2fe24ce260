"""The probe's manifest is generated from the models and migrations, never kept by hand."""

from __future__ import annotations

import json

from costdb.migrate.manifest_builder import build_manifest
from costdb.migrate.scripts import script_directory
from costdb.schema import metadata
from healthcheck.manifest import MANIFEST_PATH, load_manifest


def test_committed_manifest_equals_what_the_models_declare() -> None:
    with open(MANIFEST_PATH, encoding="utf-8") as manifest:
        committed = json.load(manifest)
    assert committed == build_manifest(), "out of date: run `make manifest`"


def test_manifest_covers_every_table_index_and_the_head_revision() -> None:
    manifest = load_manifest()
    assert set(manifest.tables) == set(metadata.tables)
    declared = {str(index.name) for table in metadata.tables.values() for index in table.indexes}
    primary_keys = {f"{name}_pkey" for name in metadata.tables}
    assert {index.name for index in manifest.indexes} == declared | primary_keys
    assert manifest.head == script_directory().get_current_head()
