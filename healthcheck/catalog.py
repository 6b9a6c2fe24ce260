"""Everything the probe needs from the server, read in one catalog round trip.

One query returns one JSON document: recovery state, whether the database (not this session:
the probe's role is read-only on purpose) defaults to read-only transactions, extensions, the
Alembic revision, the public schema's tables with their columns, every index with its access
method, columns, operator classes and validity, and every constraint. ``alembic_version`` is
read through ``query_to_xml`` behind a ``to_regclass`` guard, so that a database without the
table (never migrated) answers NULL instead of failing the query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SNAPSHOT_QUERY = b"""
SELECT json_build_object(
  'in_recovery', pg_is_in_recovery(),
  'read_only', EXISTS (
      SELECT FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
      WHERE d.datname = current_database() AND s.setrole = 0
        AND 'default_transaction_read_only=on' = ANY (s.setconfig)),
  'extensions', (SELECT coalesce(json_object_agg(extname, extversion), '{}') FROM pg_extension),
  'revisions', CASE WHEN to_regclass('public.alembic_version') IS NULL THEN NULL ELSE (
      SELECT coalesce(json_agg(v::text), '[]')
      FROM unnest(xpath('//version_num/text()', query_to_xml(
          'SELECT version_num FROM public.alembic_version', false, false, ''))) AS v) END,
  'tables', (
      SELECT coalesce(json_object_agg(c.relname, ARRAY(
          SELECT a.attname FROM pg_attribute a
          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)), '{}')
      FROM pg_class c
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')),
  'indexes', (
      SELECT coalesce(json_object_agg(i.relname, json_build_object(
          'table', t.relname, 'method', am.amname, 'unique', x.indisunique,
          'valid', x.indisvalid, 'ready', x.indisready,
          'columns', ARRAY(
              SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)
              JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.n),
          'opclasses', ARRAY(
              SELECT o.opcname FROM unnest(x.indclass) WITH ORDINALITY AS k(opc, n)
              JOIN pg_opclass o ON o.oid = k.opc ORDER BY k.n))), '{}')
      FROM pg_index x
      JOIN pg_class i ON i.oid = x.indexrelid
      JOIN pg_class t ON t.oid = x.indrelid
      JOIN pg_am am ON am.oid = i.relam
      WHERE t.relnamespace = 'public'::regnamespace),
  'constraints', (
      SELECT coalesce(json_object_agg(conname, conrelid::regclass::text), '{}')
      FROM pg_constraint WHERE connamespace = 'public'::regnamespace)
)
"""


@dataclass(frozen=True)
class Snapshot:
    """The server's answer; field meanings follow the query above."""

    in_recovery: bool
    read_only: bool
    extensions: dict[str, str]
    revisions: list[str] | None
    tables: dict[str, list[str]]
    indexes: dict[str, dict[str, Any]]
    constraints: dict[str, str]

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Snapshot:
        return cls(**document)
