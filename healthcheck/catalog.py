"""Everything the probe needs from the server, read in one catalog round trip.

One query returns one JSON document: recovery state, whether the database (not this session: the
probe's role is read-only on purpose) defaults to read-only transactions, extensions, the
Alembic revision, and for the public schema every table's and view's columns (type with its
modifiers as ``format_type`` prints it, nullability, default as ``pg_get_expr`` prints it),
every index (``pg_get_indexdef``, validity), every constraint keyed by table and name
(``pg_get_constraintdef``, validation) and every function that no extension owns (signature as
``regprocedure`` prints it, result type, volatility). PostgreSQL renders all of it, so a
definition can be compared with what a fresh migration produces, not just a name.
``alembic_version`` is read through ``query_to_xml`` behind a ``to_regclass`` guard, so that a
database without the table (never migrated) answers NULL instead of failing the query.
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
      SELECT coalesce(json_object_agg(c.relname, (
          SELECT coalesce(json_object_agg(a.attname, json_build_object(
              'type', format_type(a.atttypid, a.atttypmod),
              'nullable', NOT a.attnotnull,
              'default', pg_get_expr(d.adbin, d.adrelid))), '{}')
          FROM pg_attribute a
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
          WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)), '{}')
      FROM pg_class c
      WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v')),
  'indexes', (
      SELECT coalesce(json_object_agg(i.relname, json_build_object(
          'table', t.relname, 'definition', pg_get_indexdef(i.oid),
          'valid', x.indisvalid, 'ready', x.indisready)), '{}')
      FROM pg_index x
      JOIN pg_class i ON i.oid = x.indexrelid
      JOIN pg_class t ON t.oid = x.indrelid
      WHERE t.relnamespace = 'public'::regnamespace),
  'constraints', (
      SELECT coalesce(json_object_agg(t.relname, (
          SELECT json_object_agg(k.conname, json_build_object(
              'definition', pg_get_constraintdef(k.oid), 'validated', k.convalidated))
          FROM pg_constraint k WHERE k.conrelid = t.oid)), '{}')
      FROM pg_class t
      WHERE t.relnamespace = 'public'::regnamespace AND t.relkind IN ('r', 'p')
        AND EXISTS (SELECT FROM pg_constraint k WHERE k.conrelid = t.oid)),
  'routines', (
      SELECT coalesce(json_object_agg(p.oid::regprocedure::text,
          pg_get_function_result(p.oid) || ' ' || p.provolatile::text), '{}')
      FROM pg_proc p
      WHERE p.pronamespace = 'public'::regnamespace
        AND NOT EXISTS (SELECT FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass
                        AND e.objid = p.oid AND e.deptype = 'e'))
)
"""


@dataclass(frozen=True)
class Snapshot:
    """The server's answer; field meanings follow the query above."""

    in_recovery: bool
    read_only: bool
    extensions: dict[str, str]
    revisions: list[str] | None
    tables: dict[str, dict[str, dict[str, Any]]]
    indexes: dict[str, dict[str, Any]]
    constraints: dict[str, dict[str, dict[str, Any]]]
    routines: dict[str, str]  # signature -> "result volatility" (i, s or v)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Snapshot:
        return cls(**document)
