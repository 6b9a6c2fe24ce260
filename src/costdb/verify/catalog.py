"""Everything the probe needs from the server, read in one catalog round trip.

One query returns one JSON document: recovery state, WAL archiving (``pg_stat_archiver``, the
current WAL file), the newest recorded backup, this connection's TLS (version, cipher), how
the server lets TCP clients in (the db image's ``costdb.tls`` and ``costdb.stack`` settings,
``ssl``, ``listen_addresses``), whether
the database (not this session: the probe's role is read-only on purpose) defaults to read-only
transactions, extensions, the Alembic revision, and for the public schema every table's and
view's columns (type with its modifiers as ``format_type`` prints it, nullability, default as
``pg_get_expr`` prints it), every index (``pg_get_indexdef``, validity), every constraint keyed
by table and name (``pg_get_constraintdef``, validation) and every function that no extension
owns (signature as ``regprocedure`` prints it, result type, volatility). PostgreSQL renders all
of it, so a definition can be compared with what a fresh migration produces, not just a name.
``alembic_version`` is read through ``query_to_xml`` behind a ``to_regclass`` guard, so that a
database without the table (never migrated) answers NULL instead of failing the query.

On a Citus coordinator (the ``citus`` extension present) the document also says where Citus
placed each public table (``pg_dist_partition``: method, distribution column, co-location
group, shard count) and whether the coordinator can connect to each active worker now
(``citus_check_connection_to_node``, bounded by ``citus.node_connection_timeout``). Those
catalogs exist only with Citus, so that part runs as dynamic SQL behind the extension guard
(``query_to_xml`` again); its JSON travels base64-encoded, which XML never escapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import psycopg

CITUS_LOCAL_TABLE = "a Citus local table"
"""The kind the query below reports for a table Citus made a Citus local table (neither
distributed nor a reference table)."""

_CITUS_QUERY = """
SELECT encode(convert_to(json_build_object(
  'tables', (
      SELECT coalesce(json_object_agg(c.relname, json_build_object(
          'kind', CASE WHEN p.partmethod = 'h' THEN 'distributed'
                       WHEN p.repmodel = 't' THEN 'reference' ELSE 'a Citus local table' END,
          'column', column_to_column_name(p.logicalrelid, p.partkey),
          'colocation', p.colocationid,
          'shards', (SELECT count(*) FROM pg_dist_shard s WHERE s.logicalrelid = p.logicalrelid))),
        '{}')
      FROM pg_dist_partition p JOIN pg_class c ON c.oid = p.logicalrelid
      WHERE c.relnamespace = 'public'::regnamespace),
  'workers', (
      SELECT coalesce(json_agg(json_build_object(
          'node', n.nodename || ':' || n.nodeport,
          'reachable', citus_check_connection_to_node(n.nodename, n.nodeport))
        ORDER BY n.nodeid), '[]')
      FROM pg_dist_node n
      WHERE n.isactive AND n.noderole = 'primary' AND n.groupid <> 0)
)::text, 'UTF8'), 'base64') AS document
"""

_LAST_BACKUP_QUERY = """
SELECT encode(convert_to(coalesce((
    SELECT json_build_object('label', label, 'type', type,
                             'age_seconds', extract(epoch FROM now() - finished_at))::text
    FROM public.costdb_backups ORDER BY finished_at DESC LIMIT 1), 'null'), 'UTF8'), 'base64')
  AS document
"""

_DOCUMENT = """(
      SELECT convert_from(decode(string_agg(v::text, ''), 'base64'), 'UTF8')::json
      FROM unnest(xpath('//document/text()', query_to_xml('QUOTED', false, false, ''))) AS v)"""


def _document_of(query: str) -> str:
    """The JSON document ``query`` returns (one row, one base64 column named ``document``), run
    as dynamic SQL: planned only when its guard lets it run, so it may name what may not
    exist."""
    return _DOCUMENT.replace("QUOTED", query.replace("'", "''"))


SNAPSHOT_QUERY = (
    """
SELECT json_build_object(
  'in_recovery', pg_is_in_recovery(),
  'tls', (SELECT json_build_object('version', version, 'cipher', cipher)
          FROM pg_stat_ssl WHERE pid = pg_backend_pid() AND ssl),
  'clients', json_build_object(
      'tls', current_setting('costdb.tls', true), 'stack', current_setting('costdb.stack', true),
      'ssl', current_setting('ssl'), 'listen', current_setting('listen_addresses')),
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
                        AND e.objid = p.oid AND e.deptype = 'e')),
  'citus', CASE WHEN EXISTS (SELECT FROM pg_extension WHERE extname = 'citus')
                THEN CITUS_DOCUMENT END,
  'archiving', (
      SELECT json_build_object(
          'mode', current_setting('archive_mode'),
          'last_archived_wal', a.last_archived_wal,
          'last_archived_seconds', extract(epoch FROM now() - a.last_archived_time),
          'failed', a.failed_count,
          'last_failed_wal', a.last_failed_wal,
          'last_failed_seconds', extract(epoch FROM now() - a.last_failed_time),
          'current_wal', CASE WHEN pg_is_in_recovery() THEN NULL
                              ELSE pg_walfile_name(pg_current_wal_lsn()) END,
          'segment_bytes', pg_size_bytes(current_setting('wal_segment_size')))
      FROM pg_stat_archiver a),
  'last_backup', CASE WHEN to_regclass('public.costdb_backups') IS NOT NULL
                     THEN LAST_BACKUP_DOCUMENT END
)
""".replace("CITUS_DOCUMENT", _document_of(_CITUS_QUERY))
    .replace("LAST_BACKUP_DOCUMENT", _document_of(_LAST_BACKUP_QUERY))
    .encode()
)


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
    citus: dict[str, Any] | None  # None without Citus; else {"tables": ..., "workers": ...}
    tls: dict[str, str] | None = None  # this connection's TLS version and cipher; None: clear
    clients: dict[str, str | None] | None = None  # how TCP clients are let in (see above)
    archiving: dict[str, Any] | None = None  # pg_stat_archiver and the WAL position
    last_backup: dict[str, Any] | None = None  # the newest costdb_backups row, if any

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Snapshot:
        return cls(**document)


def read_snapshot(connection: psycopg.Connection[Any]) -> Snapshot:
    """The catalog snapshot over an open psycopg connection (psycopg decodes the JSON): the
    health server's kept connection, the migration runner's verification, the manifest."""
    row = connection.execute(SNAPSHOT_QUERY).fetchone()
    if row is None:  # a SELECT without FROM always returns its one row
        raise RuntimeError("the catalog query returned no row")
    return Snapshot.from_document(row[0])
